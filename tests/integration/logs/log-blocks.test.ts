// Issue 18 item 1: log lines in compressed blocks on a real SQLite file. An exact round trip of 1,000,000 lines (control
// bytes, replacement characters, lone surrogates, astral characters, lines of hundreds of KB, odd timestamps), range
// reads across block edges, the open block readable live and after a restart, search, retention of whole blocks (age,
// total size, per event), and the 0009 migration of a database written by the 0004 schema.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { BLOCK_MAX_LINES, LogStore } from '../../../src-main/core/logs/log-store';
import { LogRetention, retentionPolicy } from '../../../src-main/core/logs/log-retention';
import type { LogRetentionSettings } from '../../../src-shared/contract/settings';
import type { LogLine } from '../../../src-shared/contract/logs';
import { ManualClock } from '../../harness/manual-clock';
import { MIGRATIONS_DIR } from '../../harness/test-core';

let dir: string;
let db: AppDatabase;
let clock: ManualClock;
let store: LogStore;

const T0 = Date.parse('2026-03-01T10:00:00.000Z');

async function newLog(jobId: string, eventId: string | null = null): Promise<string> {
  const at = new Date(clock.now()).toISOString();
  db.sqlite.prepare("INSERT INTO jobs (id, status, trigger, created_at, updated_at) VALUES (?, 'RUNNING', 'manual', ?, ?)").run(jobId, at, at);
  return store.create({ jobId, eventId, serverId: null });
}

/** Line `seq` of a deterministic log that mixes ordinary text with everything a byte stream or a runner can send. */
function sampleLine(seq: number): LogLine {
  const stream = seq % 97 === 0 ? 'stderr' : seq % 1009 === 0 ? 'system' : 'stdout';
  const ts = seq % 50_000 === 7 ? `not-an-iso-time ${seq}` : new Date(T0 + Math.floor(seq / 300) * 7).toISOString();
  let text: string;
  if (seq % 250_000 === 3) text = `long ${seq} ` + 'x0123456789abcdef'.repeat(40_000); // ~680 KB
  else if (seq % 10_007 === 0) text = `binary ${seq} \u0000\u0001\u0002\u001b[31m\u007f\u0080\u00ff\uFFFD\r\t\v\f`;
  else if (seq % 20_011 === 0) text = `lone surrogate ${seq} \uD800 and \uDC00`;
  else if (seq % 3_001 === 0) text = `astral ${seq} 😀𝄞 café Ünïcødé İ`;
  else if (seq % 1_013 === 0) text = '';
  else text = `2026-03-01 10:00:${String(seq % 60).padStart(2, '0')} INFO worker-${seq % 13} processed item ${seq} in ${seq % 977} ms`;
  return { seq, stream, ts, text };
}

function hashLine(h: crypto.Hash, l: LogLine): void {
  h.update(`${l.seq}\u0000${l.stream}\u0000${l.ts}\u0000`);
  h.update(l.text, 'utf16le');
  h.update('\u0000\n');
}

async function readAll(logId: string, page = 20_000): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for (let after = 0; ; ) {
    const { lines } = await store.lines(logId, after, page);
    if (lines.length === 0) return out;
    out.push(...lines);
    after = lines[lines.length - 1].seq;
  }
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-log-blocks-'));
  clock = new ManualClock(T0);
  db = openDatabase(path.join(dir, 'db.sqlite'), MIGRATIONS_DIR, clock);
  store = new LogStore(db, new EventBus(), clock);
});

