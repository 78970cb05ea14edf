/**
 * The Scheduler's promises to the user, on a controllable clock: fires at the right instants across DST, catches up
 * (or not) after the app was closed or the machine slept as the misfire policy says, handles overlapping runs as the
 * overlap policy says, honours end times and maximum runs, and never fires one scheduled time twice.
 * The job side is the one edge replaced here (RecordingJobs: it records dispatches and lets a test end runs); the
 * jobs service has its own tests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FireRecord, ScheduleSpec } from '../../../src-shared/contract/schedule';
import { AppError } from '../../../src-main/core/errors';
import { MemoryFireStore } from '../../../src-main/core/scheduler/fire-store';
import { Scheduler, type Fire, type ScheduleOwner, type ScheduleOwnerRef } from '../../../src-main/core/scheduler/scheduler';
import { ManualClock } from '../../harness/manual-clock';
import { ErrorCode } from '../../../src-shared/errors';

/** Stands in for the jobs service: records each dispatch, keeps its run "running" until the test ends it. */
class RecordingJobs {
  readonly fires: Fire[] = [];
  private readonly running = new Map<string, number>();
  failWith: string | null = null;
  keepRunning = false;

  dispatch = async (fire: Fire): Promise<{ jobIds: string[] }> => {
    if (this.failWith) throw new Error(this.failWith);
    this.fires.push(fire);
    if (this.keepRunning) this.running.set(`${fire.kind}:${fire.id}`, (this.running.get(`${fire.kind}:${fire.id}`) ?? 0) + 1);
    return { jobIds: [`job-${this.fires.length}`] };
  };
  isRunning = (owner: ScheduleOwnerRef): boolean => (this.running.get(`${owner.kind}:${owner.id}`) ?? 0) > 0;
  endRuns(owner: ScheduleOwnerRef): void {
    this.running.delete(`${owner.kind}:${owner.id}`);
  }
  /** Scheduled times fired, as ISO strings. */
  times(id?: string): string[] {
    return this.fires.filter((f) => id === undefined || f.id === id).map((f) => f.scheduledFor.toISOString());
  }
}

const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.stop();
});

function setup(opts: { clock: ManualClock; store?: MemoryFireStore; jobs?: RecordingJobs; queuePollMs?: number }) {
  const jobs = opts.jobs ?? new RecordingJobs();
  const store = opts.store ?? new MemoryFireStore();
  const records: FireRecord[] = [];
  const scheduler = new Scheduler({
    clock: opts.clock,
    store,
    onRecord: (r) => records.push(r),
    queuePollMs: opts.queuePollMs,
  });
  schedulers.push(scheduler);
  return { scheduler, jobs, store, records };
}

function owner(id: string, spec: ScheduleSpec, extra: Partial<ScheduleOwner> = {}): ScheduleOwner {
  return { kind: 'event', id, spec, timeZone: 'UTC', misfirePolicy: 'run_once', overlapPolicy: 'allow', enabled: true, ...extra };
}
const cron = (expression: string, extra: Partial<ScheduleSpec> = {}) => ({ kind: 'cron', expression, ...extra }) as ScheduleSpec;
const every = (everySeconds: number, extra: Partial<ScheduleSpec> = {}) => ({ kind: 'interval', everySeconds, ...extra }) as ScheduleSpec;
const HOUR = 3_600_000;
const MIN = 60_000;

