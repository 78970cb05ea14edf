/**
 * direct-ssh benchmark (run by hand: `npm run bench` or `node bench/run-ts.mjs bench/direct-ssh-bench.ts`; never in CI).
 * Against the harness sshd on loopback it prints, side by side:
 *   1. time from "run" to the first output line on a warm connection: Cronium direct-ssh (run -> line stored and
 *      pushed), vs `ssh` through a warm ControlMaster, vs ansible ad-hoc `-m shell` (when ansible is installed);
 *   2. lines per second of a remote `seq 1 1000000` stored in the database, vs raw `ssh host seq 1 1000000 >/dev/null`.
 * Needs root (the harness creates test users and a private sshd). Cleans up everything it starts.
 * BENCH_RUNS=N changes the number of runs (default 30); BENCH_SKIP_ANSIBLE=1 leaves ansible out.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCore, type Core } from '../src-main/core/core';
import { MemorySecretStore } from '../src-main/core/secrets/memory-secret-store';
import { EventInput } from '../src-shared/contract/events';
import { startSshd, type SshdHandle } from '../tests/harness/sshd';
import { rowPerLineInserts } from './row-per-line-reference';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const ROOT = path.resolve(__dirname, '..', '..', '..');
const repo = fs.existsSync(path.join(process.cwd(), 'migrations')) ? process.cwd() : ROOT;

function stats(ms: number[]): { p50: number; p90: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p90: at(0.9) };
}

/** Spawns a command and resolves with the ms until its first stdout byte and until it exits. */
function timeCommand(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ first: number; total: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = -1;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let err = '';
    child.stdout.on('data', () => {
      if (first < 0) first = performance.now() - t0;
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`));
      resolve({ first, total: performance.now() - t0, code });
    });
  });
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-bench-'));
  let sshd: SshdHandle | undefined;
  let core: Core | undefined;
  const ctl = path.join(work, 'cm');
  try {
    sshd = await startSshd();
    core = await createCore(
      { dataDir: path.join(work, 'data'), migrationsDir: path.join(repo, 'migrations'), resourcesDir: path.join(repo, 'resources'), mode: 'serve', appVersion: 'bench', env: {} },
      { secrets: new MemorySecretStore() },
    );
    const server = await core.servers.save({
      name: 'bench', host: sshd.host, port: sshd.port, username: sshd.keyUser.username, authType: 'key',
      privateKey: sshd.keyUser.privateKey, tags: [], maxConcurrentJobs: 4,
    });
    await core.servers.trustHostKey(server.id, sshd.hostKeyFingerprint, false);
    const echo = await core.events.save(EventInput.parse({ name: 'echo', scriptType: 'bash', content: 'echo hi', timeoutSeconds: 60, executionMode: 'direct-ssh', serverIds: [server.id] }));
    const seq = await core.events.save(EventInput.parse({ name: 'seq', scriptType: 'bash', content: 'seq 1 1000000', timeoutSeconds: 600, executionMode: 'direct-ssh', serverIds: [server.id] }));

    // 1a. Cronium: run -> first line stored (the moment it is pushed to a subscribed viewer).
    const firstLine = async (eventId: string): Promise<number> => {
      let resolveFirst: (ms: number) => void = () => undefined;
      const got = new Promise<number>((r) => (resolveFirst = r));
      const t0 = performance.now();
      const off = core!.logs.store.onStored(() => resolveFirst(performance.now() - t0));
      const [job] = await core!.jobs.runEvent({ eventId, trigger: 'manual' });
      const ms = await got;
      off();
      const done = await core!.jobs.waitForJob(job.id);
      if (done.status !== 'SUCCESS') throw new Error(`bench job ended ${done.status}: ${done.reason}`);
      return ms;
    };
    for (let i = 0; i < 3; i++) await firstLine(echo.id); // warm the pool, the JIT and the sshd
    const cronium: number[] = [];
    for (let i = 0; i < RUNS; i++) cronium.push(await firstLine(echo.id));
    const execOnly: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await core.ssh.exec(server.id, 'echo hi');
      execOnly.push(performance.now() - t0);
    }

    // 1b. OpenSSH with a warm ControlMaster.
    const keyFile = path.join(work, 'id');
    fs.writeFileSync(keyFile, sshd.keyUser.privateKey, { mode: 0o600 });
    const knownHosts = path.join(work, 'known_hosts');
    fs.writeFileSync(knownHosts, `[${sshd.host}]:${sshd.port} ${sshd.hostPublicKey}\n`);
    const sshBase = ['-i', keyFile, '-p', String(sshd.port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', `ControlPath=${ctl}`];
    const target = `${sshd.keyUser.username}@${sshd.host}`;
    const master = spawnSync('ssh', [...sshBase, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=120', '-f', '-N', target], { encoding: 'utf8' });
    if (master.status !== 0) throw new Error(`ssh ControlMaster did not start: ${master.stderr}`);
    for (let i = 0; i < 3; i++) await timeCommand('ssh', [...sshBase, target, 'echo hi']);
    const cm: number[] = [];
    for (let i = 0; i < RUNS; i++) cm.push((await timeCommand('ssh', [...sshBase, target, 'echo hi'])).first);

    // 1c. ansible ad-hoc shell, when installed (bench/run-all.sh installs it).
    let ansible: number[] | null = null;
    if (!process.env.BENCH_SKIP_ANSIBLE && spawnSync('ansible', ['--version']).status === 0) {
      const inventory = path.join(work, 'inventory.ini');
      fs.writeFileSync(
        inventory,
        `bench ansible_host=${sshd.host} ansible_port=${sshd.port} ansible_user=${sshd.keyUser.username} ansible_ssh_private_key_file=${keyFile} ` +
          `ansible_ssh_common_args='-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes' ansible_python_interpreter=/usr/bin/python3\n`,
      );
      const env = { ...process.env, ANSIBLE_CONTROL_PATH_DIR: path.join(work, 'ansible-cp'), ANSIBLE_LOCAL_TEMP: path.join(work, 'ansible-tmp'), ANSIBLE_REMOTE_TMP: '/tmp/.ansible-bench' };
      const args = ['bench', '-i', inventory, '-m', 'shell', '-a', 'echo hi'];
      await timeCommand('ansible', args, env); // warm its own ControlPersist connection
      ansible = [];
      const n = Math.min(RUNS, 10);
      for (let i = 0; i < n; i++) ansible.push((await timeCommand('ansible', args, env)).total);
    }

    // 2. Throughput: seq 1 1000000 into the database vs raw ssh to /dev/null.
    const t0 = performance.now();
    const [seqJob] = await core.jobs.runEvent({ eventId: seq.id, trigger: 'manual' });
    const seqDone = await core.jobs.waitForJob(seqJob.id);
    const storedMs = performance.now() - t0;
    const log = await core.logs.store.get(seqDone.logId!);
    if (seqDone.status !== 'SUCCESS' || log.lineCount !== 1_000_000) throw new Error(`seq job: ${seqDone.status}, ${log.lineCount} lines`);
    const raw = await timeCommand('ssh', [...sshBase, target, 'seq 1 1000000']);
    const reference = rowPerLineInserts(path.join(work, 'raw'), 1_000_000, String);
    const sqliteOnly = 1e6 / (reference.linesPerSecond / 1000);

    const c = stats(cronium);
    const e = stats(execOnly);
    const m = stats(cm);
    const row = (name: string, s: { p50: number; p90: number } | null, note = '') =>
      console.log(`  ${name.padEnd(44)} ${s ? s.p50.toFixed(1).padStart(8) : '     n/a'} ${s ? s.p90.toFixed(1).padStart(8) : '     n/a'}  ${note}`);
    console.log(`\ndirect-ssh bench (loopback, ${RUNS} runs, ${os.cpus().length} cores)`);
    console.log(`\n  time from "run" to the first output line      p50 ms   p90 ms`);
    row('Cronium direct-ssh (run -> line stored)', c, `${(c.p50 / m.p50).toFixed(2)}x ControlMaster`);
    row('  of which: ssh2 exec `echo hi` on open conn', e);
    row('ssh via warm ControlMaster (first byte)', m);
    row('ansible -m shell (warm ControlPersist, total)', ansible ? stats(ansible) : null, ansible ? '' : 'ansible not installed (bench/run-all.sh installs it)');
    console.log(`\n  seq 1 1000000                                 ms       lines/s`);
    console.log(`  ${'Cronium: run -> 1,000,000 lines stored'.padEnd(44)} ${storedMs.toFixed(0).padStart(8)} ${Math.round(1e6 / (storedMs / 1000)).toLocaleString('en').padStart(12)}`);
    console.log(`  ${'raw better-sqlite3 one row per line (100/stmt)'.padEnd(44)} ${sqliteOnly.toFixed(0).padStart(8)} ${Math.round(1e6 / (sqliteOnly / 1000)).toLocaleString('en').padStart(12)}`);
    console.log(`  ${'raw ssh (ControlMaster) > /dev/null'.padEnd(44)} ${raw.total.toFixed(0).padStart(8)} ${Math.round(1e6 / (raw.total / 1000)).toLocaleString('en').padStart(12)}`);
    console.log(`\n  TARGET lines stored per second, direct / raw one-row-per-line inserts: ${(sqliteOnly / storedMs).toFixed(2)}x (target >= 2.0x)`);
    console.log(`\n  aims: start overhead within 2x of ControlMaster -> ${c.p50 <= 2 * m.p50 ? 'met' : 'NOT met'}; >= 200,000 lines/s stored -> ${1e6 / (storedMs / 1000) >= 200_000 ? 'met' : 'NOT met'}\n`);
  } finally {
    spawnSync('ssh', ['-o', `ControlPath=${ctl}`, '-O', 'exit', 'x'], { stdio: 'ignore' });
    await core?.stop();
    await sshd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
