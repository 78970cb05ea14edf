/**
 * Bulk runner deploy benchmark (run by hand: `npm run bench` or `node bench/run-ts.mjs bench/runner-deploy-many-bench.ts`;
 * never in CI). BENCH_HOSTS (default 40) network-namespace servers, each its own sshd and host key, all already holding
 * the right runner (deployed once, one after the other, before timing). It prints, side by side, medians of BENCH_RUNS:
 *   1. Cronium's `deployMany` to every server (settings.runner.deployParallelism at a time, default 8): the cheap
 *      integrity check per server (one exec: size, inode, ctime against what was recorded at deploy), new connections;
 *   2. the same deploy the old way, for comparison: every server probed and its 83 MB runner re-hashed on the server;
 *   3. the reference: OpenSSH `ssh host sha256sum <runner>` to every server, 8 at a time (xargs -P 8), and, when the
 *      Debian package pssh is installed, `parallel-ssh -p 8` running the same command.
 * Needs root and built artifacts (npm run build:runner). Cleans up every namespace, sshd and file it made.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createCore, type Core } from '../src-main/core/core';
import { MemorySecretStore } from '../src-main/core/secrets/memory-secret-store';
import { createHost, type NetHost } from '../tests/harness/netns';
import type { SshdHandle } from '../tests/harness/sshd';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 40);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** One harness user for every host (namespaces share the file system): the runner is on the disk once. */
const USER = 111;
const FIRST_INDEX = 301;
const repo = process.cwd();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const hosts: NetHost[] = [];
  const sshds: SshdHandle[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-deploy-many-'));
  let core: Core | undefined;
  let home = '';
  try {
    const started = performance.now();
    for (let i = 0; i < HOSTS; i++) {
      const host = await createHost(`rdm${i}`, FIRST_INDEX + i);
      hosts.push(host);
      sshds.push(await host.startSshd({ users: 1, firstUser: USER }));
    }
    home = sshds[0]!.extraUsers[0]!.home;
    fs.rmSync(path.join(home, '.cronium'), { recursive: true, force: true });
    console.log(`${HOSTS} namespace servers up in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    core = await createCore(
      { dataDir: path.join(work, 'data'), migrationsDir: path.join(repo, 'migrations'), resourcesDir: path.join(repo, 'resources'), mode: 'serve', appVersion: 'bench', env: {} },
      { secrets: new MemorySecretStore() },
    );
    const serverIds: string[] = [];
    for (const [i, sshd] of sshds.entries()) {
      const user = sshd.extraUsers[0]!;
      const s = await core.servers.save({ name: `ns-${i}`, host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey, tags: [], maxConcurrentJobs: 4 });
      await core.servers.trustHostKey(s.id, sshd.hostKeyFingerprint, false);
      serverIds.push(s.id);
    }
    // Up to date everywhere first: one after the other (the hosts share one home, so one upload serves them all).
    for (const id of serverIds) await core.runners.deployRunner(id);
    const runnerPath = (await core.runners.listDeployments(serverIds[0])).find((d) => d.status === 'active')!.path!;

    const cheap: number[] = [];
    const rehash: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      for (const id of serverIds) core.ssh.invalidate(id);
      let t0 = performance.now();
      const results = await core.runners.deployMany(serverIds);
      cheap.push(performance.now() - t0);
      const failed = results.filter((x) => !x.ok);
      if (failed.length) throw new Error(`deployMany failed on ${failed.length}: ${failed[0]!.error}`);
      if (results.some((x) => x.deployment?.transferredBytes !== 0)) throw new Error('an up-to-date server received bytes');

      // The old way: forget the fingerprints, so every server is probed and its runner hashed again.
      core.db.sqlite.prepare("UPDATE runner_deployments SET metadata = json_set(metadata, '$.fingerprint', NULL) WHERE status = 'active'").run();
      for (const id of serverIds) core.ssh.invalidate(id);
      t0 = performance.now();
      await core.runners.deployMany(serverIds);
      rehash.push(performance.now() - t0);
    }

    // References, measured now: OpenSSH, a new connection per server, 8 at a time.
    const key = path.join(work, 'ids');
    fs.mkdirSync(key);
    const knownHosts = path.join(work, 'known_hosts');
    fs.writeFileSync(knownHosts, sshds.map((s) => `${s.host} ${s.hostPublicKey}`).join('\n') + '\n');
    const hostList = path.join(work, 'hosts');
    const lines: string[] = [];
    for (const [i, s] of sshds.entries()) {
      const file = path.join(key, `id${i}`);
      fs.writeFileSync(file, s.extraUsers[0]!.privateKey, { mode: 0o600 });
      lines.push(`${file} ${s.extraUsers[0]!.username}@${s.host} ${s.port}`);
    }
    fs.writeFileSync(hostList, lines.join('\n') + '\n');
    const sshOpts = `-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
    const raw: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      const out = spawnSync('bash', ['-c', `xargs -P 8 -L 1 sh -c 'ssh -i "$0" ${sshOpts} -p "$2" "$1" sha256sum ${runnerPath} >/dev/null' < ${hostList}`]);
      if (out.status !== 0) throw new Error(`ssh reference failed: ${out.stderr}`);
      raw.push(performance.now() - t0);
    }
    const pssh = spawnSync('bash', ['-c', 'command -v parallel-ssh || command -v pssh']).stdout.toString().trim();
    const psshRuns: number[] = [];
    if (pssh) {
      // parallel-ssh takes one identity: give every host's key through an ssh config, Host alias per server.
      const config = path.join(work, 'ssh_config');
      fs.writeFileSync(config, sshds.map((s, i) => `Host ns${i}\n  HostName ${s.host}\n  Port ${s.port}\n  User ${s.extraUsers[0]!.username}\n  IdentityFile ${path.join(key, `id${i}`)}\n  UserKnownHostsFile ${knownHosts}\n  StrictHostKeyChecking yes\n  BatchMode yes\n`).join(''));
      const aliases = path.join(work, 'aliases');
      fs.writeFileSync(aliases, sshds.map((_, i) => `ns${i}`).join('\n') + '\n');
      for (let r = 0; r < RUNS; r++) {
        const t0 = performance.now();
        const out = spawnSync(pssh, ['-p', '8', '-h', aliases, '-x', `-F ${config}`, `sha256sum ${runnerPath} >/dev/null`]);
        if (out.status !== 0) throw new Error(`parallel-ssh failed: ${out.stdout}${out.stderr}`);
        psshRuns.push(performance.now() - t0);
      }
    }

    const parallel = core.settings.current().runner.deployParallelism;
    console.log(`\nRunner deploy to ${HOSTS} up-to-date namespace servers (runner ${(fs.statSync(runnerPath).size / 1024 / 1024).toFixed(1)} MB), median of ${RUNS}, ${os.cpus().length} CPUs`);
    console.log(`  Cronium deployMany, ${parallel} at a time, cheap integrity check per server       ${median(cheap).toFixed(0).padStart(6)} ms`);
    console.log(`  Cronium deployMany, ${parallel} at a time, probe + full re-hash (the old check)     ${median(rehash).toFixed(0).padStart(6)} ms`);
    console.log(`  reference: ssh host sha256sum <runner>, 8 at a time (xargs -P 8)               ${median(raw).toFixed(0).padStart(6)} ms`);
    if (psshRuns.length) console.log(`  reference: parallel-ssh -p 8 sha256sum <runner>                               ${median(psshRuns).toFixed(0).padStart(6)} ms`);
    else console.log('  reference: parallel-ssh not installed (apt-get install -y pssh)');
  } finally {
    await core?.stop();
    for (const h of hosts) await h.destroy().catch(() => undefined);
    if (home) fs.rmSync(path.join(home, '.cronium'), { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
