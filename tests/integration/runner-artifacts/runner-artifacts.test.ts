/**
 * The runner build, for real: `npm run build:runner` (inside a throwaway keyring, as in CI) produces signed artifacts;
 * the linux-x64 single executable runs `version` and `health --json` with no Node on PATH; the arm64 one is produced,
 * verifies, and runs under qemu when it is installed; the JS artifact runs under node; the ArtifactStore of a real
 * core imports them; and a build without a reachable keychain fails with the keychain's message, writing no key.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNNER_EXIT_USAGE, RUNNER_VERSION, RunnerHealthReport, RunnerVersionInfo } from '../../../src-shared/protocol/runner-info';
import { ArtifactManifest, loadTrustedKeys, verifyArtifactSignature } from '../../../src-main/core/runners/artifact-signing';
import { ArtifactStore } from '../../../src-main/core/runners/artifact-store';
import { createTestCore, REPO_ROOT, RESOURCES_DIR, type TestCore } from '../../harness/test-core';

const ARTIFACTS = path.join(RESOURCES_DIR, 'runner-artifacts', RUNNER_VERSION);
const KEYS = path.join(RESOURCES_DIR, 'keys');
const QEMU = '/usr/bin/qemu-aarch64-static';
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';
const canEmulateArm64 = fs.existsSync(QEMU) && fs.existsSync(path.join(ARM64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1'));

let tmp: string;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function manifestOf(target: string): ArtifactManifest {
  return ArtifactManifest.parse(JSON.parse(fs.readFileSync(path.join(ARTIFACTS, target, 'manifest.json'), 'utf8')));
}

/** Unpacks an artifact into tmp after checking both checksums against its manifest. */
function unpack(target: string, file: string): string {
  const m = manifestOf(target);
  const gz = fs.readFileSync(path.join(ARTIFACTS, target, file));
  expect(sha256(gz)).toBe(m.compressedSha256);
  const raw = zlib.gunzipSync(gz);
  expect(sha256(raw)).toBe(m.sha256);
  expect(raw.length).toBe(m.size);
  const out = path.join(tmp, target, file.replace(/\.gz$/, ''));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, raw, { mode: 0o755 });
  return out;
}

