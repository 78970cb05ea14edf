/**
 * Fleet benchmark (issue 18 item 4; run by hand: `npm run bench` or `node bench/run-ts.mjs bench/fleet-bench.ts`;
 * never in CI). For each size in BENCH_FLEET_SIZES (default "40,200") it brings up that many network-namespace hosts
 * with the project's harness (one sshd and host key each, and one fresh harness user each, cronium-k201 upward:
 * namespaces share the file system, so one user per host gives every host its own home and runner) and prints:
 *   1. deploying the runner to every host, fresh (empty ~/.cronium), with the app's RunnerService.deployMany
 *      (settings.runner.deployParallelism at a time), from "deploy" to every runner healthy, once, and which artifact
 *      kind was picked (it prints it: these hosts share the machine's Node, on PATH or not, as the deployer finds it);
 *   2. one command (`echo hi`) on every host, cold (every connection closed first), from "run" to every job SUCCESS,
 *      medians of BENCH_RUNS (default 3, after one warm-up run): Cronium direct-ssh, Cronium runner mode (runner
 *      deployed in 1.), and the references on the same hosts, keys and known_hosts: parallel-ssh (Debian's pssh,
 *      default parallelism 32) and ansible ad-hoc `-m raw` with forks = fleet size (no ControlPersist: cold too).
 * Per mode it also prints, per job, the database rows changed (SQLite total_changes) and the event-bus events sent (what
 * the renderer receives), counted over the measured runs. BENCH_FLEET_PHASES=1 adds the app's time per phase (waiting
 * at the handshake gate, connect + key exchange + auth, each exec by its first word, reverse tunnels, a runner job's
 * start exec -> hello -> proof -> exit, and the CPU time per run: the app's, parallel-ssh's, the hosts' (everything below their sshds), the machine's); BENCH_FLEET_CPU_PROF=<dir>
 * writes a CPU profile of the app during the measured Cronium runs only (one per size and mode); BENCH_FLEET_MODES
 * (default deploy,direct,runner,pssh,ansible) picks what to measure, for quick runs while tuning (runner without deploy
 * still deploys, untimed); BENCH_FLEET_GATE=<n>
 * overrides the app's handshake gate width for the run, BENCH_FLEET_DEPLOY_PARALLEL=<n> its deployParallelism (tuning only).
 * Needs root. Removes every namespace, sshd, file and user it made.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createCore, type Core } from '../src-main/core/core';
import { MemorySecretStore } from '../src-main/core/secrets/memory-secret-store';
import { EventInput } from '../src-shared/contract/events';
import { handshakeGate } from '../src-main/core/ssh/handshake-gate';
import { SshConnection } from '../src-main/core/ssh/ssh-connection';
import { RunnerJobSession } from '../src-main/core/jobs/runner-job-session';
import { createHost, type NetHost } from '../tests/harness/netns';
import type { SshdHandle, SshdKeyUser } from '../tests/harness/sshd';

const SIZES = (process.env.BENCH_FLEET_SIZES ?? '40,200').split(',').map(Number).filter((n) => n > 0);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** What to measure (default all): a subset, e.g. "direct,pssh", for quick before/after runs while tuning. */
const MODES = new Set((process.env.BENCH_FLEET_MODES ?? 'deploy,direct,runner,pssh,ansible').split(','));
/** Harness users cronium-k201..k400 (one per host; 200 at most), this bench's own range. */
const FIRST_USER = 201;
const MAX_HOSTS = 200;
const FIRST_INDEX = 2001;
const repo = process.cwd();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number | null) => (x === null ? '    n/a' : `${x.toFixed(0).padStart(7)} ms`);

interface FleetResult {
  size: number;
  upSeconds: number;
  deployMs: number | null;
  deployKinds: string;
  deployBytes: number;
  direct: number | null;
  runner: number | null;
  pssh: number | null;
  ansible: number | null;
  directCounts: Counts;
  runnerCounts: Counts;
  phases: { deploy: string[]; direct: string[]; runner: string[]; 'parallel-ssh': string[] };
  notes: string[];
}

async function inBatches<T>(items: T[], size: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    await Promise.all(items.slice(start, start + size).map((item, k) => work(item, start + k)));
  }
}

