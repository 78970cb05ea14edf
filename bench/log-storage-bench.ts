/**
 * Log storage benchmark (issue 18; run by hand: `npm run bench` or `node bench/run-ts.mjs bench/log-storage-bench.ts`
 * inside scripts/with-keyring.sh; never in CI). Prints, each beside its reference measured in the same run:
 *   1. a direct-ssh job printing BENCH_TYPICAL_LINES (default 5,000,000) lines of a typical log (~200 bytes: ISO time,
 *      level, component, varied words, numbers; a million distinct lines made by awk, printed again as needed):
 *      lines/s stored, database bytes per line,
 *      and the app's peak RSS while it runs; against one row per line (bench/row-per-line-reference.ts) of the same
 *      lines, and the raw text size;
 *   2. the LogStore alone: lines/s of 1,000,000 `seq` lines appended vs the row-per-line inserts;
 *   3. a log of BENCH_BIG_LINES (default 10,000,000) lines: the viewer's jump to a line (a page of 200 lines after any
 *      sequence number), the tail, and a search for a string on one line only (a scan of every block).
 * Needs root (harness sshd, test user cronium-k199). Cleans up what it starts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createCore, type Core } from '../src-main/core/core';
import { openDatabase } from '../src-main/core/db/database';
import { EventBus } from '../src-main/core/event-bus';
import { LogStore } from '../src-main/core/logs/log-store';
import { MemorySecretStore } from '../src-main/core/secrets/memory-secret-store';
import { EventInput } from '../src-shared/contract/events';
import { startSshd, type SshdHandle } from '../tests/harness/sshd';
import { rowPerLineInserts } from './row-per-line-reference';

const TYPICAL_LINES = Number(process.env.BENCH_TYPICAL_LINES ?? 5_000_000);
const BIG_LINES = Number(process.env.BENCH_BIG_LINES ?? 10_000_000);
const USER = 199;
const ROOT = path.resolve(__dirname, '..', '..', '..');
const repo = fs.existsSync(path.join(process.cwd(), 'migrations')) ? process.cwd() : ROOT;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * The typical-log generator, the same on the server (awk) and here (typicalLine): a time, a level (mostly INFO), a
 * component, a few words drawn from a small vocabulary, a request id and numbers; about 200 bytes.
 */
