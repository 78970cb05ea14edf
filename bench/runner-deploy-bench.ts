/**
 * Runner deployment benchmark (run by hand: `npm run bench` or `node bench/run-ts.mjs bench/runner-deploy-bench.ts`).
 * Against the harness sshd on loopback it prints the runner artifact sizes (raw and gzip) and, side by side:
 *   1. a first deploy of the linux-x64 single executable (probe, upload, unpack + sha256 on the server, handshake);
 *   2. a re-deploy of the same version (no bytes sent: probe + handshake);
 *   3. a raw `scp` of the same gzip file, and `scp` followed by `ssh gunzip && sha256sum` (what a hand deploy costs);
 *   4. runtime and code apart, on a server without Node (sshd SetEnv PATH without node): the first deploy (runtime +
 *      code bundle) and an upgrade to another runner version (a signed variant of the bundle), whose bytes sent are
 *      the TARGET row "runner code upgrade transferred", against the whole SEA gzip a SEA upgrade ships (step 1).
 * Needs root and built artifacts (npm run build:runner). Cleans up everything it starts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCore } from '../src-main/core/core';
import { MemorySecretStore } from '../src-main/core/secrets/memory-secret-store';
import { startSshd } from '../tests/harness/sshd';
import { makeNoNodeBin, writeJsVariant } from '../tests/integration/runner/runner-fixtures';
import { createPrivateKey } from 'node:crypto';
import zlib from 'node:zlib';
import type { Core } from '../src-main/core/core';
import { ArtifactStore } from '../src-main/core/runners/artifact-store';
import { generateSigningKeyPair, keyIdOf, loadTrustedKeys, trustedKeyFromPem } from '../src-main/core/runners/artifact-signing';
import { RunnerService } from '../src-main/core/runners/runner-service';
import { RUNNER_VERSION } from '../src-shared/protocol/runner-info';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const repo = process.cwd();

function median(ms: number[]): number {
  const s = [...ms].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const sshd = await startSshd({ users: 18 });
  const user = sshd.extraUsers[17];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-bench-'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-bench-ssh-'));
  const runnerHome = path.join(user.home, '.cronium');
  const core = await createCore(
    { dataDir, migrationsDir: path.join(repo, 'migrations'), resourcesDir: path.join(repo, 'resources'), mode: 'serve', appVersion: 'bench', env: {} },
    { secrets: new MemorySecretStore() },
  );
  try {
    const server = await core.servers.save({ name: 'bench', host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey, tags: [], maxConcurrentJobs: 4 });
    await core.servers.trustHostKey(server.id, sshd.hostKeyFingerprint, false);
    const { artifacts } = await core.runners.artifacts();
    console.log('Runner artifacts');
    for (const a of artifacts) console.log(`  ${a.version} ${a.kind === 'js' ? 'js        ' : `${a.os}-${a.arch}`.padEnd(10)} raw ${mb(a.size).padStart(9)}  gzip ${mb(a.compressedSize).padStart(9)}`);
    const sea = artifacts.find((a) => a.kind === 'sea' && a.os === 'linux' && a.arch === process.arch);
    if (!sea) throw new Error('no linux single executable for this machine: run npm run build:runner');
    const gzFile = (await core.artifacts.list()).find((a) => a.id === sea.id)!.compressedPath;

    const first: number[] = [];
    const again: number[] = [];
    let seaBytes = 0;
    for (let i = 0; i < RUNS; i++) {
      fs.rmSync(runnerHome, { recursive: true, force: true });
      core.db.sqlite.prepare('DELETE FROM runner_deployments').run();
      let t0 = performance.now();
      const view = await core.runners.deployRunner(server.id, sea.version);
      first.push(performance.now() - t0);
      if (view.transferredBytes === 0) throw new Error('a first deploy sent nothing');
      seaBytes = view.transferredBytes;
      t0 = performance.now();
      const redo = await core.runners.deployRunner(server.id, sea.version);
      again.push(performance.now() - t0);
      if (redo.transferredBytes !== 0) throw new Error('a re-deploy sent bytes');
    }

    // The reference: OpenSSH's own scp of the same gzip file, on a fresh connection each time (as a hand deploy would).
    const key = path.join(work, 'id');
    fs.writeFileSync(key, user.privateKey, { mode: 0o600 });
    const knownHosts = path.join(work, 'known_hosts');
    fs.writeFileSync(knownHosts, `[${sshd.host}]:${sshd.port} ${sshd.hostPublicKey}\n`);
    const sshOpts = ['-i', key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'];
    const target = `${user.username}@${sshd.host}`;
    const scp: number[] = [];
    const scpAndVerify: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let t0 = performance.now();
      let r = spawnSync('scp', [...sshOpts, '-q', '-P', String(sshd.port), gzFile, `${target}:/tmp/bench-runner.gz`]);
      if (r.status !== 0) throw new Error(`scp failed: ${r.stderr}`);
      scp.push(performance.now() - t0);
      t0 = performance.now();
      r = spawnSync('scp', [...sshOpts, '-q', '-P', String(sshd.port), gzFile, `${target}:/tmp/bench-runner.gz`]);
      r = spawnSync('ssh', [...sshOpts, '-p', String(sshd.port), target, 'gunzip -f /tmp/bench-runner.gz && sha256sum /tmp/bench-runner && chmod 755 /tmp/bench-runner && /tmp/bench-runner version >/dev/null && rm -f /tmp/bench-runner']);
      if (r.status !== 0) throw new Error(`ssh verify failed: ${r.stderr}`);
      scpAndVerify.push(performance.now() - t0);
    }

    console.log(`\nDeploying ${sea.version} ${sea.os}-${sea.arch} (${mb(sea.compressedSize)} gzip) over loopback, median of ${RUNS}`);
    console.log(`  Cronium first deploy (probe, upload, unpack, sha256, handshake)  ${median(first).toFixed(0).padStart(6)} ms`);
    console.log(`  Cronium re-deploy, same version (nothing sent)                    ${median(again).toFixed(0).padStart(6)} ms`);
    console.log(`  scp of the same gzip file (new connection)                        ${median(scp).toFixed(0).padStart(6)} ms`);
    console.log(`  scp + ssh gunzip, sha256sum, chmod, version (two connections)     ${median(scpAndVerify).toFixed(0).padStart(6)} ms`);
    await measureSplitUpgrade(core, seaBytes);
  } finally {
    await core.stop();
    fs.rmSync(runnerHome, { recursive: true, force: true });
    spawnSync('rm', ['-f', '/tmp/bench-runner.gz', '/tmp/bench-runner']);
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
    await sshd.stop();
  }
}

/**
 * Section 4: first deploy and upgrade on a server without Node, runtime and code apart (bytes sent and time). The
 * upgrade target is the built code bundle with another version, signed with a throwaway key this store trusts.
 */