/** Processes still running as the bench's users (detached runners), then the users and their homes. */
function removeUsers(users: SshdKeyUser[]): void {
  const uids = new Set<number>();
  for (const u of users) {
    try {
      uids.add(fs.statSync(u.home).uid);
    } catch {
      /* home already gone */
    }
  }
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (uids.has(fs.statSync(`/proc/${entry}`).uid)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const u of users) spawnSync('userdel', ['-r', '-f', u.username], { stdio: 'ignore' });
}

/** Runs `script` as one event on every server, cold; returns the time to every job SUCCESS. */
async function runOnce(core: Core, eventId: string, serverIds: string[], counts?: Counts): Promise<number> {
  for (const id of serverIds) core.ssh.invalidate(id);
  const changes0 = totalChanges(core);
  const events = new Map<string, number>();
  const unsubscribe = core.bus.subscribe((name) => events.set(name, (events.get(name) ?? 0) + 1));
  const cpu0 = cpuNow();
  const t0 = performance.now();
  const jobs = await core.jobs.runEvent({ eventId, trigger: 'manual' });
  const done = await Promise.all(jobs.map((j) => core.jobs.waitForJob(j.id)));
  const took = performance.now() - t0;
  cpuPhases(cpu0, 'this process (the app)');
  unsubscribe();
  if (counts) {
    counts.jobs += done.length;
    counts.rows += totalChanges(core) - changes0;
    for (const [k, n] of events) counts.events.set(k, (counts.events.get(k) ?? 0) + n);
  }
  const failed = done.filter((d) => d.status !== 'SUCCESS');
  if (failed.length) throw new Error(`${failed.length} of ${serverIds.length} jobs ended ${failed[0]!.status}: ${failed[0]!.reason}`);
  return took;
}

/** Busy and total jiffies of the whole machine (/proc/stat), to tell a CPU-bound phase from a waiting one. */
function machineCpu(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - (f[4] ?? 0), total };
}

/**
 * CPU time now: this process's, its reaped children's (parallel-ssh and its ssh clients) and the machine's busy
 * time on all cores (every process, the other work on the machine included), in ms. Linux only (the bench needs it).
 */
/** The hosts' listening sshd pids (BENCH_FLEET_PHASES: the CPU of everything below them, per run). */
let serverPids = new Set<number>();
/**
 * CPU time of every process below the hosts' sshds, the listeners included, in ms: each live process's own time plus
 * its reaped children's (sshd reaps its per-connection processes, and they their sessions).
 */
function serverTreesCpu(): number {
  if (serverPids.size === 0) return 0;
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10 });
    } catch {
      /* gone */
    }
  }
  let total = 0;
  for (const [pid, st] of stats) {
    for (let p = pid, hops = 0; p > 1 && hops < 12; p = stats.get(p)?.ppid ?? 0, hops++) {
      if (serverPids.has(p)) {
        total += st.cpu;
        break;
      }
    }
  }
  return total;
}

function cpuNow(): { self: number; children: number; machine: number; servers: number } {
  const u = process.cpuUsage();
  const own = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = own.slice(own.lastIndexOf(')') + 2).split(' ');
  const ticks = (xs: string[]) => xs.reduce((a, x) => a + Number(x), 0) * 10; // USER_HZ 100: 10 ms a tick
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
  // user nice system idle iowait irq softirq steal: busy is everything but idle and iowait.
  return { self: (u.user + u.system) / 1000, children: ticks([f[13]!, f[14]!]), machine: ticks([cpu[0]!, cpu[1]!, cpu[2]!, cpu[5]!, cpu[6]!, cpu[7]!]), servers: serverTreesCpu() };
}
/** Records the CPU spent since `from` as phases ("cpu: ..."), per run. */
function cpuPhases(from: ReturnType<typeof cpuNow>, self: string): void {
  const now = cpuNow();
  phase(`cpu per run: ${self}`, now.self - from.self);
  if (now.children > from.children) phase('cpu per run: reaped children (ssh clients)', now.children - from.children);
  phase('cpu per run: machine busy, all cores, all work', now.machine - from.machine);
  if (serverPids.size > 0) phase('cpu per run: the hosts (sshd, sessions, shells)', now.servers - from.servers);
}

