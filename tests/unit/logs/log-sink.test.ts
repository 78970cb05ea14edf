// LogSinkImpl over a real LogStore (a SQLite file): runner-style sequenced lines drop duplicates and report gaps,
// statuses follow the state machine, and subscribers get only their logs' lines.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { LogSinkImpl } from '../../../src-main/core/logs/log-sink';
import { nowIso } from '../../../src-main/core/db/ids';
import { ErrorCode } from '../../../src-shared/errors';

let test: TestCore;
let logId: string;

beforeEach(async () => {
  test = await createTestCore();
  const at = nowIso(Date.now());
  await test.core.db.kysely.insertInto('jobs').values({ id: 'job-1', status: 'RUNNING', created_at: at, updated_at: at } as never).execute();
  logId = await test.core.logs.store.create({ jobId: 'job-1', eventId: null, serverId: null });
});
afterEach(async () => {
  await test.cleanup();
});

const line = (seq: number, text = `line ${seq}`) => ({ seq, stream: 'stdout' as const, ts: nowIso(Date.now()), text });

describe('LogSinkImpl', () => {
  describe('when a runner replays lines it already sent', () => {
    it('drops the duplicates and reports a gap once', async () => {
      const sink = new LogSinkImpl(logId, test.core.logs.store, ['hunter2']);
      expect(sink.appendSequenced([line(1), line(2)])).toEqual({ accepted: 2, duplicates: 0, gapAfter: null });
      expect(sink.appendSequenced([line(2), line(3, 'pw=hunter2')])).toEqual({ accepted: 1, duplicates: 1, gapAfter: null });
      expect(sink.appendSequenced([line(6), line(7)])).toEqual({ accepted: 2, duplicates: 0, gapAfter: 3 });
      await sink.flush();
      const { lines, lastSequence } = await test.core.logs.store.lines(logId, 0, 100);
      expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 6, 7]);
      expect(lines[2].text).toBe('pw=••••••');
      expect(lastSequence).toBe(7);
    });

    it('continues from the stored sequence after the app restarts', async () => {
      const first = new LogSinkImpl(logId, test.core.logs.store, []);
      first.appendSequenced([line(1), line(2)]);
      await first.flush();
      const again = new LogSinkImpl(logId, test.core.logs.store, []);
      expect(again.lastSequence).toBe(2);
      expect(again.appendSequenced([line(1), line(2), line(3)])).toEqual({ accepted: 1, duplicates: 2, gapAfter: null });
    });
  });

  describe('when the status moves', () => {
    it('accepts PENDING -> STREAMING -> PARTIAL -> STREAMING -> SUCCESS and refuses leaving SUCCESS', async () => {
      const store = test.core.logs.store;
      for (const s of ['STREAMING', 'PARTIAL', 'STREAMING', 'SUCCESS'] as const) await store.setStatus(logId, s);
      const view = await store.get(logId);
      expect(view.status).toBe('SUCCESS');
      expect(view.streamStartedAt).not.toBeNull();
      await expect(store.setStatus(logId, 'RUNNING')).rejects.toMatchObject({ code: ErrorCode.LOG_STATE_INVALID });
    });
  });

  describe('when the link is lost and the log goes PARTIAL', () => {
    it('releases the log from memory and continues from the stored row when the runner re-attaches', async () => {
      const store = test.core.logs.store;
      const sink = new LogSinkImpl(logId, store, []);
      await store.setStatus(logId, 'STREAMING');
      sink.appendSequenced([line(1), line(2, 'x'.repeat(1000))]);
      expect(store.openLogCount).toBe(1);
      await store.setStatus(logId, 'PARTIAL');
      expect(store.openLogCount).toBe(0);
      // Re-attach: a new sink continues from the stored sequence and tail.
      const again = new LogSinkImpl(logId, store, []);
      expect(again.lastSequence).toBe(2);
      await store.setStatus(logId, 'STREAMING');
      expect(again.appendSequenced([line(2), line(3)])).toEqual({ accepted: 1, duplicates: 1, gapAfter: null });
      await again.flush();
      const view = await store.get(logId);
      expect(view.lineCount).toBe(3);
      const { lines } = await store.lines(logId, 0, 10);
      expect(lines.map((l) => l.seq)).toEqual([1, 2, 3]);
    });
  });

  describe('when a viewer subscribes', () => {
    it('pushes lines of that log only while subscribed', async () => {
      const pushed: number[][] = [];
      test.core.bus.subscribe((name, payload) => {
        if (name === 'logs/lines') pushed.push((payload as { lines: Array<{ seq: number }> }).lines.map((l) => l.seq));
      });
      const sink = new LogSinkImpl(logId, test.core.logs.store, []);
      sink.writeChunk('stdout', Buffer.from('a\n'));
      await sink.flush();
      test.core.logs.stream.subscribe(logId);
      test.core.logs.stream.subscribe(logId);
      sink.writeChunk('stdout', Buffer.from('b\nc\n'));
      await sink.flush();
      test.core.logs.stream.unsubscribe(logId);
      sink.writeChunk('stdout', Buffer.from('d\n'));
      await sink.flush();
      test.core.logs.stream.unsubscribe(logId);
      sink.writeChunk('stdout', Buffer.from('e\n'));
      await sink.flush();
      expect(pushed).toEqual([[2, 3], [4]]);
    });
  });
});