async function measureSplitUpgrade(core: Core, seaBytes: number): Promise<void> {
  const built = path.join(repo, 'resources', 'runner-artifacts');
  const runtimeDir = fs.readdirSync(built).filter((d) => d.startsWith('node-')).map((d) => path.join(built, d, `runtime-linux-${process.arch}`)).find((d) => fs.existsSync(path.join(d, 'manifest.json')));
  if (!runtimeDir) throw new Error('no runtime artifact for this machine: run npm run build:runner');
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-bench-split-'));
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-bench-split-cache-'));
  const noNodeBin = makeNoNodeBin();
  const sshd = await startSshd({ users: 1, firstUser: 189, extraConfig: ['Match User cronium-k189', `    SetEnv PATH=${noNodeBin}`] });
  const user = sshd.extraUsers[0];
  const home = path.join(user.home, '.cronium');
  fs.rmSync(home, { recursive: true, force: true });
  try {
    const v0 = RUNNER_VERSION;
    const v1 = v0.replace(/(\d+)$/, (n) => String(Number(n) + 1));
    fs.cpSync(path.join(built, v0, 'js'), path.join(bundleDir, v0, 'js'), { recursive: true });
    fs.cpSync(runtimeDir, path.join(bundleDir, path.basename(path.dirname(runtimeDir)), path.basename(runtimeDir)), { recursive: true });
    const code = zlib.gunzipSync(fs.readFileSync(path.join(built, v0, 'js', 'cronium-runner.cjs.gz'))).toString('utf8');
    const marker = `var RUNNER_VERSION = "${v0}";`;
    if (!code.includes(marker)) throw new Error('the runner bundle no longer declares RUNNER_VERSION as expected; update this bench');
    const pair = generateSigningKeyPair();
    const privateKey = createPrivateKey(pair.privateKeyPem);
    writeJsVariant(bundleDir, v1, code.replace(marker, `var RUNNER_VERSION = "${v1}";`), { keyId: keyIdOf(privateKey), purpose: 'development', privateKey, publicKeyPem: pair.publicKeyPem });
    const artifacts = new ArtifactStore({
      db: core.db,
      metrics: core.metrics,
      trustedKeys: [...loadTrustedKeys(path.join(repo, 'resources', 'keys')), trustedKeyFromPem(pair.publicKeyPem, 'development')],
      artifactDir: () => cacheDir,
      bundledDir: bundleDir,
    });
    const runners = new RunnerService({ db: core.db, settings: core.settings, bus: core.bus, metrics: core.metrics, clock: core.clock, ssh: core.ssh, artifacts });
    await runners.ready(true);
    const server = await core.servers.save({ name: 'bench-no-node', host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey, tags: [], maxConcurrentJobs: 4 });
    await core.servers.trustHostKey(server.id, sshd.hostKeyFingerprint, false);
    const firstDeploy: number[] = [];
    const upgrade: number[] = [];
    let firstBytes = 0;
    let upgradeBytes = 0;
    for (let i = 0; i < RUNS; i++) {
      fs.rmSync(home, { recursive: true, force: true });
      core.db.sqlite.prepare('DELETE FROM runner_deployments').run();
      let t0 = performance.now();
      const view = await runners.deployRunner(server.id, v0);
      firstDeploy.push(performance.now() - t0);
      if (view.kind !== 'js') throw new Error(`a server without Node got a ${view.kind} runner, expected the js bundle under the runtime`);
      firstBytes = view.transferredBytes;
      t0 = performance.now();
      const up = await runners.upgrade(server.id, v1);
      upgrade.push(performance.now() - t0);
      if (up.rolledBack) throw new Error(`the upgrade rolled back: ${up.reason}`);
      upgradeBytes = up.deployment.transferredBytes;
    }
    console.log(`\nRuntime and code apart, server without Node, median of ${RUNS}`);
    console.log(`  first deploy (runtime + code bundle)            ${mb(firstBytes).padStart(9)} sent  ${median(firstDeploy).toFixed(0).padStart(6)} ms`);
    console.log(`  upgrade ${v0} -> ${v1} (code bundle only)  ${`${(upgradeBytes / 1024).toFixed(0)} KB`.padStart(9)} sent  ${median(upgrade).toFixed(0).padStart(6)} ms`);
    console.log(`  reference: a SEA deploy or upgrade (whole SEA gzip, step 1) ${mb(seaBytes).padStart(9)} sent`);
    console.log(`TARGET runner code upgrade transferred: ours ${upgradeBytes} bytes vs reference ${seaBytes} bytes (whole SEA gzip) = ${(upgradeBytes / seaBytes).toFixed(4)}x (target < 1 MB: ${upgradeBytes < 1024 * 1024 ? 'met' : 'NOT met'})`);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
    await sshd.stop();
    for (const d of [noNodeBin, bundleDir, cacheDir]) fs.rmSync(d, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
