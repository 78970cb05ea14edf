// LogStore.appendBatch (the runner path's batches) on a real SQLite file: it leaves exactly what append() line by line
// leaves (lines, counters, the partial_output tail, also around lines appended one by one and lines longer than the
// tail), refuses a batch out of order as a whole, and keeps the tail whole across a flood and a re-attach.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { LogStore, PARTIAL_TAIL_CHARS } from '../../../src-main/core/logs/log-store';
import type { LogLine } from '../../../src-shared/contract/logs';
import { MIGRATIONS_DIR } from '../../harness/test-core';

let dir: string;
let db: AppDatabase;
let store: LogStore;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-store-batch-'));
  db = openDatabase(path.join(dir, 'db.sqlite'), MIGRATIONS_DIR);
  const now = new Date().toISOString();
  await db.kysely.insertInto('jobs').values({ id: 'job-1', status: 'RUNNING', created_at: now, updated_at: now } as never).execute();
  store = new LogStore(db, new EventBus());
});

afterEach(() => {
  store.close();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const ts = '2026-01-02T03:04:05.678Z';
/** A deterministic mix of short lines, lines of a few KB and a few longer than the whole tail. */
function text(i: number): string {
  if (i % 997 === 0) return `big ${i} `.padEnd(PARTIAL_TAIL_CHARS + 100, 'x');
  if (i % 89 === 0) return `mid ${i} `.padEnd(3000 + (i % 7) * 500, 'y');
  return `line ${i}`;
}

async function snapshot(logId: string) {
  store.flushAll(logId);
  const row = db.sqlite.prepare('SELECT line_count, last_sequence, byte_count, partial_output FROM logs WHERE id = ?').get(logId);
  const lines = (await store.lines(logId, 0, 1_000_000)).lines;
  return { row, lines };
}

describe('LogStore.appendBatch', () => {
  it('stores what append() line by line stores, counters and partial_output tail included', async () => {
    const one = await store.create({ jobId: 'job-1', eventId: null, serverId: null });
    const batched = await store.create({ jobId: 'job-1', eventId: null, serverId: null });
    // Batches of varying sizes, with single system lines between some of them (as the app's own lines come).
    let seq = 0;
    const sizes = [1, 5, 3000, 40, 25_000, 2, 700, 9000, 1, 1, 12_000];
    for (const [k, size] of sizes.entries()) {
      const batch: LogLine[] = Array.from({ length: size }, () => ({ seq: ++seq, stream: 'stdout' as const, ts, text: text(seq) }));
      for (const l of batch) store.append(one, { ...l });
      store.appendBatch(batched, batch);
      if (k % 3 === 1) {
        const sys = { seq: ++seq, stream: 'system' as const, ts, text: `system ${seq}` };
        store.append(one, { ...sys });
        store.append(batched, sys);
      }
      // The tails must agree after every step, not just at the end.
      const [a, b] = [await snapshot(one), await snapshot(batched)];
      expect(b.row).toEqual(a.row);
    }
    const [a, b] = [await snapshot(one), await snapshot(batched)];
    expect(b.lines).toEqual(a.lines);
    expect(b.lines).toHaveLength(seq);
    expect((b.row as { partial_output: string }).partial_output.length).toBeLessThanOrEqual(PARTIAL_TAIL_CHARS);
  });

  it('keeps a single line longer than the tail as the whole tail', async () => {
    const logId = await store.create({ jobId: 'job-1', eventId: null, serverId: null });
    const long = 'z'.repeat(PARTIAL_TAIL_CHARS * 2);
    store.appendBatch(logId, [{ seq: 1, stream: 'stdout', ts, text: 'first' }, { seq: 2, stream: 'stdout', ts, text: long }]);
    expect(((await snapshot(logId)).row as { partial_output: string }).partial_output).toBe(long);
  });

  it('writes the tail with the flushes that leave nothing unwritten; after a crash, a log re-attached or ended takes it from its stored lines', async () => {
    const logId = await store.create({ jobId: 'job-1', eventId: null, serverId: null });
    const line = (seq: number): LogLine => ({ seq, stream: 'stdout', ts, text: `line ${seq} ${'w'.repeat(seq % 13)}` });
    store.appendBatch(logId, Array.from({ length: 100 }, (_, i) => line(i + 1)));
    store.flushAll(logId);
    // A flood: the backpressure flush writes the full blocks and the counters, not the tail.
    store.appendBatch(logId, Array.from({ length: 25_000 }, (_, i) => line(i + 101)));
    const counted = db.sqlite.prepare('SELECT line_count, last_sequence, partial_output FROM logs WHERE id = ?').get(logId) as { line_count: number; last_sequence: number; partial_output: string };
    expect(counted.last_sequence).toBeGreaterThan(100);
    expect(counted.last_sequence).toBeLessThan(25_100);
    expect(counted.line_count).toBe(counted.last_sequence);
    expect(counted.partial_output.endsWith(line(100).text)).toBe(true);

    // The app stops here (a copy of the database files as they are). The next run either re-attaches to the log (a
    // runner comes back) or ends it (the restart's reconciliation): either way the tail has no lines missing.
    const afterStop = (name: string) => {
      const copy = path.join(dir, name);
      fs.mkdirSync(copy);
      for (const f of ['db.sqlite', 'db.sqlite-wal']) if (fs.existsSync(path.join(dir, f))) fs.copyFileSync(path.join(dir, f), path.join(copy, f));
      const db2 = openDatabase(path.join(copy, 'db.sqlite'), MIGRATIONS_DIR);
      return { db2, store2: new LogStore(db2, new EventBus()) };
    };
    /** The newest of lines 1..last within the tail's size, as partial_output holds them. */
    const expectedTail = (last: number) => {
      const texts = Array.from({ length: last }, (_, i) => line(i + 1).text);
      let from = texts.length - 1;
      let chars = texts[from].length + 1;
      while (from > 0 && chars + texts[from - 1].length + 1 <= PARTIAL_TAIL_CHARS) chars += texts[--from].length + 1;
      return texts.slice(from).join('\n');
    };
    const tailIn = (db2: AppDatabase) => (db2.sqlite.prepare('SELECT partial_output FROM logs WHERE id = ?').get(logId) as { partial_output: string }).partial_output;

    const reattached = afterStop('reattached');
    try {
      reattached.store2.appendBatch(logId, [line(counted.last_sequence + 1)]);
      reattached.store2.flushAll(logId);
      expect(tailIn(reattached.db2)).toBe(expectedTail(counted.last_sequence + 1));
    } finally {
      reattached.store2.close();
      reattached.db2.close();
    }
    const ended = afterStop('ended');
    try {
      await ended.store2.setStatus(logId, 'PARTIAL');
      expect(tailIn(ended.db2)).toBe(expectedTail(counted.last_sequence));
      expect(ended.store2.openLogCount).toBe(0);
    } finally {
      ended.store2.close();
      ended.db2.close();
    }
  });

  it('refuses a batch whose lines are out of order, taking none of it', async () => {
    const logId = await store.create({ jobId: 'job-1', eventId: null, serverId: null });
    store.appendBatch(logId, [{ seq: 1, stream: 'stdout', ts, text: 'a' }]);
    expect(() => store.appendBatch(logId, [{ seq: 2, stream: 'stdout', ts, text: 'b' }, { seq: 2, stream: 'stdout', ts, text: 'c' }])).toThrow(/in order/);
    expect(() => store.appendBatch(logId, [{ seq: 1, stream: 'stdout', ts, text: 'again' }])).toThrow(/in order/);
    expect(store.lastSequence(logId)).toBe(1);
    expect((await snapshot(logId)).lines.map((l) => l.text)).toEqual(['a']);
  });
});
