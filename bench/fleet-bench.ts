/**
 * Fleet benchmark (issue 18 item 4; run by hand: `npm run bench` or `node bench/run-ts.mjs bench/fleet-bench.ts`;
 * never in CI). For each size in BENCH_FLEET_SIZES (default "40,200") it brings up that many network-namespace hosts
 * with the project's harness (one sshd and host key each, test user cronium-k200) and prints, medians of BENCH_RUNS
 * (default 3), side by side: one command (`echo hi`) on every host, direct-ssh, cold (no open connection: the run sets
 * up every connection), from "run" to every job SUCCESS; and the reference, parallel-ssh (Debian's pssh) running the
 * same command on the same hosts with its default parallelism (32), cold too.
 * Runner mode on the fleet and deploying the runner to fresh hosts are not measured here yet.
 * Needs root. Removes every namespace, sshd and file it made.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createCore, type Core } from '../src-main/core/core';
import { MemorySecretStore } from '../src-main/core/secrets/memory-secret-store';
import { EventInput } from '../src-shared/contract/events';
import { createHost, type NetHost } from '../tests/harness/netns';
import type { SshdHandle } from '../tests/harness/sshd';

const SIZES = (process.env.BENCH_FLEET_SIZES ?? '40,200').split(',').map(Number).filter((n) => n > 0);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const USER = 200;
const FIRST_INDEX = 2001;
const repo = process.cwd();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function fleet(size: number): Promise<{ direct: number; pssh: number | null; upSeconds: number }> {
  const hosts: NetHost[] = [];
  const sshds: SshdHandle[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-fleet-'));
  let core: Core | undefined;
  try {
    const started = performance.now();
    for (let i = 0; i < size; i++) {
      const host = await createHost(`fleet${i}`, FIRST_INDEX + i);
      hosts.push(host);
      sshds.push(await host.startSshd({ users: 1, firstUser: USER }));
    }
    const upSeconds = (performance.now() - started) / 1000;

    core = await createCore(
      { dataDir: path.join(work, 'data'), migrationsDir: path.join(repo, 'migrations'), resourcesDir: path.join(repo, 'resources'), mode: 'serve', appVersion: 'bench', env: {} },
      { secrets: new MemorySecretStore() },
    );
    await core.start();
    const serverIds: string[] = [];
    for (const [i, sshd] of sshds.entries()) {
      const user = sshd.extraUsers[0]!;
      const s = await core.servers.save({ name: `fleet-${i}`, host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey, tags: [], maxConcurrentJobs: 4 } as never);
      await core.servers.trustHostKey(s.id, sshd.hostKeyFingerprint, false);
      serverIds.push(s.id);
    }
    const event = await core.events.save(EventInput.parse({ name: 'fleet echo', scriptType: 'bash', content: 'echo hi', timeoutSeconds: 120, executionMode: 'direct-ssh', serverIds }));

    const direct: number[] = [];
    for (let r = 0; r < RUNS + 1; r++) {
      for (const id of serverIds) core.ssh.invalidate(id);
      const t0 = performance.now();
      const jobs = await core.jobs.runEvent({ eventId: event.id, trigger: 'manual' });
      const done = await Promise.all(jobs.map((j) => core!.jobs.waitForJob(j.id)));
      const ms = performance.now() - t0;
      const failed = done.filter((d) => d.status !== 'SUCCESS');
      if (failed.length) throw new Error(`${failed.length} of ${size} jobs ended ${failed[0]!.status}: ${failed[0]!.reason}`);
      if (r > 0) direct.push(ms); // the first run warms the JIT, the database and the sshds' caches
    }

    let pssh: number | null = null;
    const bin = spawnSync('bash', ['-c', 'command -v parallel-ssh || command -v pssh']).stdout.toString().trim();
    if (bin) {
      const keys = path.join(work, 'keys');
      fs.mkdirSync(keys);
      const knownHosts = path.join(work, 'known_hosts');
      fs.writeFileSync(knownHosts, sshds.map((s) => `${s.host} ${s.hostPublicKey}`).join('\n') + '\n');
      const config = path.join(work, 'ssh_config');
      fs.writeFileSync(
        config,
        sshds
          .map((s, i) => {
            const key = path.join(keys, `id${i}`);
            fs.writeFileSync(key, s.extraUsers[0]!.privateKey, { mode: 0o600 });
            return `Host fleet${i}\n  HostName ${s.host}\n  Port ${s.port}\n  User ${s.extraUsers[0]!.username}\n  IdentityFile ${key}\n  UserKnownHostsFile ${knownHosts}\n  StrictHostKeyChecking yes\n  BatchMode yes\n`;
          })
          .join(''),
      );
      const aliases = path.join(work, 'aliases');
      fs.writeFileSync(aliases, sshds.map((_, i) => `fleet${i}`).join('\n') + '\n');
      const runs: number[] = [];
      for (let r = 0; r < RUNS + 1; r++) {
        const t0 = performance.now();
        const out = spawnSync(bin, ['-h', aliases, '-x', `-F ${config}`, 'echo hi']);
        if (out.status !== 0) throw new Error(`parallel-ssh failed: ${out.stdout}${out.stderr}`);
        if (r > 0) runs.push(performance.now() - t0);
      }
      pssh = median(runs);
    }
    return { direct: median(direct), pssh, upSeconds };
  } finally {
    await core?.stop();
    for (const h of hosts) await h.destroy().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`fleet: one command on every host, cold, median of ${RUNS}, ${os.cpus().length} CPUs`);
  for (const size of SIZES) {
    const r = await fleet(size);
    console.log(`\n  ${size} namespace hosts (up in ${r.upSeconds.toFixed(1)} s)`);
    console.log(`    Cronium direct-ssh, run -> every job SUCCESS   ${r.direct.toFixed(0).padStart(7)} ms`);
    console.log(`    reference: parallel-ssh (-p 32, its default)    ${r.pssh === null ? '    n/a (apt-get install -y pssh)' : `${r.pssh.toFixed(0).padStart(7)} ms`}`);
    if (r.pssh !== null) console.log(`  TARGET ${size} hosts one command, direct, cold, vs parallel-ssh: ${(r.direct / r.pssh).toFixed(2)}x (target <= 0.5x)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