/** Phase timings, by name: a list of durations in ms (BENCH_FLEET_PHASES=1). */
const phases = new Map<string, number[]>();
function phase(name: string, ms: number): void {
  const xs = phases.get(name) ?? [];
  xs.push(ms);
  phases.set(name, xs);
}
function instrument(): void {
  const gateAcquire = handshakeGate.acquire.bind(handshakeGate);
  handshakeGate.acquire = async () => {
    const t0 = performance.now();
    const release = await gateAcquire();
    phase('handshake gate wait', performance.now() - t0);
    const t1 = performance.now();
    return () => {
      phase('handshake (in the gate: tcp + kex + auth)', performance.now() - t1);
      release();
    };
  };
  const wrap = (key: 'exec' | 'forwardIn' | 'forwardInStreamLocal' | 'sftp', label: (args: unknown[]) => string) => {
    const proto = SshConnection.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const original = proto[key]!;
    proto[key] = function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      const p = original.apply(this, args);
      void p.then(() => phase(label(args), performance.now() - t0), () => undefined);
      return p;
    };
  };
  wrap('exec', (a) => `exec ${String(a[0]).split('\n')[0]!.replace(/cronium-k\d+|[0-9a-f]{8}-[0-9a-f-]{27}/g, '*').slice(0, 40)}`);
  wrap('forwardIn', () => 'forwardIn (tcp reverse tunnel)');
  wrap('forwardInStreamLocal', () => 'forwardInStreamLocal');
  wrap('sftp', () => 'sftp session');
  // Runner jobs: from the start exec's answer to the runner's hello (its Node starting on the server, the tunnel),
  // and from the hello to the proven connection (challenge and proof round, the app's answer).
  const session = RunnerJobSession.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const execDone = new WeakMap<object, number>();
  const helloAt = new WeakMap<object, number>();
  const around = (key: string, before: (self: object) => void) => {
    const original = session[key]!;
    session[key] = function (this: object, ...args: unknown[]) {
      before(this);
      return original.apply(this, args);
    };
  };
  const execStart = session.execStart!;
  session.execStart = function (this: object, ...args: unknown[]) {
    const p = execStart.apply(this, args) as Promise<unknown>;
    void p.then(() => execDone.set(this, performance.now()), () => undefined);
    return p;
  };
  around('onHello', (self) => {
    const t = execDone.get(self);
    if (t !== undefined && !helloAt.has(self)) {
      helloAt.set(self, performance.now());
      phase('runner: start exec answered -> hello', performance.now() - t);
    }
  });
  around('onProvenHello', (self) => {
    const t = helloAt.get(self);
    if (t !== undefined) phase('runner: hello -> proof checked', performance.now() - t);
  });
  around('complete', (self) => {
    const t = helloAt.get(self);
    if (t !== undefined) phase('runner: hello -> exit', performance.now() - t);
  });
}
function phaseReport(): string[] {
  const lines = [...phases].map(([k, xs]) => `      ${k.padEnd(48)} n=${String(xs.length).padStart(5)}  median ${median(xs).toFixed(1).padStart(7)} ms  total ${(xs.reduce((a, b) => a + b, 0) / 1000).toFixed(1).padStart(7)} s`);
  phases.clear();
  return lines;
}

