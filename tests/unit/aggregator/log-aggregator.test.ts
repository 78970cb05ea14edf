// The LogAggregator on a real LogStore (SQLite file): runner lines taken exactly once and in order around the app's
// own system lines, duplicates dropped, a gap refused until replayed, and acknowledgements only for committed lines.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { LogStore } from '../../../src-main/core/logs/log-store';
import { LogSinkImpl } from '../../../src-main/core/logs/log-sink';
import { LogAggregator } from '../../../src-main/core/logs/log-aggregator';
import { createMetrics, type Metrics } from '../../../src-main/core/metrics/metrics';
import type { WireLine } from '../../../src-shared/protocol/runner-wire';
import { MIGRATIONS_DIR } from '../../harness/test-core';

let dir: string;
let db: AppDatabase;
let store: LogStore;
let sink: LogSinkImpl;
let metrics: Metrics;

const ts = new Date().toISOString();
const lines = (from: number, to: number): WireLine[] => Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, stream: 'stdout', ts, text: `line ${from + i}` }));

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-aggregator-'));
  db = openDatabase(path.join(dir, 'db.sqlite'), MIGRATIONS_DIR);
  const now = new Date().toISOString();
  await db.kysely.insertInto('jobs').values({ id: 'job-1', status: 'RUNNING', created_at: now, updated_at: now } as never).execute();
  store = new LogStore(db, new EventBus());
  const logId = await store.create({ jobId: 'job-1', eventId: null, serverId: null });
  sink = new LogSinkImpl(logId, store, ['s3cret']);
  metrics = createMetrics();
});

afterEach(() => {
  store.close();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function stored() {
  return (await store.lines(sink.logId, 0, 100_000)).lines;
}

describe('LogAggregator', () => {
  describe('when batches arrive in order, with duplicates from a replay', () => {
    it('stores each runner line once, in order, and masks secrets', async () => {
      const agg = new LogAggregator(sink, store, metrics, 0);
      expect(agg.accept(lines(1, 3))).toMatchObject({ accepted: 3, duplicates: 0, gap: false });
      expect(agg.accept([...lines(2, 5), { seq: 6, stream: 'stderr', ts, text: 'token s3cret' }])).toMatchObject({ accepted: 3, duplicates: 2, gap: false });
      await sink.flush();
      const all = await stored();
      expect(all.map((l) => l.text)).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'token ••••••']);
      expect(all.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(agg.lastRunnerSeq).toBe(6);
    });
  });

  describe('when the app writes system lines between runner batches', () => {
    it('numbers the log past them and keeps counting runner sequences separately', async () => {
      const agg = new LogAggregator(sink, store, metrics, 0);
      agg.accept(lines(1, 2));
      sink.system('link lost at now, re-attaching');
      expect(agg.accept(lines(2, 4))).toMatchObject({ accepted: 2, duplicates: 1 });
      await sink.flush();
      expect((await stored()).map((l) => `${l.seq}:${l.stream}:${l.text}`)).toEqual([
        '1:stdout:line 1', '2:stdout:line 2', '3:system:link lost at now, re-attaching', '4:stdout:line 3', '5:stdout:line 4',
      ]);
    });
  });

  describe('when it takes a batch over', () => {
    it('renumbers just the taken lines into the log in place and acknowledges them by runner sequence', async () => {
      const agg = new LogAggregator(sink, store, metrics, 0);
      const acks: number[] = [];
      agg.onDurable((upTo) => acks.push(upTo));
      agg.accept(lines(1, 2));
      sink.system('between');
      const batch = [...lines(2, 4), ...lines(7, 7)];
      expect(agg.accept(batch)).toMatchObject({ accepted: 2, duplicates: 1, gap: true });
      // The duplicate and the line beyond the gap are untouched; runner lines 3 and 4 became log lines 4 and 5.
      expect(batch.map((l) => l.seq)).toEqual([2, 4, 5, 7]);
      await sink.flush();
      expect(agg.durableRunnerSeq).toBe(4);
      expect(acks.at(-1)).toBe(4);
      expect((await stored()).map((l) => `${l.seq}:${l.text}`)).toEqual(['1:line 1', '2:line 2', '3:between', '4:line 3', '5:line 4']);
    });
  });

  describe('when a batch skips sequences', () => {
    it('takes nothing beyond the gap and says so, then takes the replay', async () => {
      const agg = new LogAggregator(sink, store, metrics, 0);
      agg.accept(lines(1, 2));
      expect(agg.accept(lines(5, 6))).toEqual({ accepted: 0, duplicates: 0, gap: true });
      expect(agg.accept([...lines(3, 3), ...lines(5, 5)])).toMatchObject({ accepted: 1, gap: true });
      expect(agg.accept(lines(3, 6))).toMatchObject({ accepted: 3, duplicates: 1, gap: false });
      await sink.flush();
      expect((await stored()).map((l) => l.text)).toEqual(lines(1, 6).map((l) => l.text));
    });
  });

  describe('when lines are committed to the database', () => {
    it('reports a runner sequence durable only once its line is in SQLite, committing within a few ms', async () => {
      const agg = new LogAggregator(sink, store, metrics, 0);
      const committed = () => (db.sqlite.prepare('SELECT coalesce(sum(line_count), 0) AS n FROM log_blocks WHERE log_id = ?').get(sink.logId) as { n: number }).n;
      const acks: Array<{ upTo: number; committed: number }> = [];
      agg.onDurable((upTo) => acks.push({ upTo, committed: committed() }));
      agg.accept(lines(1, 10));
      agg.accept(lines(11, 20));
      // The first batch is committed at once; the second waits for the commit interval.
      expect(acks).toEqual([{ upTo: 10, committed: 10 }]);
      expect(agg.durableRunnerSeq).toBe(10);
      await new Promise((r) => setTimeout(r, 40));
      expect(acks).toEqual([{ upTo: 10, committed: 10 }, { upTo: 20, committed: 20 }]);
      expect(await metrics.text()).toMatch(/streaming_log_latency_count 2/);
    });
  });

  describe('when a session resumes a log after a restart', () => {
    it('continues from the runner lines already stored', async () => {
      const first = new LogAggregator(sink, store, metrics, 0);
      first.accept(lines(1, 4));
      sink.system('Cronium restarted');
      await sink.flush();
      first.close();
      const again = new LogAggregator(new LogSinkImpl(sink.logId, store, []), store, metrics, 4);
      expect(again.accept(lines(3, 6))).toMatchObject({ accepted: 2, duplicates: 2 });
    });
  });
});