/** Runs a program with an environment holding nothing but a PATH where no Node (nor anything else) exists. */
function runBare(argv: string[]) {
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home, { recursive: true });
  return spawnSync('/usr/bin/env', ['-i', 'PATH=/nonexistent', `HOME=${home}`, ...argv], { encoding: 'utf8', timeout: 60_000 });
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-runner-artifacts-'));
  const started = Date.now();
  const out = execFileSync('bash', ['scripts/with-keyring.sh', 'npm', 'run', '--silent', 'build:runner'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  // The sizes and timings are wanted for the closing note.
  console.log(out.split('\n').filter((l) => l.startsWith('[build:runner]')).join('\n'));
  console.log(`[runner-artifacts] build:runner took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the runner artifacts', () => {
  describe('when the build has run', () => {
    it('signs every artifact with a key the app trusts', () => {
      const trusted = loadTrustedKeys(KEYS);
      for (const target of ['js', 'linux-x64', 'linux-arm64']) {
        const m = manifestOf(target);
        expect(m.version).toBe(RUNNER_VERSION);
        expect(verifyArtifactSignature(m, trusted).keyId).toBe(m.keyId);
        console.log(`[runner-artifacts] ${target.padEnd(12)} raw ${(m.size / 2 ** 20).toFixed(1)} MB, gzip ${(m.compressedSize / 2 ** 20).toFixed(1)} MB`);
      }
    });
  });

  describe('when the linux-x64 single executable runs on a server without Node', () => {
    let exe: string;
    beforeAll(() => {
      exe = unpack('linux-x64', 'cronium-runner.gz');
    });

    it('answers version with its own embedded Node', () => {
      const r = runBare([exe, 'version']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(RunnerVersionInfo.parse(JSON.parse(r.stdout))).toMatchObject({ version: RUNNER_VERSION, os: 'linux', arch: 'x64', kind: 'sea' });
    });

    it('answers health --json', () => {
      const r = runBare([exe, 'health', '--json']);
      expect(r.status).toBe(0);
      const report = RunnerHealthReport.parse(JSON.parse(r.stdout));
      expect(report.diskSpace).toBeGreaterThan(0);
    });

    it('prints the usage and exits 2 for an unknown command', () => {
      const r = runBare([exe, 'launch-missiles']);
      expect(r.status).toBe(RUNNER_EXIT_USAGE);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/unknown command: launch-missiles[\s\S]*usage: cronium-runner/);
    });
  });

  describe('when the linux-arm64 single executable is checked', () => {
    let exe: string;
    beforeAll(() => {
      exe = unpack('linux-arm64', 'cronium-runner.gz');
    });

    it('is an aarch64 ELF executable carrying the runner', () => {
      const head = Buffer.alloc(20);
      const fd = fs.openSync(exe, 'r');
      fs.readSync(fd, head, 0, 20, 0);
      fs.closeSync(fd);
      expect(head.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      expect(head.readUInt16LE(18)).toBe(0xb7); // EM_AARCH64
      expect(fs.readFileSync(exe).includes(Buffer.from('NODE_SEA_BLOB'))).toBe(true);
    });

    it.runIf(canEmulateArm64)('answers version under qemu (qemu-user-static and the arm64 libc installed)', () => {
      const r = runBare([QEMU, '-L', ARM64_SYSROOT, exe, 'version']);
      expect(r.status).toBe(0);
      expect(RunnerVersionInfo.parse(JSON.parse(r.stdout))).toMatchObject({ arch: 'arm64', kind: 'sea' });
    });
  });

  describe('when the JS artifact runs under a server Node', () => {
    it('answers version as kind js and health --json', () => {
      const file = unpack('js', 'cronium-runner.cjs.gz');
      const version = spawnSync(process.execPath, [file, 'version'], { encoding: 'utf8', cwd: tmp });
      expect(version.status).toBe(0);
      expect(RunnerVersionInfo.parse(JSON.parse(version.stdout)).kind).toBe('js');
      const health = spawnSync(process.execPath, [file, 'health', '--json'], { encoding: 'utf8', cwd: tmp });
      expect(RunnerHealthReport.safeParse(JSON.parse(health.stdout)).success).toBe(true);
    });

    it('needs nothing but Node built-ins', () => {
      const source = zlib.gunzipSync(fs.readFileSync(path.join(ARTIFACTS, 'js', 'cronium-runner.cjs.gz'))).toString('utf8');
      const required = [...source.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]);
      const builtins = new Set(builtinModules);
      expect(required.filter((name) => !name.startsWith('node:') && !builtins.has(name))).toEqual([]);
    });
  });

  describe("when the app's core scans the built artifacts", () => {
    let t: TestCore;
    beforeAll(async () => {
      t = await createTestCore();
    });
    afterAll(async () => t.cleanup());

    it('imports, registers and hands out a verified linux-x64 runner that runs', async () => {
      const store = new ArtifactStore({
        db: t.core.db,
        metrics: t.core.metrics,
        trustedKeys: loadTrustedKeys(KEYS),
        artifactDir: () => path.join(t.dataDir, 'runner-artifacts'),
        bundledDir: path.join(RESOURCES_DIR, 'runner-artifacts'),
      });
      const records = await store.scan();
      expect(store.rejected()).toEqual([]);
      expect(records.filter((r) => r.version === RUNNER_VERSION)).toHaveLength(3);
      // A server without Node and without a runtime on offer: the single executable, the last resort.
      const picked = await store.pick({ os: 'linux', arch: 'x64', version: RUNNER_VERSION });
      const opened = await store.open(picked);
      const r = runBare([opened.path, 'version']);
      expect(JSON.parse(r.stdout)).toMatchObject({ arch: 'x64', kind: 'sea' });
      // With Node >= 18 there, or a runtime for it: the js code bundle (~180 KB gzipped instead of ~31 MB).
      for (const more of [{ nodeVersion: process.version }, { nodeVersion: null, runtimeAvailable: store.pickRuntime('linux', 'x64') !== null }]) {
        const js = await store.pick({ os: 'linux', arch: 'x64', version: RUNNER_VERSION, ...more });
        expect(js).toMatchObject({ kind: 'js' });
        expect(js.compressedSize).toBeLessThan(1_000_000);
        const bundle = await store.open(js, { unpacked: false });
        expect(bundle.path).toBeNull();
        expect(bundle.sha256).toBe(js.sha256);
      }
      await store.scan();
      const text = await t.core.metrics.text();
      expect(text).toMatch(/runner_artifact_cache_misses \d+/);
      expect(Number(/runner_artifact_cache_hits (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(records.length);
    });
  });

  describe('when the keychain cannot be reached during a development build', () => {
    it("fails with the keychain's message and writes no private key anywhere", () => {
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: path.join(tmp, 'home'), XDG_RUNTIME_DIR: path.join(tmp, 'no-runtime') };
      const before = fs.readdirSync(KEYS).sort();
      const r = spawnSync(process.execPath, ['scripts/build-runner.mjs', '--only=js'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 120_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/cannot get the development signing key: .*(keyring|D-Bus|Secret Service)/i);
      expect(fs.readdirSync(KEYS).sort()).toEqual(before);
      const grep = spawnSync('grep', ['-rl', 'PRIVATE KEY', 'resources', 'dist/runner', '.cache/build-runner'], { cwd: REPO_ROOT, encoding: 'utf8' });
      expect(grep.stdout).toBe('');
    });
  });
});
