/**
 * Scheduler cost with 10,000 scheduled events on the real clock: CPU while idle and while firing, memory, and how
 * late fires are (p50/p99 of actual - scheduled), side by side with a naive reference (one setTimeout per event,
 * re-armed with croner after each fire, no persistence). Each side runs in its own child process so memory figures
 * do not mix. Bounded: BENCH_SECONDS (default 25) of firing plus BENCH_IDLE_SECONDS (default 8) idle, per side, each
 * after set-up and a 2 s warm-up (set-up time is printed on its own).
 * Run: node bench/run-ts.mjs bench/scheduler-bench.ts
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cron } from 'croner';
import type { ScheduleSpec } from '../src-shared/contract/schedule';
import { openDatabase } from '../src-main/core/db/database';
import { systemClock } from '../src-main/core/clock';
import { SqliteFireStore } from '../src-main/core/scheduler/fire-store';
import { Scheduler, type FireTargets } from '../src-main/core/scheduler/scheduler';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const BUSY_SECONDS = Number(process.env.BENCH_SECONDS ?? 25);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 8);
const ZONE = 'Europe/Berlin';
const MIGRATIONS = path.resolve(__dirname, '..', '..', '..', 'migrations');

interface PhaseResult {
  setupMs: number;
  cpuPercent: number;
  rssMiB: number;
  heapMiB: number;
  fires: number;
  p50: number;
  p99: number;
  max: number;
}

/** Half once a minute at a fixed second (cron with seconds), half intervals of 60..119 s: about 10,000 fires a minute. */
function busySpecs(): ScheduleSpec[] {
  return Array.from({ length: EVENTS }, (_, i): ScheduleSpec =>
    i % 2 === 0 ? { kind: 'cron', expression: `${(i * 7) % 60} * * * * *` } : { kind: 'interval', everySeconds: 60 + (i % 60) },
  );
}
/** Schedules that do not fire during the idle window (a daily time 12 h away). */
function idleSpecs(): ScheduleSpec[] {
  const hour = (new Date().getUTCHours() + 12) % 24;
  return Array.from({ length: EVENTS }, (_, i): ScheduleSpec => ({ kind: 'cron', expression: `${i % 60} ${i % 60} ${hour} * * *` }));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Steady state only: the first WARMUP_MS after set-up (fires computed while 10,000 schedules were loading) are dropped. */
const WARMUP_MS = 2000;

async function measure(seconds: number, lateness: number[]): Promise<Omit<PhaseResult, 'setupMs'>> {
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  lateness.length = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mem = process.memoryUsage();
  const sorted = [...lateness].sort((a, b) => a - b);
  return {
    cpuPercent: ((cpu.user + cpu.system) / wallUs) * 100,
    rssMiB: mem.rss / 2 ** 20,
    heapMiB: mem.heapUsed / 2 ** 20,
    fires: lateness.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

async function runScheduler(specs: ScheduleSpec[], seconds: number): Promise<PhaseResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-bench-'));
  const db = openDatabase(path.join(dir, 'bench.sqlite'), MIGRATIONS);
  const lateness: number[] = [];
  const scheduler = new Scheduler({ clock: systemClock, store: new SqliteFireStore(db) });
  const targets: FireTargets = {
    dispatch: async (fire) => {
      lateness.push(Date.now() - fire.scheduledFor.getTime());
      return { jobIds: [] };
    },
    isRunning: () => false,
  };
  const t0 = performance.now();
  specs.forEach((spec, i) =>
    scheduler.upsert({ kind: 'event', id: `ev-${i}`, spec, timeZone: ZONE, misfirePolicy: 'skip', overlapPolicy: 'allow', enabled: true }),
  );
  await scheduler.start(targets);
  const setupMs = performance.now() - t0;
  // The scheduler's timer is unref'd (it must not keep the app alive); measure() keeps this process up.
  const result = await measure(seconds, lateness);
  await scheduler.stop();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { setupMs, ...result };
}

/** The reference: what one would write first. One timer per event, no persistence, no misfire or overlap handling. */
async function runNaive(specs: ScheduleSpec[], seconds: number): Promise<PhaseResult> {
  const lateness: number[] = [];
  const timers: NodeJS.Timeout[] = [];
  const t0 = performance.now();
  specs.forEach((spec, i) => {
    const nextAfter =
      spec.kind === 'cron'
        ? ((cron) => (t: number) => cron.nextRun(new Date(t))!.getTime())(new Cron(spec.expression, { timezone: ZONE, paused: true }))
        : ((periodMs) => (t: number) => (Math.floor(t / periodMs) + 1) * periodMs)(spec.everySeconds * 1000);
    const arm = (after: number) => {
      const at = nextAfter(after);
      timers[i] = setTimeout(() => {
        lateness.push(Date.now() - at);
        arm(at);
      }, at - Date.now());
    };
    arm(Date.now());
  });
  const setupMs = performance.now() - t0;
  const result = await measure(seconds, lateness);
  timers.forEach((t) => clearTimeout(t));
  return { setupMs, ...result };
}

async function child(side: string, phase: string): Promise<void> {
  const specs = phase === 'idle' ? idleSpecs() : busySpecs();
  const seconds = phase === 'idle' ? IDLE_SECONDS : BUSY_SECONDS;
  const result = side === 'scheduler' ? await runScheduler(specs, seconds) : await runNaive(specs, seconds);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function runChild(side: string, phase: string): PhaseResult {
  const run = spawnSync(process.execPath, [__filename, '--child', side, phase], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`bench child ${side}/${phase} failed (exit ${run.status}): ${run.stdout}`);
  return JSON.parse(line.slice(7)) as PhaseResult;
}

function main(): void {
  console.log(`scheduler bench: ${EVENTS} events (zone ${ZONE}), ${IDLE_SECONDS} s idle + ${BUSY_SECONDS} s firing per side; node ${process.version}, ${os.cpus().length} cpus, load ${os.loadavg()[0].toFixed(2)}`);
  const rows: Array<[string, PhaseResult, PhaseResult]> = [];
  for (const phase of ['idle', 'busy']) {
    rows.push([phase, runChild('scheduler', phase), runChild('naive', phase)]);
  }
  const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log('');
  console.log('phase | side                           | setup ms | cpu %  | rss MiB | heap MiB | fires  | late p50 ms | late p99 ms | late max ms');
  console.log('------|--------------------------------|----------|--------|---------|----------|--------|-------------|-------------|------------');
  for (const [phase, s, n] of rows) {
    for (const [name, r] of [['Scheduler (heap, SQLite claims)', s], ['naive setTimeout per event', n]] as const) {
      console.log(
        `${phase.padEnd(5)} | ${name.padEnd(30)} | ${fmt(r.setupMs, 0).padStart(8)} | ${fmt(r.cpuPercent, 2).padStart(6)} | ${fmt(r.rssMiB).padStart(7)} | ${fmt(r.heapMiB).padStart(8)} | ${String(r.fires).padStart(6)} | ${fmt(r.p50).padStart(11)} | ${fmt(r.p99).padStart(11)} | ${fmt(r.max).padStart(10)}`,
      );
    }
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  child(argv[1], argv[2]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main();
}