const WORDS = ['request', 'completed', 'user', 'session', 'cache', 'miss', 'hit', 'queue', 'worker', 'retry', 'upstream', 'timeout', 'connection', 'pool', 'acquired', 'released', 'payload', 'parsed', 'validated', 'stored', 'index', 'shard', 'replica', 'commit', 'snapshot'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'];
const COMPONENTS = ['http', 'db', 'scheduler', 'auth', 'billing', 'search', 'mailer'];

function typicalLine(i: number): string {
  // Park-Miller (products stay below 2^53, exact in awk's doubles too) so awk and this function agree.
  let r = (i % 2147483646) + 1;
  const next = (n: number) => {
    r = (r * 16807) % 2147483647;
    return r % n;
  };
  const ms = 1_767_225_600_000 + i * 13;
  const words: string[] = [];
  for (let k = 0; k < 12; k++) words.push(WORDS[next(WORDS.length)]);
  const line: string = `${new Date(ms).toISOString()} ${LEVELS[next(LEVELS.length)]} [${COMPONENTS[next(COMPONENTS.length)]}] ${words.join(' ')} req=${(i * 7919) % 1000003} took=${next(5000)}ms bytes=${next(100000)}`;
  let padded = line;
  if (padded.length < 200) {
    while (padded.length < 200) padded += ` ${WORDS[next(WORDS.length)]}`;
    padded = padded.slice(0, 200);
  }
  return padded;
}

/** The same lines, written by awk on the server into the job's stdout. */
function typicalAwk(lines: number): string {
  const arr = (name: string, xs: string[]) => xs.map((x, k) => `${name}[${k}]="${x}"`).join('; ');
  return [
    `awk 'BEGIN {`,
    `  ${arr('W', WORDS)}; ${arr('L', LEVELS)}; ${arr('C', COMPONENTS)};`,
    `  for (i = 1; i <= ${lines}; i++) {`,
    '    r = (i % 2147483646) + 1;',
    '    ms = 1767225600000 + i * 13; s = int(ms / 1000); f = ms % 1000;',
    '    t = strftime("%Y-%m-%dT%H:%M:%S", s, 1) sprintf(".%03dZ", f);',
    '    w = ""; for (k = 0; k < 12; k++) { r = (r * 16807) % 2147483647; w = w (k ? " " : "") W[r % 25] }',
    '    r = (r * 16807) % 2147483647; lv = L[r % 8];',
    '    r = (r * 16807) % 2147483647; c = C[r % 7];',
    '    line = t " " lv " [" c "] " w " req=" ((i * 7919) % 1000003);',
    '    r = (r * 16807) % 2147483647; line = line " took=" (r % 5000) "ms";',
    '    r = (r * 16807) % 2147483647; line = line " bytes=" (r % 100000);',
    '    if (length(line) < 200) { while (length(line) < 200) { r = (r * 16807) % 2147483647; line = line " " W[r % 25] } line = substr(line, 1, 200) }',
    '    print line;',
    '  }',
    `}'`,
  ].join('\n');
}

function dbBytes(file: string): number {
  return [file, `${file}-wal`].reduce((sum, f) => sum + (fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
}

/**
 * The job's script. awk makes only ~100,000 lines/s here (it, not the app, would bound the figure): the server's awk
 * writes the first million lines to a file before the timing starts, and the job prints that file as often as needed.
 */
const UNIQUE_LINES = Math.min(TYPICAL_LINES, 1_000_000);
function typicalScript(file: string): string {
  const rounds = Math.ceil(TYPICAL_LINES / UNIQUE_LINES);
  return `for r in $(seq 1 ${rounds}); do cat ${file}; done | head -n ${TYPICAL_LINES}`;
}

async function typicalJob(core: Core, serverId: string, dbFile: string, file: string): Promise<{ ms: number; bytes: number; lines: number; rssPeakMb: number; rssBeforeMb: number }> {
  const event = await core.events.save(EventInput.parse({ name: 'typical', scriptType: 'bash', content: typicalScript(file), timeoutSeconds: 1200, executionMode: 'direct-ssh', serverIds: [serverId] }));
  core.db.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const before = dbBytes(dbFile);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
  const t0 = performance.now();
  const [job] = await core.jobs.runEvent({ eventId: event.id, trigger: 'manual' });
  const done = await core.jobs.waitForJob(job.id);
  const ms = performance.now() - t0;
  clearInterval(sampler);
  if (done.status !== 'SUCCESS') throw new Error(`typical job ended ${done.status}: ${done.reason}`);
  const log = await core.logs.store.get(done.logId!);
  core.db.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  // Spot check: the generator on the server and here agree, so the reference stores the same text.
  const sample = (await core.logs.store.lines(done.logId!, 41, 1)).lines[0];
  if (sample.text !== typicalLine(42)) throw new Error(`the server's generator differs:\n${sample.text}\n${typicalLine(42)}`);
  return { ms, bytes: dbBytes(dbFile) - before, lines: log.lineCount, rssPeakMb: rssPeak / 2 ** 20, rssBeforeMb: rssBefore / 2 ** 20 };
}

function storeAlone(dir: string, lines: number, text: (i: number) => string): { linesPerSecond: number; store: LogStore; db: ReturnType<typeof openDatabase>; logId: string } {
  const db = openDatabase(path.join(dir, 'store.sqlite'), path.join(repo, 'migrations'));
  const at = new Date().toISOString();
  db.sqlite.prepare("INSERT INTO jobs (id, status, trigger, created_at, updated_at) VALUES ('j', 'RUNNING', 'manual', ?, ?)").run(at, at);
  db.sqlite.prepare("INSERT INTO logs (id, job_id, status, created_at, updated_at) VALUES ('l', 'j', 'RUNNING', ?, ?)").run(at, at);
  const store = new LogStore(db, new EventBus());
  const t0 = performance.now();
  // As a job delivers them: chunks of ~4,000 lines sharing one time stamp.
  let ts = at;
  for (let i = 1; i <= lines; i++) {
    if (i % 4096 === 0) ts = new Date().toISOString();
    store.append('l', { seq: i, stream: 'stdout', ts, text: text(i) });
  }
  store.flushAll();
  return { linesPerSecond: (lines / (performance.now() - t0)) * 1000, store, db, logId: 'l' };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-log-bench-'));
  let sshd: SshdHandle | undefined;
  let core: Core | undefined;
  try {
    // 1. A typical log through a real direct-ssh job.
    sshd = await startSshd({ users: 1, firstUser: USER });
    const user = sshd.extraUsers[0];
    const dataDir = path.join(work, 'data');
    core = await createCore(
      { dataDir, migrationsDir: path.join(repo, 'migrations'), resourcesDir: path.join(repo, 'resources'), mode: 'serve', appVersion: 'bench', env: {} },
      { secrets: new MemorySecretStore() },
    );
    await core.start();
    const server = await core.servers.save({ name: 'bench', host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey, tags: [], maxConcurrentJobs: 4 } as never);
    await core.servers.trustHostKey(server.id, sshd.hostKeyFingerprint, false);
    const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-log-bench-lines-'));
    fs.chmodSync(shared, 0o755);
    const linesFile = path.join(shared, 'typical.log');
    spawnSync('bash', ['-c', `${typicalAwk(UNIQUE_LINES)} > ${linesFile}; chmod 644 ${linesFile}`], { stdio: 'inherit' });
    let typical;
    try {
      typical = await typicalJob(core, server.id, core.db.file, linesFile);
    } finally {
      fs.rmSync(shared, { recursive: true, force: true });
    }
    await core.stop();
    core = undefined;
    await sshd.stop();
    sshd = undefined;
    const rawTextPerLine = typicalLine(1).length + 1;
    const refTypical = rowPerLineInserts(path.join(work, 'ref-typical'), Math.min(TYPICAL_LINES, 1_000_000), typicalLine);

    // 2. The store alone vs the reference, 1,000,000 seq lines.
    const ref = rowPerLineInserts(path.join(work, 'ref-seq'), 1_000_000, String);
    const alone = storeAlone(path.join(work, 'alone'), 1_000_000, String);
    alone.store.close();
    alone.db.close();

    // 3. 10,000,000 lines: jump, tail, search.
    const big = storeAlone(path.join(work, 'big'), BIG_LINES, (i) => (i === Math.floor(BIG_LINES * 0.77) ? `the one NEEDLE line ${i}` : `line ${i} of the big log`));
    big.store.close();
    const reader = new LogStore(big.db, new EventBus());
    const jumps: Array<[string, number]> = [];
    for (const at of [1, Math.floor(BIG_LINES / 3), Math.floor(BIG_LINES * 0.9), BIG_LINES - 200]) {
      const [page, ms] = await timed(() => reader.lines(big.logId, at - 1, 200));
      if (page.lines[0]?.seq !== at) throw new Error(`jump to ${at} returned ${page.lines[0]?.seq}`);
      jumps.push([`jump to line ${fmt(at)} (200 lines)`, ms]);
    }
    const [found, searchMs] = await timed(() => reader.search(big.logId, 'needle', 100));
    if (found.seqs.length !== 1) throw new Error(`search found ${found.seqs.length} lines`);
    const bigBytes = dbBytes(big.db.file);
    big.db.close();

    console.log(`log storage, ${os.cpus().length} CPUs`);
    console.log('');
    console.log(`  1. direct-ssh job, ${fmt(typical.lines)} typical 200-byte lines (awk's million lines, cat on the server)`);
    console.log(`     stored: ${fmt((typical.lines / typical.ms) * 1000)} lines/s (${(typical.ms / 1000).toFixed(1)} s run to SUCCESS); row per line, same text: ${fmt(refTypical.linesPerSecond)} lines/s`);
    console.log(`     TARGET database bytes per line: ${(typical.bytes / typical.lines).toFixed(1)} (row per line, same lines: ${refTypical.bytesPerLine.toFixed(1)}; raw text ${rawTextPerLine}) ratio ${(typical.bytes / typical.lines / refTypical.bytesPerLine).toFixed(3)}x (target <= 60 bytes)`);
    console.log(`     TARGET app RSS during a 5M-line job (${fmt(typical.lines)} lines here): peak ${typical.rssPeakMb.toFixed(0)} MB (before ${typical.rssBeforeMb.toFixed(0)} MB) (target <= 200 MB)`);
    console.log('');
    console.log('  2. LogStore alone, 1,000,000 seq lines');
    console.log(`     blocks: ${fmt(alone.linesPerSecond)} lines/s; row per line: ${fmt(ref.linesPerSecond)} lines/s; ratio ${(alone.linesPerSecond / ref.linesPerSecond).toFixed(2)}x`);
    console.log('');
    console.log(`  3. a log of ${fmt(BIG_LINES)} lines (${(bigBytes / 2 ** 20).toFixed(0)} MB database, ${(bigBytes / BIG_LINES).toFixed(1)} bytes/line), written at ${fmt(big.linesPerSecond)} lines/s`);
    for (const [name, ms] of jumps) console.log(`     ${name.padEnd(40)} ${ms.toFixed(1).padStart(8)} ms`);
    console.log(`     ${'search, one match in the whole log'.padEnd(40)} ${searchMs.toFixed(1).padStart(8)} ms`);
  } finally {
    await core?.stop();
    await sshd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
