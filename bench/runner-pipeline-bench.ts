/**
 * Runner output pipeline micro-benchmark (run by hand: `node bench/run-ts.mjs bench/runner-pipeline-bench.ts`; never in
 * CI). The CPU the runner's own process spends per streamed line, without SSH or the app: `seq BENCH_LINES` (default
 * 1,000,000) through JobOutput (split, mask, number), the Spool (a temporary folder) and the StreamClient's column-wise
 * `log` batches of the supervisor's default size, to a WebSocket server in a child process that only counts them. It
 * prints the process's CPU seconds per 1M lines and the wall time. RUN_TS_NODE_ARGS=--cpu-prof profiles it.
 * BENCH_SECRETS=1 gives the job two secrets (the masker's slow path). Cleans up its folder and child.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { JobOutput } from '../src-runner/job/job-output';
import { Spool } from '../src-runner/job/spool';
import { StreamClient } from '../src-runner/job/stream-client';
import type { WireLine } from '../src-shared/protocol/runner-wire';

const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECRETS = process.env.BENCH_SECRETS === '1' ? ['s3cr3t-value-1', 'another-secret-22'] : [];
const BUFFER_BYTES = 64 * 1024;
const OVERHEAD = 8;
const ROOT = path.resolve(__dirname, '..', '..', '..');
const repo = fs.existsSync(path.join(process.cwd(), 'node_modules', 'ws')) ? process.cwd() : ROOT;

/** A WebSocket server in its own process (its CPU is not ours): welcomes with columns, counts lines, acks. */
const SERVER = `
const { WebSocketServer } = require(${JSON.stringify(path.join(repo, 'node_modules', 'ws'))});
const wss = new WebSocketServer({ port: 0, maxPayload: 64 * 1024 * 1024 });
wss.on('listening', () => process.stdout.write(wss.address().port + '\\n'));
wss.on('connection', (ws) => {
  let lines = 0;
  ws.send(JSON.stringify({ type: 'welcome', resumeFrom: 0, logFormat: 'columns-v1' }));
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.type === 'log.columns') lines += m.lens.length;
    else if (m.type === 'log') lines += m.lines.length;
    if (m.type === 'done') ws.send(JSON.stringify({ type: 'ack', upTo: lines }));
    if (lines >= ${LINES}) { process.stdout.write('got ' + lines + '\\n'); }
  });
});`;

async function main(): Promise<void> {
  const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const out: string[] = [];
  let notify: (() => void) | null = null;
  server.stdout.setEncoding('utf8').on('data', (d: string) => {
    out.push(...d.split('\n').filter(Boolean));
    const waiting = notify;
    notify = null;
    waiting?.();
  });
  const next = () => new Promise<string>((resolve) => {
    const poll = () => (out.length ? resolve(out.shift()!) : (notify = poll));
    poll();
  });
  const port = Number(await next());
  const cpus: number[] = [];
  for (let run = 0; run < RUNS; run++) cpus.push(await once(port, next));
  server.kill();
  cpus.sort((a, b) => a - b);
  console.log(`runner pipeline: median of ${RUNS} jobs in one process: ${cpus[Math.floor(RUNS / 2)].toFixed(3)} CPU-s per 1M lines (min ${cpus[0].toFixed(3)}, max ${cpus[RUNS - 1].toFixed(3)})`);
}

/** One job of LINES lines; the runner process's CPU seconds per 1M lines. */
async function once(port: number, next: () => Promise<string>): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-pipeline-bench-'));
  try {
    const client = await new Promise<StreamClient>((resolve) => {
      const c: StreamClient = new StreamClient(`bench`, { port, token: 't' }, {
        onOpen: () => undefined,
        onMessage: (m) => m.type === 'welcome' && resolve(c),
        onClose: () => undefined,
        log: (t) => console.error(t),
      });
      c.start();
    });
    const spool = new Spool(path.join(dir, 'spool'));
    const output = new JobOutput(spool, SECRETS);
    // The supervisor's take/pump, reduced: lines wait in memory and leave in batches of about BUFFER_BYTES.
    let recent: WireLine[] = [];
    let pending = 0;
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      clearTimeout(timer);
      timer = undefined;
      let from = 0;
      while (from < recent.length) {
        let end = from;
        let bytes = 0;
        for (; end < recent.length; end++) {
          const length = recent[end].text.length;
          if (end > from && bytes + length > BUFFER_BYTES) break;
          bytes += length + OVERHEAD;
        }
        client.send({ type: 'log', lines: recent.slice(from, end) });
        from = end;
      }
      recent = [];
      pending = 0;
    };
    const take = (lines: WireLine[]) => {
      for (let i = 0; i < lines.length; i++) {
        recent.push(lines[i]);
        pending += lines[i].text.length + OVERHEAD;
      }
      if (pending >= BUFFER_BYTES) pump();
      else timer ??= setTimeout(pump, 5);
    };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const child = spawn('seq', [String(LINES)], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', (c: Buffer) => take(output.push('stdout', c)));
    await new Promise<void>((resolve) => child.on('close', () => resolve()));
    take(output.end());
    pump();
    spool.sync();
    const got = await next();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    client.stop();
    spool.close();
    console.log(`  ${LINES.toLocaleString('en-US')} lines (${SECRETS.length} secrets), ${got}: wall ${(ms / 1000).toFixed(3)} s; runner process CPU ${cpuS.toFixed(3)} s (user ${(cpu.user / 1e6).toFixed(3)}, system ${(cpu.system / 1e6).toFixed(3)}); ${(cpuS * 1e6 / LINES).toFixed(3)} CPU-s per 1M lines`);
    return (cpuS * 1e6) / LINES;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