describe('Scheduler', () => {
  describe('when the clocks change for daylight saving', () => {
    it('fires a 02:30 Berlin job once on the spring-forward day (03:00 CEST) and normally after', async () => {
      const clock = new ManualClock('2025-03-29T12:00:00Z');
      const { scheduler, jobs } = setup({ clock });
      scheduler.upsert(owner('backup', cron('30 2 * * *'), { timeZone: 'Europe/Berlin' }));
      await scheduler.start(jobs);
      await clock.advance(48 * HOUR);
      expect(jobs.times()).toEqual(['2025-03-30T01:00:00.000Z', '2025-03-31T00:30:00.000Z']);
    });

    it('fires a 01:30 New York job once on the fall-back day, although 01:30 happens twice', async () => {
      const clock = new ManualClock('2025-11-01T12:00:00Z');
      const { scheduler, jobs } = setup({ clock });
      scheduler.upsert(owner('report', cron('30 1 * * *'), { timeZone: 'America/New_York' }));
      await scheduler.start(jobs);
      await clock.advance(48 * HOUR);
      expect(jobs.times()).toEqual(['2025-11-02T05:30:00.000Z', '2025-11-03T06:30:00.000Z']);
    });

    it('fires a 02:30 Berlin job once on the fall-back day and a 02:30 New York job once on spring-forward day', async () => {
      const clock = new ManualClock('2025-10-25T12:00:00Z');
      const { scheduler, jobs } = setup({ clock });
      scheduler.upsert(owner('berlin', cron('30 2 * * *'), { timeZone: 'Europe/Berlin' }));
      await scheduler.start(jobs);
      await clock.advance(24 * HOUR);
      expect(jobs.times('berlin')).toEqual(['2025-10-26T00:30:00.000Z']);

      const clock2 = new ManualClock('2025-03-08T12:00:00Z');
      const ny = setup({ clock: clock2 });
      ny.scheduler.upsert(owner('ny', cron('30 2 * * *'), { timeZone: 'America/New_York' }));
      await ny.scheduler.start(ny.jobs);
      await clock2.advance(24 * HOUR);
      expect(ny.jobs.times('ny')).toEqual(['2025-03-09T07:00:00.000Z']);
    });

    it('keeps an interval in absolute time across the change', async () => {
      const clock = new ManualClock('2025-03-30T00:30:00Z');
      const { scheduler, jobs } = setup({ clock });
      scheduler.upsert(owner('tick', every(1800, { startAt: '2025-03-30T00:45:00Z' }), { timeZone: 'Europe/Berlin' }));
      await scheduler.start(jobs);
      await clock.advance(2 * HOUR);
      expect(jobs.times()).toEqual(['2025-03-30T00:45:00.000Z', '2025-03-30T01:15:00.000Z', '2025-03-30T01:45:00.000Z', '2025-03-30T02:15:00.000Z']);
    });
  });

  describe('when the app was closed for three hours', () => {
    /** Runs every 15 minutes from 10:00, closes after 10:30, reopens at 13:35: 10:45 .. 13:30 were missed (12 times). */
    async function downtime(extra: Partial<ScheduleOwner>) {
      const clock = new ManualClock('2025-06-01T10:00:00Z');
      const store = new MemoryFireStore();
      const first = setup({ clock, store });
      const o = owner('sync', cron('0 */15 * * * *'), { activeSince: new Date('2025-06-01T10:00:00Z'), ...extra });
      first.scheduler.upsert(o);
      await first.scheduler.start(first.jobs);
      await clock.advance(30 * MIN);
      expect(first.jobs.times()).toEqual(['2025-06-01T10:15:00.000Z', '2025-06-01T10:30:00.000Z']);
      await first.scheduler.stop();

      clock.set('2025-06-01T13:35:00Z');
      const second = setup({ clock, store });
      second.scheduler.upsert(o);
      await second.scheduler.start(second.jobs);
      await second.scheduler.whenIdle();
      return { clock, store, second };
    }

    it('skip: runs nothing that was missed, records one skip naming the count, and carries on at 13:45', async () => {
      const { clock, store, second } = await downtime({ misfirePolicy: 'skip' });
      expect(second.jobs.fires).toEqual([]);
      const skips = store.all().filter((r) => r.outcome === 'skipped_misfire');
      expect(skips).toHaveLength(1);
      expect(skips[0].reason).toMatch(/^12 scheduled time\(s\) between 2025-06-01T10:30:00.000Z and 2025-06-01T13:30:00.000Z/);
      expect(second.records.map((r) => r.outcome)).toEqual(['skipped_misfire']);
      await clock.advance(10 * MIN);
      expect(second.jobs.times()).toEqual(['2025-06-01T13:45:00.000Z']);
    });

    it('run_once: runs the most recent missed time once and records the rest as skipped', async () => {
      const { store, second } = await downtime({ misfirePolicy: 'run_once' });
      expect(second.jobs.fires.map((f) => [f.scheduledFor.toISOString(), f.trigger])).toEqual([['2025-06-01T13:30:00.000Z', 'catch_up']]);
      const skip = store.all().find((r) => r.outcome === 'skipped_misfire');
      expect(skip?.reason).toMatch(/^11 scheduled time.*only the latest \(2025-06-01T13:30:00.000Z\) was run/);
    });

    it('run_each: runs every missed time, oldest first', async () => {
      const { second } = await downtime({ misfirePolicy: 'run_each' });
      expect(second.jobs.times()).toHaveLength(12);
      expect(second.jobs.times()[0]).toBe('2025-06-01T10:45:00.000Z');
      expect(second.jobs.times()[11]).toBe('2025-06-01T13:30:00.000Z');
    });

    it('run_each with a one-hour window: runs only the times within the last hour', async () => {
      const { store, second } = await downtime({ misfirePolicy: 'run_each', misfireWindowSeconds: 3600 });
      expect(second.jobs.times()).toEqual(['2025-06-01T12:45:00.000Z', '2025-06-01T13:00:00.000Z', '2025-06-01T13:15:00.000Z', '2025-06-01T13:30:00.000Z']);
      expect(store.all().find((r) => r.outcome === 'skipped_misfire')?.reason).toMatch(/^8 scheduled time.*4 within the misfire window \(3600 s\) were run/);
    });

    it('run_each after a long downtime of an every-second job starts at most 1000 runs at once', async () => {
      const clock = new ManualClock('2025-06-01T10:00:00Z');
      const { scheduler, jobs, store } = setup({ clock });
      scheduler.upsert(owner('hot', cron('* * * * * *'), { misfirePolicy: 'run_each', activeSince: new Date('2025-06-01T07:00:00Z') }));
      await scheduler.start(jobs);
      await scheduler.whenIdle();
      expect(jobs.fires).toHaveLength(1000);
      expect(jobs.times()[999]).toBe('2025-06-01T10:00:00.000Z');
      expect(store.all().find((r) => r.outcome === 'skipped_misfire')?.reason).toMatch(/^more than 939 scheduled time.*at most 1000 at once/);
    });
  });

  describe('when the machine sleeps while the app is open', () => {
    it('treats the gap as missed time and applies the misfire policy (run_once: one catch-up run)', async () => {
      const clock = new ManualClock('2025-06-01T10:00:00Z');
      const { scheduler, jobs } = setup({ clock });
      scheduler.upsert(owner('sync', cron('*/10 * * * *'), { misfirePolicy: 'run_once' }));
      await scheduler.start(jobs);
      await clock.advance(10 * MIN);
      await clock.jump(3 * HOUR + 5 * MIN);
      await scheduler.whenIdle();
      expect(jobs.fires.map((f) => [f.scheduledFor.toISOString(), f.trigger])).toEqual([
        ['2025-06-01T10:10:00.000Z', 'schedule'],
        ['2025-06-01T13:10:00.000Z', 'catch_up'],
      ]);
    });
  });

  describe('when a fire comes while the previous run is still running', () => {
    it('skip: records skipped_overlap and runs again once the run has ended', async () => {
      const clock = new ManualClock('2025-06-01T10:00:30Z');
      const { scheduler, jobs, records } = setup({ clock });
      jobs.keepRunning = true;
      const o = owner('long', cron('* * * * *'), { overlapPolicy: 'skip' });
      scheduler.upsert(o);
      await scheduler.start(jobs);
      await clock.advance(2 * MIN); // 10:01 fires, 10:02 overlaps
      jobs.endRuns(o);
      await clock.advance(MIN); // 10:03 fires
      expect(jobs.times()).toEqual(['2025-06-01T10:01:00.000Z', '2025-06-01T10:03:00.000Z']);
      expect(records.map((r) => `${r.scheduledFor.slice(11, 16)} ${r.outcome}`)).toEqual(['10:01 fired', '10:02 skipped_overlap', '10:03 fired']);
    });

    it('queue: keeps one run waiting, skips further ones, and starts the waiting run when the current one ends', async () => {
      const clock = new ManualClock('2025-06-01T10:00:30Z');
      const { scheduler, jobs, store } = setup({ clock });
      jobs.keepRunning = true;
      const o = owner('long', cron('* * * * *'), { overlapPolicy: 'queue' });
      scheduler.upsert(o);
      await scheduler.start(jobs);
      await clock.advance(3 * MIN); // 10:01 fires, 10:02 queued, 10:03 skipped
      expect(jobs.times()).toEqual(['2025-06-01T10:01:00.000Z']);
      expect(store.all().map((r) => r.outcome)).toEqual(['fired', 'queued', 'skipped_overlap']);

      clock.set(Date.parse('2025-06-01T10:03:20Z'));
      jobs.endRuns(o);
      scheduler.runEnded('event', 'long');
      await scheduler.whenIdle();
      expect(jobs.fires.map((f) => [f.scheduledFor.toISOString(), f.trigger])).toEqual([
        ['2025-06-01T10:01:00.000Z', 'schedule'],
        ['2025-06-01T10:02:00.000Z', 'queued'],
      ]);
      const promoted = store.all()[1];
      expect(promoted.outcome).toBe('fired');
      expect(promoted.reason).toMatch(/queued behind the previous run; started at 2025-06-01T10:03:20/);
    });

    it('queue: starts the waiting run on its own poll when nobody reports the end', async () => {
      const clock = new ManualClock('2025-06-01T10:00:30Z');
      const { scheduler, jobs } = setup({ clock, queuePollMs: 5000 });
      jobs.keepRunning = true;
      const o = owner('long', cron('* * * * *'), { overlapPolicy: 'queue' });
      scheduler.upsert(o);
      await scheduler.start(jobs);
      await clock.advance(MIN + 10_000); // 10:01:40: 10:01 fired
      await clock.advance(MIN); // 10:02:40: 10:02 queued behind it
      jobs.endRuns(o);
      await clock.advance(5000);
      expect(jobs.times()).toEqual(['2025-06-01T10:01:00.000Z', '2025-06-01T10:02:00.000Z']);
    });

    it('allow: starts the second run alongside the first', async () => {
      const clock = new ManualClock('2025-06-01T10:00:30Z');
      const { scheduler, jobs } = setup({ clock });
      jobs.keepRunning = true;
      scheduler.upsert(owner('long', cron('* * * * *'), { overlapPolicy: 'allow' }));
      await scheduler.start(jobs);
      await clock.advance(2 * MIN);
      expect(jobs.times()).toEqual(['2025-06-01T10:01:00.000Z', '2025-06-01T10:02:00.000Z']);
    });
  });

  describe('when the app restarts or two schedulers race', () => {
    it('does not fire a scheduled time again after a restart at the same instant', async () => {
      const clock = new ManualClock('2025-06-01T10:00:30Z');
      const store = new MemoryFireStore();
      const o = owner('once', cron('* * * * *'), { misfirePolicy: 'run_each', activeSince: new Date('2025-06-01T09:59:30Z') });
      const a = setup({ clock, store });
      a.scheduler.upsert(o);
      await a.scheduler.start(a.jobs);
      await a.scheduler.whenIdle();
      await a.scheduler.stop();
      const b = setup({ clock, store });
      b.scheduler.upsert(o);
      await b.scheduler.start(b.jobs);
      await clock.advance(MIN);
      expect([...a.jobs.times(), ...b.jobs.times()]).toEqual(['2025-06-01T10:00:00.000Z', '2025-06-01T10:01:00.000Z']);
    });

    it('fires each time once when two schedulers share a store and the clock', async () => {
      const clock = new ManualClock('2025-06-01T10:00:30Z');
      const store = new MemoryFireStore();
      const jobs = new RecordingJobs();
      const a = setup({ clock, store, jobs });
      const b = setup({ clock, store, jobs });
      for (const s of [a, b]) {
        s.scheduler.upsert(owner('shared', cron('*/20 * * * * *')));
        await s.scheduler.start(s.jobs);
      }
      await clock.advance(MIN);
      expect(jobs.times()).toEqual(['2025-06-01T10:00:40.000Z', '2025-06-01T10:01:00.000Z', '2025-06-01T10:01:20.000Z']);
    });
  });

  describe('when a schedule has an end', () => {
    it('stops at endAt', async () => {
      const clock = new ManualClock('2025-06-01T10:00:00Z');
      const { scheduler, jobs } = setup({ clock });
      scheduler.upsert(owner('window', cron('0 */15 * * * *', { endAt: '2025-06-01T10:45:00Z' })));
      await scheduler.start(jobs);
      await clock.advance(2 * HOUR);
      expect(jobs.times()).toEqual(['2025-06-01T10:15:00.000Z', '2025-06-01T10:30:00.000Z']);
      expect(scheduler.nextFire('event', 'window')).toBeNull();
    });

    it('stops after maxRuns fired runs, counted from the store across a restart', async () => {
      const clock = new ManualClock('2025-06-01T10:00:00Z');
      const store = new MemoryFireStore();
      const o = owner('thrice', every(60, { maxRuns: 3 }));
      const a = setup({ clock, store });
      a.scheduler.upsert(o);
      await a.scheduler.start(a.jobs);
      await clock.advance(2 * MIN);
      await a.scheduler.stop();
      const b = setup({ clock, store });
      b.scheduler.upsert(o);
      await b.scheduler.start(b.jobs);
      await clock.advance(10 * MIN);
      expect([...a.jobs.times(), ...b.jobs.times()]).toEqual(['2025-06-01T10:01:00.000Z', '2025-06-01T10:02:00.000Z', '2025-06-01T10:03:00.000Z']);
      expect(b.scheduler.nextFire('event', 'thrice')).toBeNull();
    });

    it('waits for startAt before the first run', async () => {
      const clock = new ManualClock('2025-06-01T10:00:00Z');
      const { scheduler, jobs } = setup({ clock });
      scheduler.upsert(owner('later', every(600, { startAt: '2025-06-03T00:00:00Z' })));
      await scheduler.start(jobs);
      expect(scheduler.nextFire('event', 'later')?.toISOString()).toBe('2025-06-03T00:00:00.000Z');
      await clock.advance(37 * HOUR);
      expect(jobs.fires).toEqual([]);
      await clock.advance(65 * MIN);
      expect(jobs.times()).toEqual(['2025-06-03T00:00:00.000Z']);
    });
  });

  describe('when the user saves schedules', () => {
    it('refuses an invalid expression with the reason', () => {
      const { scheduler } = setup({ clock: new ManualClock('2025-06-01T10:00:00Z') });
      try {
        scheduler.upsert(owner('bad', cron('0 0 32 * *')));
        expect.unreachable();
      } catch (err) {
        expect((err as AppError).code).toBe(ErrorCode.INVALID_SCHEDULE);
        expect((err as AppError).extra.fields?.expression).toMatch(/day/i);
      }
    });

    it('keeps one timer for 2,000 schedules, and forgets removed or disabled ones', async () => {
      const clock = new ManualClock('2025-06-01T10:00:00Z');
      const { scheduler, jobs } = setup({ clock });
      for (let i = 0; i < 2_000; i++) scheduler.upsert(owner(`e${i}`, i % 2 ? every(60 + (i % 50)) : cron(`${i % 60} * * * * *`)));
      await scheduler.start(jobs);
      expect(clock.pendingTimers).toBe(1);
      scheduler.remove('event', 'e0');
      scheduler.upsert({ ...owner('e2', cron('2 * * * * *')), enabled: false });
      await clock.advance(MIN);
      expect(clock.pendingTimers).toBe(1);
      expect(jobs.fires.some((f) => f.id === 'e0' || f.id === 'e2')).toBe(false);
      expect(jobs.fires.filter((f) => f.id === 'e4')).toHaveLength(1);
    });

    it('records why a run could not start', async () => {
      const clock = new ManualClock('2025-06-01T10:00:30Z');
      const { scheduler, jobs, store, records } = setup({ clock });
      jobs.failWith = 'server db-1 has no credentials';
      scheduler.upsert(owner('broken', cron('* * * * *')));
      await scheduler.start(jobs);
      await clock.advance(MIN);
      await scheduler.whenIdle();
      expect(store.all()[0]).toMatchObject({ outcome: 'fired', jobIds: [], reason: 'could not start the run: server db-1 has no credentials' });
      expect(records[0].reason).toMatch(/no credentials/);
    });
  });
});
