/**
 * Runner-mode run-to-first-line benchmark (run by hand: `npm run bench` or, inside scripts/with-keyring.sh,
 * `node bench/run-ts.mjs bench/runner-first-line-bench.ts`; never in CI). Against the harness sshd on loopback and
 * the repo's built runner, with everything cached (runner deployed, payload on the server, SSH connection open), it
 * runs a one-line runner-ssh job BENCH_RUNS times (default 30) and prints, from `runEvent` to the first stdout line
 * delivered to a bus subscriber (as the renderer's log stream is): p50, p90, max. The reference, measured in the same
 * run: an exec of `echo first` on the same open SSH connection (what a direct command costs at best).
 * Needs root (the harness creates a test user and a private sshd). Cleans up everything it starts.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Core } from '../src-main/core/core';
import { EventInput } from '../src-shared/contract/events';
import { quantile, withBenchServer } from './bench-server';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const repo = process.cwd();

async function firstLine(core: Core, eventId: string): Promise<number> {
  let logId: string | null = null;
  let first = -1;
  const t0 = performance.now();
  const off = core.bus.subscribe((name, payload) => {
    if (name === 'jobs/changed') {
      const job = (payload as { job: { eventId: string; logId: string | null } }).job;
      if (job.eventId === eventId && job.logId && logId === null) {
        logId = job.logId;
        core.logs.stream.subscribe(job.logId);
      }
      return;
    }
    if (name !== 'logs/lines' || first >= 0) return;
    const p = payload as { logId: string; lines: Array<{ stream: string; text: string }> };
    if (p.logId === logId && p.lines.some((l) => l.stream === 'stdout')) first = performance.now() - t0;
  });
  try {
    const [job] = await core.jobs.runEvent({ eventId, trigger: 'manual' });
    const done = await core.jobs.waitForJob(job.id);
    if (done.status !== 'SUCCESS') throw new Error(`bench job ended ${done.status}: ${done.reason}`);
    if (done.executionMode !== undefined && done.executionMode !== 'runner-ssh') throw new Error(`bench job ran ${done.executionMode}`);
  } finally {
    off();
    if (logId) core.logs.stream.unsubscribe(logId);
  }
  if (first < 0) throw new Error('no stdout line was delivered');
  return first;
}

async function main(): Promise<void> {
  await withBenchServer('first-line-bench', repo, 19, async ({ core, serverId }) => {
    const event = await core.events.save(EventInput.parse({ name: 'first line bench', scriptType: 'bash', content: 'echo first\n', timeoutSeconds: 60, executionMode: 'runner-ssh', serverIds: [serverId] }));
    // Warm-up: deploys the runner, uploads the payload, opens the connection.
    await firstLine(core, event.id);
    await firstLine(core, event.id);
    const runner: number[] = [];
    for (let i = 0; i < RUNS; i++) runner.push(await firstLine(core, event.id));
    const conn = await core.ssh.acquire(serverId);
    const raw: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await conn.exec('echo first', {});
      raw.push(performance.now() - t0);
    }
    console.log(`runner-ssh run-to-first-line, loopback sshd, everything cached, ${RUNS} runs, ${os.cpus().length} CPUs`);
    console.log(`  runner job: runEvent -> first stdout line at a subscriber   p50 ${quantile(runner, 0.5).toFixed(1)} ms   p90 ${quantile(runner, 0.9).toFixed(1)} ms   max ${Math.max(...runner).toFixed(1)} ms`);
    console.log(`  reference: exec 'echo first' on the open SSH connection      p50 ${quantile(raw, 0.5).toFixed(1)} ms   p90 ${quantile(raw, 0.9).toFixed(1)} ms`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
