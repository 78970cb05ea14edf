/**
 * Fixtures for the runner deployment suites: a bundle folder holding the real built 1.0.0 artifacts plus variants made
 * from the real JS bundle and signed with a throwaway test key (1.0.1 works; 1.0.2 claims a version it does not
 * report; 1.0.3 fails `health`), an ArtifactStore and RunnerService that trust that key, and servers for the harness
 * sshd's users. Nothing here fakes a server or a check: the variants are real runners run by the real sshd.
 */
import { createHash, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import type { Core } from '../../../src-main/core/core';
import {
  ArtifactManifest,
  generateSigningKeyPair,
  keyIdOf,
  loadTrustedKeys,
  signArtifact,
  trustedKeyFromPem,
  type SigningKey,
} from '../../../src-main/core/runners/artifact-signing';
import { ArtifactStore } from '../../../src-main/core/runners/artifact-store';
import { RunnerService } from '../../../src-main/core/runners/runner-service';
import type { SshdHandle, SshdKeyUser } from '../../harness/sshd';
import { RESOURCES_DIR, createTestCore, type TestCore } from '../../harness/test-core';
import { RUNNER_CAPABILITIES, RUNNER_PROTOCOL_VERSION } from '../../../src-shared/protocol/runner-info';

export const BUILT_DIR = path.join(RESOURCES_DIR, 'runner-artifacts');

/** Fails with what to run when the runner build has not been done. */
export function requireBuiltArtifacts(): void {
  for (const target of ['js', 'linux-x64']) {
    if (!fs.existsSync(path.join(BUILT_DIR, '1.0.0', target, 'manifest.json'))) {
      throw new Error(`runner artifacts are missing (${target}); run: bash scripts/with-keyring.sh npm run build:runner`);
    }
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A signed JS-only artifact `version` made from `source` (the real runner bundle, edited), under root/<version>/js. */
export function writeJsVariant(root: string, version: string, source: string, key: SigningKey): void {
  const dir = path.join(root, version, 'js');
  fs.mkdirSync(dir, { recursive: true });
  const raw = Buffer.from(source);
  const gz = zlib.gzipSync(raw, { level: 6 });
  fs.writeFileSync(path.join(dir, 'cronium-runner.cjs.gz'), gz);
  const fields = { version, os: 'any', arch: 'any', kind: 'js' as const, sha256: sha256(raw) };
  const manifest = ArtifactManifest.parse({
    ...fields,
    compressedSha256: sha256(gz),
    size: raw.length,
    compressedSize: gz.length,
    ...signArtifact(fields, key),
    builtAt: new Date().toISOString(),
    capabilities: [...RUNNER_CAPABILITIES],
    protocolVersion: RUNNER_PROTOCOL_VERSION,
  });
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

export interface ArtifactFixture {
  /** Holds 1.0.0 (built), 1.0.1 (good), 1.0.2 (handshake lies), 1.0.3 (health fails). */
  bundleDir: string;
  key: SigningKey;
  cleanup(): void;
}

export function makeArtifactFixture(): ArtifactFixture {
  requireBuiltArtifacts();
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-runner-bundle-'));
  // The real 1.0.0 artifacts (js and linux-x64), as the runner build made them.
  for (const target of ['js', 'linux-x64']) {
    fs.cpSync(path.join(BUILT_DIR, '1.0.0', target), path.join(bundleDir, '1.0.0', target), { recursive: true });
  }
  const pair = generateSigningKeyPair();
  const privateKey = createPrivateKey(pair.privateKeyPem);
  const key: SigningKey = { keyId: keyIdOf(privateKey), purpose: 'development', privateKey, publicKeyPem: pair.publicKeyPem };
  const bundle = zlib.gunzipSync(fs.readFileSync(path.join(BUILT_DIR, '1.0.0', 'js', 'cronium-runner.cjs.gz'))).toString('utf8');
  const marker = 'var RUNNER_VERSION = "1.0.0";';
  if (!bundle.includes(marker)) throw new Error('the runner bundle no longer declares RUNNER_VERSION as expected; update runner-fixtures.ts');
  const withVersion = (v: string) => bundle.replace(marker, `var RUNNER_VERSION = "${v}";`);
  writeJsVariant(bundleDir, '1.0.1', withVersion('1.0.1'), key);
  // Signed as 1.0.2 but still says 1.0.0: the handshake must catch it.
  writeJsVariant(bundleDir, '1.0.2', bundle, key);
  // Says 1.0.3 correctly but its `health` command fails.
  writeJsVariant(
    bundleDir,
    '1.0.3',
    `if (process.argv[2] === 'health') { process.stderr.write('simulated broken health\\n'); process.exit(3); }\n` + withVersion('1.0.3'),
    key,
  );
  return { bundleDir, key, cleanup: () => fs.rmSync(bundleDir, { recursive: true, force: true }) };
}

/** An ArtifactStore over the fixture's bundle with its own cache, trusting the repo's keys and the test key. */
export function makeArtifactStore(core: Core, fixture: ArtifactFixture, cacheDir: string): ArtifactStore {
  return new ArtifactStore({
    db: core.db,
    metrics: core.metrics,
    trustedKeys: [...loadTrustedKeys(path.join(RESOURCES_DIR, 'keys')), trustedKeyFromPem(fixture.key.publicKeyPem, 'development')],
    artifactDir: () => cacheDir,
    bundledDir: fixture.bundleDir,
  });
}

export function makeRunnerService(core: Core, artifacts: ArtifactStore): RunnerService {
  return new RunnerService({ db: core.db, settings: core.settings, bus: core.bus, metrics: core.metrics, clock: core.clock, ssh: core.ssh, artifacts });
}

/** What both runner suites run against: a real core, the artifact fixture, a store with its own cache, a RunnerService. */
export interface RunnerBench {
  tc: TestCore;
  fixture: ArtifactFixture;
  store: ArtifactStore;
  runners: RunnerService;
  /** Every bus event since the start; a test empties it (events.length = 0) before what it checks. */
  events: Array<{ name: string; payload: any }>;
  /** Stops the RunnerService, closes the core and removes the fixture and cache folders. */
  stop(): Promise<void>;
}

/** Starts a RunnerBench; when a step fails, what was already made is removed before it throws. */
export async function startRunnerBench(): Promise<RunnerBench> {
  const events: RunnerBench['events'] = [];
  let tc: TestCore | undefined;
  let fixture: ArtifactFixture | undefined;
  let cacheDir: string | undefined;
  let runners: RunnerService | undefined;
  const stop = async () => {
    await runners?.stop();
    await tc?.cleanup();
    fixture?.cleanup();
    if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
  };
  try {
    tc = await createTestCore();
    tc.core.bus.subscribe((name, payload) => events.push({ name, payload }));
    fixture = makeArtifactFixture();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-runner-cache-'));
    const store = makeArtifactStore(tc.core, fixture, cacheDir);
    runners = makeRunnerService(tc.core, store);
    return { tc, fixture, store, runners, events, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** A trusted key server for one harness user, saved through the real ServerService. */
export async function addServer(core: Core, sshd: SshdHandle, user: SshdKeyUser, name: string): Promise<string> {
  const view = await core.servers.save({
    name,
    host: sshd.host,
    port: sshd.port,
    username: user.username,
    authType: 'key',
    privateKey: user.privateKey,
    tags: [],
    maxConcurrentJobs: 4,
  });
  await core.servers.trustHostKey(view.id, sshd.hostKeyFingerprint, false);
  return view.id;
}

/** Removes the user's ~/.cronium (as root), unmounting anything a test mounted there first. */
export function resetRunnerHome(user: SshdKeyUser): void {
  const dir = path.join(user.home, '.cronium');
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    // nothing mounted
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

export function fileSha256(file: string): string {
  return sha256(fs.readFileSync(file));
}

/** The built runtime artifacts (runtime-<os>-<arch> under node-<version>/), as the runner build made them. */
export function builtRuntimeDir(target = 'runtime-linux-x64'): string {
  const versions = fs.existsSync(BUILT_DIR) ? fs.readdirSync(BUILT_DIR).filter((d) => d.startsWith('node-')) : [];
  const found = versions.map((v) => path.join(BUILT_DIR, v, target)).find((d) => fs.existsSync(path.join(d, 'manifest.json')));
  if (!found) throw new Error(`the runner runtime artifact is missing (${target}); run: bash scripts/with-keyring.sh npm run build:runner`);
  return found;
}

/** Copies the built linux-x64 runtime into a fixture's bundle folder; returns its manifest. */
export function addBuiltRuntime(bundleDir: string): ArtifactManifest {
  const source = builtRuntimeDir();
  const dest = path.join(bundleDir, path.basename(path.dirname(source)), path.basename(source));
  fs.cpSync(source, dest, { recursive: true });
  return ArtifactManifest.parse(JSON.parse(fs.readFileSync(path.join(dest, 'manifest.json'), 'utf8')));
}

/**
 * A folder of symlinks to every program in /usr/bin except Node's, readable by the test users: as a session's PATH
 * (sshd `SetEnv PATH=...`) it makes a server without Node. The caller removes it.
 */
export function makeNoNodeBin(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-no-node-'));
  fs.chmodSync(dir, 0o755);
  for (const name of fs.readdirSync('/usr/bin')) {
    if (/^(node|nodejs|npm|npx|corepack)$/.test(name)) continue;
    fs.symlinkSync(path.join('/usr/bin', name), path.join(dir, name));
  }
  return dir;
}
