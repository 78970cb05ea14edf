/**
 * The schedule history on a real SQLite file (the app's migrations): a scheduled time is claimed once, even by two
 * connections, so two schedulers over the same database, or a restarted one, never run it twice; and the history
 * reads back what happened.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FireRecord } from '../../../src-shared/contract/schedule';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { SqliteFireStore, idempotencyKeyFor } from '../../../src-main/core/scheduler/fire-store';
import { Scheduler, type Fire, type FireTargets, type ScheduleOwner } from '../../../src-main/core/scheduler/scheduler';
import { ManualClock } from '../../harness/manual-clock';

const MIGRATIONS = path.resolve(__dirname, '../../../migrations');
let dir: string;
const opened: AppDatabase[] = [];
const schedulers: Scheduler[] = [];

function open(): AppDatabase {
  const db = openDatabase(path.join(dir, 'cronium.sqlite'), MIGRATIONS);
  opened.push(db);
  return db;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-fires-'));
});
afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.stop();
  for (const db of opened.splice(0)) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function record(scheduledFor: string, outcome: FireRecord['outcome'] = 'fired'): FireRecord {
  return {
    ownerKind: 'event',
    ownerId: 'ev-1',
    scheduledFor,
    idempotencyKey: idempotencyKeyFor('event', 'ev-1', Date.parse(scheduledFor)),
    outcome,
    jobIds: [],
    firedAt: '2025-06-01T10:00:00.000Z',
  };
}

const owner: ScheduleOwner = {
  kind: 'event',
  id: 'ev-1',
  spec: { kind: 'cron', expression: '*/10 * * * * *' },
  timeZone: 'Europe/Berlin',
  misfirePolicy: 'run_each',
  overlapPolicy: 'allow',
  enabled: true,
};

function schedulerOn(db: AppDatabase, clock: ManualClock): Scheduler {
  const s = new Scheduler({ clock, store: new SqliteFireStore(db) });
  schedulers.push(s);
  return s;
}

/** Fire targets that record every fire in `fires` and report nothing running. */
function recordingInto(fires: Fire[]): FireTargets {
  return {
    dispatch: async (fire) => {
      fires.push(fire);
      return { jobIds: [`job-${fires.length}`] };
    },
    isRunning: () => false,
  };
}describe('SqliteFireStore', () => {
  describe('when two connections claim the same scheduled time', () => {
    it('lets only the first one have it', async () => {
      const a = new SqliteFireStore(open());
      const b = new SqliteFireStore(open());
      expect(await a.claim(record('2025-06-01T10:00:00.000Z'))).toBe(true);
      expect(await b.claim(record('2025-06-01T10:00:00.000Z', 'skipped_overlap'))).toBe(false);
      expect(await b.history('event', 'ev-1', 10)).toMatchObject([{ outcome: 'fired', scheduledFor: '2025-06-01T10:00:00.000Z' }]);
    });
  });

  describe('when the scheduler reads the history back', () => {
    it('knows the last handled time, the fired count, the queue and the job ids', async () => {
      const store = new SqliteFireStore(open());
      await store.claim(record('2025-06-01T10:00:00.000Z'));
      await store.complete(record('2025-06-01T10:00:00.000Z').idempotencyKey, ['job-a', 'job-b']);
      await store.claim(record('2025-06-01T10:01:00.000Z', 'queued'));
      await store.claim(record('2025-06-01T10:02:00.000Z', 'skipped_overlap'));
      expect((await store.lastFire('event', 'ev-1'))?.toISOString()).toBe('2025-06-01T10:02:00.000Z');
      expect(await store.lastFire('event', 'other')).toBeNull();
      expect(await store.countFired('event', 'ev-1')).toBe(1);
      expect((await store.queued('event', 'ev-1')).map((r) => r.scheduledFor)).toEqual(['2025-06-01T10:01:00.000Z']);

      const key = record('2025-06-01T10:01:00.000Z').idempotencyKey;
      expect(await store.promoteQueued(key, '2025-06-01T10:05:00.000Z', 'queued behind the previous run')).toBe(true);
      expect(await store.promoteQueued(key, '2025-06-01T10:05:00.000Z', 'again')).toBe(false);
      expect(await store.countFired('event', 'ev-1')).toBe(2);
      const history = await store.history('event', 'ev-1', 10);
      expect(history.map((r) => r.outcome)).toEqual(['skipped_overlap', 'fired', 'fired']);
      expect(history[2].jobIds).toEqual(['job-a', 'job-b']);
    });
  });

  describe('when two schedulers run over the same database file', () => {
    it('fires each scheduled time once between them', async () => {
      const clock = new ManualClock('2025-06-01T10:00:05Z');
      const fires: Fire[] = [];
      const a = schedulerOn(open(), clock);
      const b = schedulerOn(open(), clock);
      a.upsert(owner);
      b.upsert(owner);
      await a.start(recordingInto(fires));
      await b.start(recordingInto(fires));
      await clock.advance(60_000);
      await Promise.all([a.whenIdle(), b.whenIdle()]);
      const times = fires.map((f) => f.scheduledFor.toISOString());
      expect(times).toEqual(['10:00:10', '10:00:20', '10:00:30', '10:00:40', '10:00:50', '10:01:00'].map((t) => `2025-06-01T${t}.000Z`));
      const rows = opened[0].sqlite.prepare('SELECT COUNT(*) AS n FROM schedule_fires').get() as { n: number };
      expect(rows.n).toBe(6);
    });
  });

  describe('when the app restarts', () => {
    it('neither repeats a fired time nor forgets the ones missed while closed', async () => {
      const clock = new ManualClock('2025-06-01T10:00:05Z');
      const fires: Fire[] = [];
      const first = open();
      const a = schedulerOn(first, clock);
      a.upsert(owner);
      await a.start(recordingInto(fires));
      await clock.advance(20_000); // 10:00:10, 10:00:20
      await a.stop();
      first.close();

      clock.set('2025-06-01T10:02:05Z'); // closed for two minutes: 10:00:30 .. 10:02:00 missed (run_each)
      const b = schedulerOn(open(), clock);
      b.upsert(owner);
      await b.start(recordingInto(fires));
      await b.whenIdle();
      const times = fires.map((f) => f.scheduledFor.toISOString().slice(11, 19));
      expect(times).toEqual(['10:00:10', '10:00:20', '10:00:30', '10:00:40', '10:00:50', '10:01:00', '10:01:10', '10:01:20', '10:01:30', '10:01:40', '10:01:50', '10:02:00']);
      expect(new Set(times).size).toBe(times.length);
    });
  });
});