afterEach(() => {
  store.close();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('log blocks', () => {
  describe('when a log of 1,000,000 lines is written and read back', () => {
    it('returns every line exactly, in compressed blocks far fewer than the lines', async () => {
      const logId = await newLog('job-million');
      const expected = crypto.createHash('sha256');
      for (let seq = 1; seq <= 1_000_000; seq++) {
        const l = sampleLine(seq);
        hashLine(expected, l);
        store.append(logId, l);
      }
      await store.setStatus(logId, 'RUNNING');
      await store.setStatus(logId, 'SUCCESS');

      const got = crypto.createHash('sha256');
      let count = 0;
      let inOrder = true;
      for (let after = 0; ; ) {
        const { lines, lastSequence } = await store.lines(logId, after, 20_000);
        expect(lastSequence).toBe(1_000_000);
        if (lines.length === 0) break;
        for (const l of lines) {
          if (l.seq !== ++count) inOrder = false;
          hashLine(got, l);
        }
        after = lines[lines.length - 1].seq;
      }
      expect(count).toBe(1_000_000);
      expect(inOrder).toBe(true);
      expect(got.digest('hex')).toBe(expected.digest('hex'));

      const rows = db.sqlite.prepare('SELECT count(*) AS n, sum(sealed) AS sealed, sum(line_count) AS lines, max(line_count) AS widest FROM log_blocks WHERE log_id = ?').get(logId) as Record<string, number>;
      expect(rows.lines).toBe(1_000_000);
      expect(rows.sealed).toBe(rows.n); // a finished log keeps no open chunk
      expect(rows.widest).toBeLessThanOrEqual(BLOCK_MAX_LINES);
      expect(rows.n).toBeLessThan(1_000_000 / 100);
      const view = await store.get(logId);
      expect(view.lineCount).toBe(1_000_000);
      expect(store.runnerLineCount(logId)).toBe(1_000_000 - Math.floor(1_000_000 / 1009) + Math.floor(1_000_000 / (1009 * 97)));
    });
  });

  describe('when a reader asks for ranges', () => {
    it('starts after any sequence number, across block edges and gaps, up to the limit', async () => {
      const logId = await newLog('job-range');
      // Sequence numbers with gaps (a runner's), so ranges cannot be computed from line positions.
      const seqs: number[] = [];
      for (let i = 1, seq = 0; i <= 10_000; i++) seqs.push((seq += i % 10 === 0 ? 5 : 1));
      for (const seq of seqs) store.append(logId, { seq, stream: 'stdout', ts: new Date(T0).toISOString(), text: `line ${seq}` });
      await store.setStatus(logId, 'RUNNING');
      await store.setStatus(logId, 'SUCCESS');
      for (const at of [0, 1, BLOCK_MAX_LINES - 2, BLOCK_MAX_LINES, 5_000, 9_990, 9_999]) {
        const after = at === 0 ? 0 : seqs[at - 1];
        const { lines } = await store.lines(logId, after, 25);
        expect(lines.map((l) => l.seq)).toEqual(seqs.slice(at, at + 25));
        expect(lines.every((l) => l.text === `line ${l.seq}`)).toBe(true);
      }
      // An afterSeq that falls inside a gap.
      const inGap = seqs[4_999] + 2;
      expect((await store.lines(logId, inGap, 1)).lines[0].seq).toBe(seqs.find((s) => s > inGap));
      expect((await store.lines(logId, seqs[seqs.length - 1], 10)).lines).toEqual([]);
    });

    it('reads the open block live, seals it without a duplicate, and continues it after a restart', async () => {
      const logId = await newLog('job-live');
      // Short texts: the block seals at BLOCK_MAX_LINES lines, well before BLOCK_MAX_CHARS characters.
      const line = (seq: number): LogLine => ({ seq, stream: 'stdout', ts: new Date(T0).toISOString(), text: `l${seq}` });
      for (let seq = 1; seq <= 10; seq++) store.append(logId, line(seq));
      expect((await store.lines(logId, 0, 100)).lines.map((l) => l.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      const chunks = () => (db.sqlite.prepare('SELECT count(*) AS n FROM log_blocks WHERE log_id = ? AND sealed = 0').get(logId) as { n: number }).n;
      expect(chunks()).toBe(1);
      // More lines than a block: the first block seals and replaces the chunk rows written so far.
      for (let seq = 11; seq <= BLOCK_MAX_LINES + 5; seq++) {
        store.append(logId, line(seq));
        if (seq % 500 === 0) expect((await store.lines(logId, seq - 1, 5)).lines.map((l) => l.seq)).toEqual([seq]);
      }
      store.flushAll(logId);
      expect(chunks()).toBe(1);
      expect((await readAll(logId, 333)).map((l) => l.seq)).toEqual(Array.from({ length: BLOCK_MAX_LINES + 5 }, (_, i) => i + 1));
      expect((await store.search(logId, 'L2052', 10)).seqs).toEqual([2052]);

      // The app stops without sealing (a crash keeps chunk rows): a new store continues the same open block.
      const again = new LogStore(db, new EventBus(), clock);
      expect(again.lastSequence(logId)).toBe(BLOCK_MAX_LINES + 5);
      for (let seq = BLOCK_MAX_LINES + 6; seq <= 2 * BLOCK_MAX_LINES + 1; seq++) again.append(logId, line(seq));
      await again.setStatus(logId, 'RUNNING');
      await again.setStatus(logId, 'SUCCESS');
      expect(chunks()).toBe(0);
      const all = await readAll(logId);
      expect(all.map((l) => l.seq)).toEqual(Array.from({ length: 2 * BLOCK_MAX_LINES + 1 }, (_, i) => i + 1));
      expect((await again.get(logId)).lineCount).toBe(2 * BLOCK_MAX_LINES + 1);
      const firstLines = db.sqlite.prepare('SELECT first_line, line_count FROM log_blocks WHERE log_id = ? ORDER BY first_seq').all(logId) as Array<{ first_line: number; line_count: number }>;
      let before = 0;
      for (const b of firstLines) {
        expect(b.first_line).toBe(before);
        before += b.line_count;
      }
      again.close();
    });
  });

  describe('when the viewer searches', () => {
    it('finds lines case-insensitively in sealed blocks and the open block, in order, up to the limit', async () => {
      const logId = await newLog('job-search');
      for (let seq = 1; seq <= 5_000; seq++) {
        const text = seq % 1_000 === 0 ? `Found the NEEDLE at ${seq}` : seq === 4_999 ? 'needle' : seq === 17 ? 'nee' : seq === 18 ? 'dle' : `hay ${seq}`;
        store.append(logId, { seq, stream: 'stdout', ts: new Date(T0).toISOString(), text });
      }
      // Sealed blocks plus an open chunk.
      expect(await store.search(logId, 'needle', 100)).toEqual({ seqs: [1000, 2000, 3000, 4000, 4999, 5000], truncated: false });
      expect(await store.search(logId, 'NeEdLe', 2)).toEqual({ seqs: [1000, 2000], truncated: true });
      // A match may not span two lines.
      expect((await store.search(logId, 'needle', 100)).seqs).not.toContain(17);
      expect(await store.search(logId, 'e\nd', 10)).toEqual({ seqs: [], truncated: false });
      expect(await store.search(logId, 'ÄÖ', 10)).toEqual({ seqs: [], truncated: false });
    });
  });

  describe('when retention runs', () => {
    async function writeLog(jobId: string, eventId: string | null, lines: number): Promise<string> {
      const logId = await newLog(jobId, eventId);
      for (let seq = 1; seq <= lines; seq++) store.append(logId, { seq, stream: 'stdout', ts: new Date(clock.now()).toISOString(), text: `${jobId} ${crypto.createHash('md5').update(String(seq)).digest('hex')}` });
      await store.setStatus(logId, 'RUNNING');
      await store.setStatus(logId, 'SUCCESS');
      return logId;
    }
    const blocks = (logId: string) => (db.sqlite.prepare('SELECT count(*) AS n FROM log_blocks WHERE log_id = ?').get(logId) as { n: number }).n;

    it('removes whole blocks older than the days limit, with an event allowed to keep its own longer', async () => {
      db.sqlite.prepare("INSERT INTO events (id, name, script_type, content, created_at, updated_at) VALUES ('ev-keep', 'keep', 'bash', 'true', ?, ?)").run('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
      const old = await writeLog('old', null, 5_000);
      const oldKept = await writeLog('old-kept', 'ev-keep', 5_000);
      await clock.advance(10 * 86_400_000);
      const fresh = await writeLog('fresh', null, 5_000);
      // A log still being written is never touched.
      const busy = await newLog('busy');
      store.append(busy, { seq: 1, stream: 'stdout', ts: new Date(clock.now()).toISOString(), text: 'still running' });
      store.flushAll(busy);
      db.sqlite.prepare('UPDATE log_blocks SET created_at = ? WHERE log_id = ?').run('2026-01-01T00:00:00.000Z', busy);

      const removed = store.applyRetention({ maxAgeDays: 7, maxTotalBytes: null, perEvent: { 'ev-keep': { maxAgeDays: 30 } } });
      expect(blocks(old)).toBe(0);
      expect(blocks(oldKept)).toBeGreaterThan(0);
      expect(blocks(fresh)).toBeGreaterThan(0);
      expect(blocks(busy)).toBe(1);
      expect(removed.blocks).toBeGreaterThan(1);
      expect((await store.lines(old, 0, 10)).lines).toEqual([]);
      expect((await store.lines(fresh, 0, 1)).lines[0].text).toMatch(/^fresh /);
    });

    it('follows the logs settings through LogRetention: 0 means no limit, an event may have its own', async () => {
      const old = await writeLog('settings-old', null, 3_000);
      await clock.advance(3 * 86_400_000);
      const settings: LogRetentionSettings = { retentionDays: 0, maxTotalMb: 0, perEvent: {} };
      const retention = new LogRetention(store, () => settings, clock);
      expect(retention.runOnce()).toEqual({ blocks: 0, bytes: 0 });
      expect(retentionPolicy({ retentionDays: 2, maxTotalMb: 5, perEvent: { e: { retentionDays: 0 } } })).toEqual({
        maxAgeDays: 2, maxTotalBytes: 5 * 1024 * 1024, perEvent: { e: { maxAgeDays: null } },
      });
      settings.retentionDays = 2;
      expect(retention.runOnce().blocks).toBeGreaterThan(0);
      expect(blocks(old)).toBe(0);
    });

    it('removes the oldest blocks until the total size fits, whole blocks only', async () => {
      const first = await writeLog('first', null, 20_000);
      await clock.advance(60_000);
      const second = await writeLog('second', null, 20_000);
      const total = store.storedBytes();
      const secondBytes = (db.sqlite.prepare('SELECT sum(stored_bytes) AS b FROM log_blocks WHERE log_id = ?').get(second) as { b: number }).b;
      const limit = secondBytes + Math.floor((total - secondBytes) / 2);
      const removed = store.applyRetention({ maxAgeDays: null, maxTotalBytes: limit });
      expect(store.storedBytes()).toBeLessThanOrEqual(limit);
      expect(total - removed.bytes).toBe(store.storedBytes());
      expect(blocks(second)).toBeGreaterThan(0);
      expect(blocks(first)).toBeGreaterThan(0);
      // What is left of the first log starts at a block edge and runs to its end.
      const left = await readAll(first);
      expect(left[left.length - 1].seq).toBe(20_000);
      const firstLeft = db.sqlite.prepare('SELECT min(first_seq) AS s FROM log_blocks WHERE log_id = ?').get(first) as { s: number };
      expect(left[0].seq).toBe(firstLeft.s);
      expect(left.length).toBe(20_000 - firstLeft.s + 1);
    });
  });
});

describe('the 0009 migration', () => {
  it('converts the lines of a database written with the 0004 schema into blocks, exactly', async () => {
    const oldDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-old-migrations-'));
    const file = path.join(dir, 'old.sqlite');
    try {
      for (const f of fs.readdirSync(MIGRATIONS_DIR).filter((n) => /^000[1-4]_/.test(n))) fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(oldDir, f));
      const old = openDatabase(file, oldDir);
      const at = '2026-02-01T00:00:00.000Z';
      const expected = new Map<string, LogLine[]>();
      old.sqlite.prepare("INSERT INTO jobs (id, status, trigger, created_at, updated_at) VALUES ('job-old', 'SUCCESS', 'manual', ?, ?)").run(at, at);
      const insertLine = old.sqlite.prepare('INSERT INTO log_lines (log_id, seq, stream, ts, text) VALUES (?, ?, ?, ?, ?)');
      for (const [logId, count] of [['log-a', 7_000], ['log-b', 3], ['log-empty', 0]] as const) {
        old.sqlite
          .prepare("INSERT INTO logs (id, job_id, status, line_count, last_sequence, byte_count, created_at, updated_at) VALUES (?, 'job-old', 'SUCCESS', ?, ?, 0, ?, ?)")
          .run(logId, count, count, at, at);
        const lines: LogLine[] = [];
        for (let seq = 1; seq <= count; seq++) {
          const l = sampleLine(seq * 3 + (logId === 'log-b' ? 250_000 : 0)); // long lines, binary-ish ones, stderr
          const line = { ...l, seq, text: l.text.replace(/[\uD800-\uDFFF]/g, '?') }; // SQLite TEXT holds UTF-8 only
          lines.push(line);
        }
        // Inserted out of order: the migration must sort.
        for (const l of [...lines].reverse()) insertLine.run(logId, l.seq, l.stream, l.ts, l.text);
        expected.set(logId, lines);
      }
      old.close();

      db.close();
      db = openDatabase(file, MIGRATIONS_DIR, clock);
      store = new LogStore(db, new EventBus(), clock);
      const tables = (db.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
      expect(tables).toContain('log_blocks');
      expect(tables).not.toContain('log_lines');
      const applied = (db.sqlite.prepare('SELECT name FROM migrations ORDER BY name').all() as Array<{ name: string }>).map((m) => m.name);
      expect(applied).toContain('0009_log_blocks.sql');
      {
        for (const [logId, lines] of expected) {
          expect(await readAll(logId)).toEqual(lines);
          const rows = db.sqlite.prepare('SELECT first_seq, last_seq, line_count, first_line, byte_count, sealed FROM log_blocks WHERE log_id = ? ORDER BY first_seq').all(logId) as Array<Record<string, number>>;
          let before = 0;
          for (const r of rows) {
            expect(r.sealed).toBe(1);
            expect(r.line_count).toBeLessThanOrEqual(BLOCK_MAX_LINES);
            expect(r.first_line).toBe(before);
            before += r.line_count;
          }
          expect(before).toBe(lines.length);
        }
        // A long line (~680 KB) cuts its block short: no block holds it together with more than 64 KB of others.
        expect((db.sqlite.prepare("SELECT count(*) AS n FROM log_blocks WHERE log_id = 'log-a'").get() as { n: number }).n).toBeGreaterThan(4);
        expect(await store.search('log-a', 'BINARY', 1000)).toEqual({
          seqs: expected.get('log-a')!.filter((l) => l.text.toLowerCase().includes('binary')).map((l) => l.seq),
          truncated: false,
        });
      }
    } finally {
      fs.rmSync(oldDir, { recursive: true, force: true });
    }
  });
});