/** A CPU profile of this process while `work` runs, written to BENCH_FLEET_CPU_PROF/<name>.cpuprofile. */
async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_FLEET_CPU_PROF;
  if (!dir) return work();
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<any>((resolve, reject) => session.post(method, params ?? {}, (err, r) => (err ? reject(err) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await post('Profiler.stop');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

interface Counts {
  jobs: number;
  rows: number;
  events: Map<string, number>;
}
const newCounts = (): Counts => ({ jobs: 0, rows: 0, events: new Map() });
const totalChanges = (core: Core) => Number((core.db.sqlite.prepare('SELECT total_changes() AS n').get() as { n: number }).n);
function perJob(c: Counts): string {
  if (!c.jobs) return 'n/a';
  const events = [...c.events].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${(n / c.jobs).toFixed(1)}`);
  return `${(c.rows / c.jobs).toFixed(1)} rows changed, ${([...c.events.values()].reduce((a, b) => a + b, 0) / c.jobs).toFixed(1)} bus events (${events.join(', ')})`;
}

async function timed(runs: number, once: () => Promise<number> | number): Promise<number> {
  const xs: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const t = await once();
    if (r > 0) xs.push(t); // the first run warms the JIT, the database and the sshds' caches
  }
  return median(xs);
}

async function fleet(size: number): Promise<FleetResult> {
  if (size > MAX_HOSTS) throw new Error(`BENCH_FLEET_SIZES: ${size} hosts is more than this bench's ${MAX_HOSTS} users (cronium-k201..k400)`);
  const hosts: NetHost[] = [];
  const sshds: SshdHandle[] = [];
  const users: SshdKeyUser[] = [];
  const notes: string[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-fleet-'));
  let core: Core | undefined;
  try {
    const started = performance.now();
    for (let i = 0; i < size; i++) hosts.push(await createHost(`fleet${i}`, FIRST_INDEX + i));
    await inBatches(hosts, 10, async (host, i) => {
      sshds[i] = await host.startSshd({ users: 1, firstUser: FIRST_USER + i });
      users[i] = sshds[i]!.extraUsers[0]!;
      fs.rmSync(path.join(users[i]!.home, '.cronium'), { recursive: true, force: true });
    });
    const upSeconds = (performance.now() - started) / 1000;
    if (process.env.BENCH_FLEET_PHASES === '1') serverPids = new Set(sshds.map((x) => x.pid!).filter(Boolean));

    core = await createCore(
      { dataDir: path.join(work, 'data'), migrationsDir: path.join(repo, 'migrations'), resourcesDir: path.join(repo, 'resources'), mode: 'serve', appVersion: 'bench', env: {} },
      { secrets: new MemorySecretStore() },
    );
    await core.start();
    // BENCH_FLEET_DEPLOY_PARALLEL: another deployParallelism than the app's default (tuning only).
    const deployParallel = Number(process.env.BENCH_FLEET_DEPLOY_PARALLEL ?? 0);
    core.settings.update({ flags: { ssh_runner_enabled: true, ssh_runner_auto_deploy: true }, runner: { enabled: true, fallbackToDirect: false, ...(deployParallel > 0 ? { deployParallelism: deployParallel } : {}) } } as never);
    const serverIds: string[] = [];
    for (const [i, sshd] of sshds.entries()) {
      const user = users[i]!;
      const s = await core.servers.save({ name: `fleet-${i}`, host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey, tags: [], maxConcurrentJobs: 4 } as never);
      await core.servers.trustHostKey(s.id, sshd.hostKeyFingerprint, false);
      serverIds.push(s.id);
    }

    phases.clear();
    // 1. Deploy to fresh hosts, timed once (a second deploy would find every runner in place).
    let deployMs: number | null = null;
    let deployKinds = 'n/a';
    let deployBytes = 0;
    let deployCpu = '';
    let deployed = false;
    try {
      if (!MODES.has('deploy') && !MODES.has('runner')) throw new Error('not asked for (BENCH_FLEET_MODES)');
      for (const id of serverIds) core.ssh.invalidate(id);
      const cpu0 = { machine: machineCpu(), app: process.cpuUsage() };
      const t0 = performance.now();
      const results = await core.runners.deployMany(serverIds);
      deployMs = performance.now() - t0;
      const machine = machineCpu();
      const app = process.cpuUsage(cpu0.app);
      deployCpu = `${core.settings.current().runner.deployParallelism} at a time; machine CPU busy ${(((machine.busy - cpu0.machine.busy) / Math.max(1, machine.total - cpu0.machine.total)) * 100).toFixed(0)}% of ${os.cpus().length} cores (all processes, other work included); this app ${((app.user + app.system) / 1e6).toFixed(1)} CPU-s`;
      deployed = true;
      const failed = results.filter((x) => !x.ok);
      if (failed.length) throw new Error(`deployMany failed on ${failed.length} of ${size}: ${failed[0]!.error}`);
      const kinds = new Map<string, number>();
      let inPlace = 0;
      for (const r of results) {
        const k = `${r.deployment!.kind}${r.deployment!.kind === 'sea' ? ` ${r.deployment!.os}-${r.deployment!.arch}` : ''}`;
        kinds.set(k, (kinds.get(k) ?? 0) + 1);
        deployBytes += r.deployment!.transferredBytes;
        if (r.deployment!.transferredBytes === 0 && inPlace++ === 0) {
          notes.push(`found in place on ${r.deployment!.serverName}: ${r.deployment!.history.map((h) => `${h.event}: ${h.message}`).join(' | ')}`);
        }
      }
      deployKinds = [...kinds].map(([k, n]) => `${k} x${n}`).join(', ') + (inPlace ? `, ${inPlace} found in place (nothing sent)` : '');
    } catch (err) {
      deployMs = null;
      notes.push(`runner deploy not done, runner mode not measured: ${(err as Error).message}`);
    }
    if (deployCpu && MODES.has('deploy')) notes.push(`deploy: ${deployCpu}`);
    // Runner mode asked for without "deploy": the runners were deployed (above) only so runner mode can run.
    if (!MODES.has('deploy')) deployMs = null;

    const deployPhases = phaseReport();
    // 2. One command on every host: direct, runner, then the references.
    const base = { scriptType: 'bash' as const, content: 'echo hi', timeoutSeconds: 120, serverIds };
    const directEvent = await core.events.save(EventInput.parse({ ...base, name: 'fleet echo direct', executionMode: 'direct-ssh' }));
    const directCounts = newCounts();
    let run = 0;
    phases.clear();
    const direct = MODES.has('direct') ? await profiled(`fleet${size}-direct`, () => timed(RUNS, () => runOnce(core!, directEvent.id, serverIds, run++ > 0 ? directCounts : undefined))) : null;
    const directPhases = phaseReport();
    let runner: number | null = null;
    const runnerCounts = newCounts();
    let runnerPhases: string[] = [];
    if (deployed && MODES.has('runner')) {
      const runnerEvent = await core.events.save(EventInput.parse({ ...base, name: 'fleet echo runner', executionMode: 'runner-ssh' }));
      run = 0;
      try {
        runner = await profiled(`fleet${size}-runner`, () => timed(RUNS, () => runOnce(core!, runnerEvent.id, serverIds, run++ > 0 ? runnerCounts : undefined)));
      } catch (err) {
        notes.push(`runner mode failed: ${(err as Error).message}`);
      }
      runnerPhases = phaseReport();
    }
    await core.stop();
    core = undefined;

    const keys = path.join(work, 'keys');
    fs.mkdirSync(keys);
    const keyFile = (i: number) => path.join(keys, `id${i}`);
    for (const [i, u] of users.entries()) fs.writeFileSync(keyFile(i), u.privateKey, { mode: 0o600 });
    const knownHosts = path.join(work, 'known_hosts');
    fs.writeFileSync(knownHosts, sshds.map((s) => `${s.host} ${s.hostPublicKey}`).join('\n') + '\n');

    let pssh: number | null = null;
    let psshPhases: string[] = [];
    const psshBin = spawnSync('bash', ['-c', 'command -v parallel-ssh || command -v pssh']).stdout.toString().trim();
    if (psshBin && MODES.has('pssh')) {
      const config = path.join(work, 'ssh_config');
      fs.writeFileSync(config, sshds.map((s, i) => `Host fleet${i}\n  HostName ${s.host}\n  Port ${s.port}\n  User ${users[i]!.username}\n  IdentityFile ${keyFile(i)}\n  UserKnownHostsFile ${knownHosts}\n  StrictHostKeyChecking yes\n  BatchMode yes\n`).join(''));
      const aliases = path.join(work, 'aliases');
      fs.writeFileSync(aliases, sshds.map((_, i) => `fleet${i}`).join('\n') + '\n');
      phases.clear();
      pssh = await timed(RUNS, () => {
        const cpu0 = cpuNow();
        const t0 = performance.now();
        const out = spawnSync(psshBin, ['-h', aliases, '-x', `-F ${config}`, 'echo hi']);
        if (out.status !== 0) throw new Error(`parallel-ssh failed: ${out.stdout}${out.stderr}`);
        const took = performance.now() - t0;
        cpuPhases(cpu0, 'this process (idle: waits for parallel-ssh)');
        return took;
      });
      psshPhases = phaseReport();
    } else if (MODES.has('pssh')) notes.push('parallel-ssh not installed (apt-get install -y pssh)');

    let ansible: number | null = null;
    if (!MODES.has('ansible')) notes.push('ansible not asked for (BENCH_FLEET_MODES)');
    else if (spawnSync('bash', ['-c', 'command -v ansible']).status === 0) {
      const inventory = path.join(work, 'inventory.ini');
      fs.writeFileSync(inventory, '[fleet]\n' + sshds.map((s, i) => `fleet${i} ansible_host=${s.host} ansible_port=${s.port} ansible_user=${users[i]!.username} ansible_ssh_private_key_file=${keyFile(i)}`).join('\n') + '\n');
      const env = {
        ...process.env,
        ANSIBLE_HOST_KEY_CHECKING: 'True',
        ANSIBLE_SSH_ARGS: `-o ControlMaster=no -o ControlPersist=no -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`,
        ANSIBLE_LOCAL_TEMP: path.join(work, 'ansible-tmp'),
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_RETRY_FILES_ENABLED: 'False',
      };
      ansible = await timed(RUNS, () => {
        const t0 = performance.now();
        const out = spawnSync('ansible', ['fleet', '-i', inventory, '-m', 'raw', '-a', 'echo hi', '-f', String(size)], { env, maxBuffer: 64 * 1024 * 1024 });
        if (out.status !== 0) throw new Error(`ansible failed: ${String(out.stdout).slice(-2000)}${out.stderr}`);
        return performance.now() - t0;
      });
    } else notes.push('ansible not installed (apt-get install -y ansible)');

    return { size, upSeconds, deployMs, deployKinds, deployBytes, direct, runner, pssh, ansible, directCounts, runnerCounts, phases: { deploy: deployPhases, direct: directPhases, runner: runnerPhases, 'parallel-ssh': psshPhases }, notes };
  } finally {
    await core?.stop().catch(() => undefined);
    for (const h of hosts) await h.destroy().catch(() => undefined);
    removeUsers(users.filter(Boolean));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const ratio = (a: number | null, b: number | null) => (a === null || b === null ? null : a / b);

async function main(): Promise<void> {
  // Tuning only: another handshake gate width than the app's (handshake-gate.ts) for this run.
  if (process.env.BENCH_FLEET_GATE) Object.assign(handshakeGate, { limit: Number(process.env.BENCH_FLEET_GATE) });
  if (process.env.BENCH_FLEET_PHASES === '1') instrument();
  console.log(`fleet: one command on every host, cold, median of ${RUNS}; runner deploy to fresh hosts, once; ${os.cpus().length} CPUs; handshake gate ${handshakeGate.limit}`);
  for (const size of SIZES) {
    const r = await fleet(size);
    console.log(`\n  ${size} namespace hosts (up in ${r.upSeconds.toFixed(1)} s)`);
    console.log(`    Cronium direct-ssh, run -> every job SUCCESS          ${ms(r.direct)}`);
    console.log(`    Cronium runner mode (deployed), run -> every SUCCESS   ${ms(r.runner)}`);
    console.log(`    reference: parallel-ssh (-p 32, its default)           ${ms(r.pssh)}`);
    console.log(`    reference: ansible -m raw, forks ${String(size).padEnd(4)}                  ${ms(r.ansible)}`);
    console.log(`    Cronium deployMany to ${size} fresh hosts -> all healthy ${ms(r.deployMs)}   (artifact: ${r.deployKinds}; ${(r.deployBytes / 1024 / 1024).toFixed(1)} MB sent in all)`);
    console.log(`    per job, direct: ${perJob(r.directCounts)}`);
    console.log(`    per job, runner: ${perJob(r.runnerCounts)}`);
    if (process.env.BENCH_FLEET_PHASES === '1') {
      for (const [mode, lines] of Object.entries(r.phases)) if (lines.length) console.log(`    phases, ${mode} (all runs, warm-up included):\n${lines.join('\n')}`);
    }
    for (const n of r.notes) console.log(`    note: ${n}`);
    const d = ratio(r.direct, r.pssh);
    const rn = ratio(r.runner, r.pssh);
    const da = ratio(r.direct, r.ansible);
    const ra = ratio(r.runner, r.ansible);
    if (da !== null) console.log(`    vs ansible: direct ${da.toFixed(2)}x${ra !== null ? `, runner ${ra.toFixed(2)}x` : ''}`);
    if (size === 40 || size === 200) {
      const row = size === 40 ? '40 hosts one command, direct, cold, vs parallel-ssh' : '200 hosts one command, direct, cold, vs parallel-ssh';
      console.log(`  TARGET ${row}: ${d === null ? 'not measured (direct not asked for or no parallel-ssh)' : `ours ${r.direct!.toFixed(0)} ms vs reference ${r.pssh!.toFixed(0)} ms = ${d.toFixed(2)}x (target <= 0.5x)`}`);
    }
    if (size === 40) {
      console.log(`  TARGET 40 hosts runner mode vs parallel-ssh: ${rn === null ? 'not measured (runner not deployed or no parallel-ssh)' : `ours ${r.runner!.toFixed(0)} ms vs reference ${r.pssh!.toFixed(0)} ms = ${rn.toFixed(2)}x (target <= 1.0x)`}`);
    }
    if (size === 200) {
      console.log(`  TARGET deploy to 200 fresh hosts: ${r.deployMs === null ? 'not measured (no deploy in this run)' : `ours ${(r.deployMs / 1000).toFixed(1)} s (${r.deployKinds}) on ${os.cpus().length} cores (target <= 60 s)`}`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
