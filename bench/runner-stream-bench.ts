/**
 * runner-ssh streaming benchmark (run by hand: `npm run bench` or, inside scripts/with-keyring.sh,
 * `node bench/run-ts.mjs bench/runner-stream-bench.ts`; never in CI). Against the harness sshd on loopback and the
 * repo's built runner (npm run build:runner) it prints, side by side:
 *   1. lines per second of a runner job printing BENCH_LINES (default 1,000,000) lines: into the database (job start
 *      to the last line committed; the event's first run, which uploads its payload, and a second run, which finds it
 *      cached as later runs of an unchanged event do; both after a warm-up job, as on a server whose runner is
 *      deployed and whose job host runs) and delivered live to a subscribed renderer client (a bus subscriber of the log
 *      stream service, as the router's transports are);
 *   2. the reference: raw `seq` through an open SSH connection (ssh2 exec, lines counted) and raw better-sqlite3
 *      inserts of one row per line (bench/row-per-line-reference.ts, the first log schema);
 *   3. latency from a line written on the server (its own timestamp inside the line) to its arrival at the subscribed
 *      client, at a steady 1,000 lines/s for BENCH_LATENCY_SECONDS (default 10): p50, p99, max.
 * Needs root (the harness creates a test user and a private sshd). Cleans up everything it starts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Core } from '../src-main/core/core';
import { EventInput } from '../src-shared/contract/events';
import { quantile, withBenchServer } from './bench-server';
import { rowPerLineInserts } from './row-per-line-reference';

const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const ROOT = path.resolve(__dirname, '..', '..', '..');
const repo = fs.existsSync(path.join(process.cwd(), 'migrations')) ? process.cwd() : ROOT;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function benchEvent(core: Core, serverId: string, content: string, scriptType: 'bash' | 'python') {
  return core.events.save(EventInput.parse({ name: `bench ${Math.random().toString(36).slice(2, 7)}`, scriptType, content, timeoutSeconds: 600, executionMode: 'runner-ssh', serverIds: [serverId] }));
}

async function runnerJob(core: Core, event: { id: string }, onLines?: (texts: string[], at: number) => void) {
  let logId: string | null = null;
  let delivered = 0;
  let firstLineAt = 0;
  const off = core.bus.subscribe((name, payload) => {
    if (name !== 'logs/lines') return;
    const p = payload as { logId: string; lines: Array<{ stream: string; text: string }> };
    if (p.logId !== logId) return;
    const at = performance.timeOrigin + performance.now();
    const texts = p.lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
    if (firstLineAt === 0 && texts.length > 0) firstLineAt = at - performance.timeOrigin;
    delivered += texts.length;
    onLines?.(texts, at);
  });
  // Subscribe as the renderer does ('logs/subscribe') the moment the job has its log.
  const offJobs = core.bus.subscribe((name, payload) => {
    if (name !== 'jobs/changed') return;
    const job = (payload as { job: { eventId: string; logId: string | null } }).job;
    if (job.eventId === event.id && job.logId && logId === null) {
      logId = job.logId;
      core.logs.stream.subscribe(job.logId);
    }
  });
  const t0 = performance.now();
  const [job] = await core.jobs.runEvent({ eventId: event.id, trigger: 'manual' });
  const done = await core.jobs.waitForJob(job.id);
  const ms = performance.now() - t0;
  off();
  offJobs();
  if (done.status !== 'SUCCESS') throw new Error(`bench job ended ${done.status}: ${done.reason}`);
  const log = await core.logs.store.get(done.logId!);
  // The app's own 'system' lines do not count.
  const stored = core.logs.store.runnerLineCount(done.logId!);
  return { ms, stored, delivered, startedAt: log.startedAt, firstLineMs: firstLineAt - t0 };
}

async function rawSshSeq(core: Core, serverId: string): Promise<number> {
  const conn = await core.ssh.acquire(serverId);
  let lines = 0;
  const t0 = performance.now();
  await conn.exec(`seq 1 ${LINES}`, {
    onStdout: (c) => {
      for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++;
    },
  });
  const ms = performance.now() - t0;
  if (lines !== LINES) throw new Error(`raw seq delivered ${lines} lines`);
  return (LINES / ms) * 1000;
}

async function main(): Promise<void> {
  await withBenchServer('runner-bench', repo, 29, async ({ core, serverId, work }) => {
    // Warm-up: deploys the runner and uploads a payload, so the figures below are streaming only.
    await runnerJob(core, await benchEvent(core, serverId, 'echo warm\n', 'bash'));
    // The warm-up's exec start launches the server's job host; a deployed runner's jobs start through it.
    await core.jobHosts.settled();

    // The same event twice: its first run uploads its new payload to the server; the second finds it cached there, as
    // every later run of an unchanged event (a schedule, a workflow step) does.
    const seqEvent = await benchEvent(core, serverId, `seq 1 ${LINES}\n`, 'bash');
    const columnsBefore = core.runnerStreams.columnBatches;
    const first = await runnerJob(core, seqEvent);
    const columnBatches = core.runnerStreams.columnBatches - columnsBefore;
    const job = await runnerJob(core, seqEvent);
    for (const j of [first, job]) if (j.stored !== LINES) throw new Error(`the runner job stored ${j.stored} of ${LINES} lines`);
    const sshRate = await rawSshSeq(core, serverId);
    const sqliteRate = rowPerLineInserts(path.join(work, 'raw'), LINES, String).linesPerSecond;

    const latencies: number[] = [];
    const steady = [
      'import time',
      `end = time.time() + ${LATENCY_SECONDS}`,
      'i = 0',
      'start = time.time()',
      'while time.time() < end:',
      '    i += 1',
      '    print(time.time_ns() // 1000, flush=True)',
      '    delay = start + i / 1000.0 - time.time()',
      '    if delay > 0: time.sleep(delay)',
      '',
    ].join('\n');
    const lat = await runnerJob(core, await benchEvent(core, serverId, steady, 'python'), (texts, at) => {
      for (const t of texts) {
        const writtenUs = Number(t);
        if (Number.isFinite(writtenUs)) latencies.push(at - writtenUs / 1000);
      }
    });

    console.log(`runner-ssh streaming, ${fmt(LINES)} lines, loopback sshd, ${os.cpus().length} CPUs`);
    console.log('');
    console.log('  path                                              lines/s');
    const stored = (name: string, j: typeof job, note: string) => {
      console.log(`  ${name} ${fmt((LINES / j.ms) * 1000).padStart(12)}   (${(j.ms / 1000).toFixed(2)} s end to end, run to SUCCESS${note})`);
      console.log(`    of which job start (run -> first line at the client): ${(j.firstLineMs / 1000).toFixed(2)} s; streaming (first line -> last committed): ${((j.ms - j.firstLineMs) / 1000).toFixed(2)} s`);
    };
    stored('runner job -> SQLite, payload cached     ', job, '');
    stored('runner job -> SQLite, first run (upload) ', first, `; ${fmt(columnBatches)} column-wise log batches`);
    console.log(`  runner job -> subscribed client (bus)         ${fmt((job.delivered / job.ms) * 1000).padStart(12)}   (${fmt(job.delivered)} of ${fmt(LINES)} pushed live; the viewer fetches the rest of very large batches)`);
    console.log(`  raw: seq over an open SSH connection (ssh2)   ${fmt(sshRate).padStart(12)}`);
    console.log(`  raw: better-sqlite3 one row per line (10k/tx) ${fmt(sqliteRate).padStart(12)}`);
    console.log(`  TARGET lines stored per second, runner / raw one-row-per-line inserts: ${((LINES / job.ms) * 1000 / sqliteRate).toFixed(2)}x with the event's payload cached on the server, ${((LINES / first.ms) * 1000 / sqliteRate).toFixed(2)}x on its first run (target >= 2.0x)`);
    console.log('');
    console.log(`  latency, line written on the server -> client, at 1,000 lines/s for ${LATENCY_SECONDS} s (${fmt(latencies.length)} lines):`);
    console.log(`    p50 ${quantile(latencies, 0.5).toFixed(2)} ms   p99 ${quantile(latencies, 0.99).toFixed(2)} ms   max ${Math.max(...latencies).toFixed(2)} ms   (stored ${fmt(lat.stored)})`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
