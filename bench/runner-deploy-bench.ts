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
import { addBuiltRuntime, addServer, makeNoNodeBin, startRunnerBench } from '../tests/integration/runner/runner-fixtures';

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
    await measureSplitUpgrade(seaBytes);
  } finally {
    await core.stop();
    fs.rmSync(runnerHome, { recursive: true, force: true });
    spawnSync('rm', ['-f', '/tmp/bench-runner.gz', '/tmp/bench-runner']);
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
    await sshd.stop();
  }
}

/** Section 4: first deploy and upgrade on a server without Node, runtime and code apart (bytes sent and time). */
async function measureSplitUpgrade(seaBytes: number): Promise<void> {
  const noNodeBin = makeNoNodeBin();
  const sshd = await startSshd({ users: 1, firstUser: 189, extraConfig: ['Match User cronium-k189', `    SetEnv PATH=${noNodeBin}`] });
  const user = sshd.extraUsers[0];
  const home = path.join(user.home, '.cronium');
  fs.rmSync(home, { recursive: true, force: true });
  const bench = await startRunnerBench();
  try {
    addBuiltRuntime(bench.fixture.bundleDir);
    await bench.runners.ready(true);
    const id = await addServer(bench.tc.core, sshd, user, 'bench-no-node');
    const firstDeploy: number[] = [];
    const upgrade: number[] = [];
    let firstBytes = 0;
    let upgradeBytes = 0;
    for (let i = 0; i < RUNS; i++) {
      fs.rmSync(home, { recursive: true, force: true });
      bench.tc.core.db.sqlite.prepare('DELETE FROM runner_deployments').run();
      let t0 = performance.now();
      const view = await bench.runners.deployRunner(id, '1.0.0');
      firstDeploy.push(performance.now() - t0);
      if (view.kind !== 'js') throw new Error(`a server without Node got a ${view.kind} runner, expected the js bundle under the runtime`);
      firstBytes = view.transferredBytes;
      t0 = performance.now();
      const up = await bench.runners.upgrade(id, '1.0.1');
      upgrade.push(performance.now() - t0);
      if (up.rolledBack) throw new Error(`the upgrade rolled back: ${up.reason}`);
      upgradeBytes = up.deployment.transferredBytes;
    }
    console.log(`\nRuntime and code apart, server without Node, median of ${RUNS}`);
    console.log(`  first deploy (runtime + code bundle)     ${mb(firstBytes).padStart(9)} sent  ${median(firstDeploy).toFixed(0).padStart(6)} ms`);
    console.log(`  upgrade 1.0.0 -> 1.0.1 (code bundle)     ${(upgradeBytes / 1024).toFixed(0).padStart(6)} KB sent  ${median(upgrade).toFixed(0).padStart(6)} ms`);
    console.log(`  reference: SEA deploy/upgrade (whole SEA gzip) ${mb(seaBytes).padStart(9)} sent`);
    console.log(`TARGET runner code upgrade transferred: ours ${upgradeBytes} bytes vs reference ${seaBytes} bytes (whole SEA gzip) = ${(upgradeBytes / seaBytes).toFixed(4)}x (target < 1 MB: ${upgradeBytes < 1024 * 1024 ? 'met' : 'NOT met'})`);
  } finally {
    await bench.stop();
    fs.rmSync(home, { recursive: true, force: true });
    await sshd.stop();
    fs.rmSync(noNodeBin, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
