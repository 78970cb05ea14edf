/**
 * Schedule math as the user meets it: when a schedule fires across DST changes in several zones, intervals in
 * absolute time, start/end bounds, catch-up ranges, and the editor's preview (words, next runs, refusals with reasons).
 */
import { describe, expect, it } from 'vitest';
import { SchedulePreview, SchedulePreviewInput, type ScheduleSpec } from '../../../src-shared/contract/schedule';
import { AppError } from '../../../src-main/core/errors';
import {
  compileSchedule,
  describeSchedule,
  fireTimesBetween,
  isoInZone,
  nextFireTimes,
  validateSchedule,
  wallClockIn,
} from '../../../src-main/core/scheduler/schedule-math';
import { scheduleHandlers } from '../../../src-main/rpc/handlers/schedule';
import { ErrorCode } from '../../../src-shared/errors';

const cron = (expression: string, extra: Partial<ScheduleSpec> = {}): ScheduleSpec => ({ kind: 'cron', expression, ...extra }) as ScheduleSpec;
const every = (everySeconds: number, extra: Partial<ScheduleSpec> = {}): ScheduleSpec => ({ kind: 'interval', everySeconds, ...extra }) as ScheduleSpec;

/** Fires during one local calendar day, as wall-clock strings in that zone. */
function firesOnLocalDay(spec: ScheduleSpec, tz: string, dayStartUtc: string, dayEndUtc: string): string[] {
  return fireTimesBetween(spec, tz, new Date(dayStartUtc), new Date(dayEndUtc), 100).map((d) => isoInZone(d.getTime(), tz));
}

function invalidReason(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(ErrorCode.INVALID_SCHEDULE);
    return err as AppError;
  }
  throw new Error('expected INVALID_SCHEDULE');
}

describe('schedule math', () => {
  describe('when the clocks spring forward (a skipped hour)', () => {
    it('fires a 02:30 daily job once in Berlin, at 03:00 CEST, right after the gap', () => {
      // 2025-03-30: 02:00 CET -> 03:00 CEST. The local day is 2025-03-29T23:00Z .. 2025-03-30T22:00Z.
      expect(firesOnLocalDay(cron('30 2 * * *'), 'Europe/Berlin', '2025-03-29T23:00:00Z', '2025-03-30T21:59:59Z')).toEqual([
        '2025-03-30T03:00:00+02:00',
      ]);
      // the days around it are untouched
      const around = nextFireTimes(cron('30 2 * * *'), 'Europe/Berlin', new Date('2025-03-28T12:00:00Z'), 4).map((d) => isoInZone(d.getTime(), 'Europe/Berlin'));
      expect(around).toEqual(['2025-03-29T02:30:00+01:00', '2025-03-30T03:00:00+02:00', '2025-03-31T02:30:00+02:00', '2025-04-01T02:30:00+02:00']);
    });

    it('fires a 02:30 daily job once in New York, at 03:00 EDT', () => {
      // 2025-03-09: 02:00 EST -> 03:00 EDT. Local day 05:00Z .. next 04:00Z.
      expect(firesOnLocalDay(cron('30 2 * * *'), 'America/New_York', '2025-03-09T05:00:00Z', '2025-03-10T03:59:59Z')).toEqual([
        '2025-03-09T03:00:00-04:00',
      ]);
    });

    it('fires a 02:30 daily job once in Sydney (southern spring, October)', () => {
      // 2025-10-05: 02:00 AEST -> 03:00 AEDT. Local day 2025-10-04T14:00Z .. 2025-10-05T13:00Z.
      expect(firesOnLocalDay(cron('30 2 * * *'), 'Australia/Sydney', '2025-10-04T14:00:00Z', '2025-10-05T12:59:59Z')).toEqual([
        '2025-10-05T03:00:00+11:00',
      ]);
    });

    it('treats a list of hours as fixed times too (02:30 and 14:30 both fire once)', () => {
      expect(firesOnLocalDay(cron('30 2,14 * * *'), 'Europe/Berlin', '2025-03-29T23:00:00Z', '2025-03-30T21:59:59Z')).toEqual([
        '2025-03-30T03:00:00+02:00',
        '2025-03-30T14:30:00+02:00',
      ]);
    });

    it('keeps a stepped job in elapsed time: every 30 minutes has no fires in the hour that does not exist', () => {
      const fires = firesOnLocalDay(cron('*/30 1-3 * * *'), 'Europe/Berlin', '2025-03-29T23:00:00Z', '2025-03-30T21:59:59Z');
      expect(fires).toEqual(['2025-03-30T01:00:00+01:00', '2025-03-30T01:30:00+01:00', '2025-03-30T03:00:00+02:00', '2025-03-30T03:30:00+02:00']);
    });
  });

  describe('when the clocks fall back (an hour that happens twice)', () => {
    it('fires a 01:30 daily job once in New York, on the first 01:30 (EDT)', () => {
      // 2025-11-02: 02:00 EDT -> 01:00 EST, so 01:00-02:00 happens twice. Local day 04:00Z .. next 05:00Z.
      expect(firesOnLocalDay(cron('30 1 * * *'), 'America/New_York', '2025-11-02T04:00:00Z', '2025-11-03T04:59:59Z')).toEqual([
        '2025-11-02T01:30:00-04:00',
      ]);
    });

    it('fires a 02:30 daily job once in Berlin, on the first 02:30 (CEST)', () => {
      // 2025-10-26: 03:00 CEST -> 02:00 CET. Local day 2025-10-25T22:00Z .. 2025-10-26T23:00Z.
      expect(firesOnLocalDay(cron('30 2 * * *'), 'Europe/Berlin', '2025-10-25T22:00:00Z', '2025-10-26T22:59:59Z')).toEqual([
        '2025-10-26T02:30:00+02:00',
      ]);
    });

    it('fires a 02:30 daily job once in Sydney (southern autumn, April)', () => {
      // 2025-04-06: 03:00 AEDT -> 02:00 AEST. Local day 2025-04-05T13:00Z .. 2025-04-06T14:00Z.
      expect(firesOnLocalDay(cron('30 2 * * *'), 'Australia/Sydney', '2025-04-05T13:00:00Z', '2025-04-06T13:59:59Z')).toEqual([
        '2025-04-06T02:30:00+11:00',
      ]);
    });

    it('keeps an hourly job in elapsed time: both passes of the repeated hour fire', () => {
      const fires = firesOnLocalDay(cron('0 * * * *'), 'America/New_York', '2025-11-02T04:30:00Z', '2025-11-02T07:30:00Z');
      expect(fires).toEqual(['2025-11-02T01:00:00-04:00', '2025-11-02T01:00:00-05:00', '2025-11-02T02:00:00-05:00']);
    });
  });

  describe('when the schedule is an interval', () => {
    it('counts absolute time from startAt, unaffected by a DST change', () => {
      const spec = every(3600, { startAt: '2025-03-30T00:15:00Z' });
      const fires = nextFireTimes(spec, 'Europe/Berlin', new Date('2025-03-30T00:00:00Z'), 3).map((d) => d.toISOString());
      expect(fires).toEqual(['2025-03-30T00:15:00.000Z', '2025-03-30T01:15:00.000Z', '2025-03-30T02:15:00.000Z']);
    });

    it('is anchored at the Unix epoch when it has no start, so restarts keep the same times', () => {
      const fires = nextFireTimes(every(90), 'UTC', new Date('2025-01-01T00:00:10Z'), 2).map((d) => d.toISOString());
      expect(fires).toEqual(['2025-01-01T00:01:30.000Z', '2025-01-01T00:03:00.000Z']);
    });
  });

  describe('when the schedule has bounds', () => {
    it('includes startAt, excludes endAt', () => {
      const spec = cron('0 0 * * * *', { startAt: '2025-01-01T10:00:00Z', endAt: '2025-01-01T13:00:00Z' });
      const fires = nextFireTimes(spec, 'UTC', new Date('2025-01-01T00:00:00Z'), 10).map((d) => d.toISOString());
      expect(fires).toEqual(['2025-01-01T10:00:00.000Z', '2025-01-01T11:00:00.000Z', '2025-01-01T12:00:00.000Z']);
    });
  });

  describe('when a long range is asked for (catching up after downtime)', () => {
    it('returns the latest fires, bounded, and says older ones were left out', () => {
      const compiled = compileSchedule(cron('* * * * * *'), 'UTC');
      const from = Date.parse('2025-01-01T00:00:00Z');
      const { times, more } = compiled.between(from, from + 7 * 86_400_000, 5);
      expect(more).toBe(true);
      expect(times.map((t) => new Date(t).toISOString())).toEqual([
        '2025-01-07T23:59:56.000Z',
        '2025-01-07T23:59:57.000Z',
        '2025-01-07T23:59:58.000Z',
        '2025-01-07T23:59:59.000Z',
        '2025-01-08T00:00:00.000Z',
      ]);
      const interval = compileSchedule(every(60), 'UTC').between(from, from + 3600_000, 1000);
      expect(interval.times.length).toBe(60);
      expect(interval.more).toBe(false);
    });
  });

  describe('when the user types an invalid schedule', () => {
    it('refuses an out-of-range field with the reason on the expression field', () => {
      const err = invalidReason(() => validateSchedule(cron('61 * * * *'), 'UTC'));
      expect(err.extra.fields?.expression).toMatch(/minute/);
    });

    it('refuses the wrong number of fields', () => {
      const err = invalidReason(() => validateSchedule(cron('* * * * * * *'), 'UTC'));
      expect(err.extra.fields?.expression).toMatch(/5 fields .* or 6/);
    });

    it('refuses a date that never comes', () => {
      const err = invalidReason(() => validateSchedule(cron('0 0 31 2 *'), 'UTC'));
      expect(err.extra.fields?.expression).toMatch(/never matches/);
    });

    it('refuses an unknown time zone and an end before the start', () => {
      expect(invalidReason(() => validateSchedule(cron('0 * * * *'), 'Mars/Olympus')).extra.fields?.timeZone).toMatch(/unknown time zone/);
      const spec = every(60, { startAt: '2025-01-02T00:00:00Z', endAt: '2025-01-01T00:00:00Z' });
      expect(invalidReason(() => validateSchedule(spec, 'UTC')).extra.fields?.endAt).toMatch(/after the start/);
    });
  });

  describe('when the editor asks for a preview', () => {
    const preview = scheduleHandlers(() => Date.parse('2025-03-29T12:00:00Z'))['schedule/preview'];
    const ctx = { transport: 'memory' as const };

    it('gives the words and the next runs in the event zone, with the wall clock', async () => {
      const input = SchedulePreviewInput.parse({ spec: cron('30 2 * * *'), timeZone: 'Europe/Berlin', count: 3 });
      const out = SchedulePreview.parse(await preview(input, ctx));
      expect(out.description).toBe('At 02:30 (Europe/Berlin)');
      expect(out.nextRuns.map((r) => r.at)).toEqual(['2025-03-30T03:00:00+02:00', '2025-03-31T02:30:00+02:00', '2025-04-01T02:30:00+02:00']);
      expect(out.nextRuns[0].wallClock).toBe('Sun 30 Mar 2025, 03:00:00 CEST');
    });

    it('lists no more runs than maxRuns and says so when the schedule has ended', async () => {
      const capped = SchedulePreview.parse(await preview(SchedulePreviewInput.parse({ spec: every(900, { maxRuns: 2 }), timeZone: 'UTC', count: 5 }), ctx));
      expect(capped.nextRuns).toHaveLength(2);
      expect(capped.description).toBe('Every 15 minutes, at most 2 runs');
      const ended = SchedulePreview.parse(
        await preview(SchedulePreviewInput.parse({ spec: every(60, { endAt: '2025-01-01T00:00:00Z' }), timeZone: 'UTC' }), ctx),
      );
      expect(ended.nextRuns).toEqual([]);
      expect(ended.notice).toMatch(/no further runs/);
    });

    it('refuses an invalid expression with INVALID_SCHEDULE', () => {
      const input = SchedulePreviewInput.parse({ spec: cron('0 25 * * *'), timeZone: 'UTC' });
      expect(invalidReason(() => preview(input, ctx)).extra.fields?.expression).toMatch(/hour/);
    });

    it('formats instants in the zone, offset included', () => {
      const t = Date.parse('2025-07-01T12:00:00Z');
      expect(isoInZone(t, 'America/New_York')).toBe('2025-07-01T08:00:00-04:00');
      expect(isoInZone(t, 'UTC')).toBe('2025-07-01T12:00:00+00:00');
      expect(wallClockIn(t, 'Australia/Sydney')).toBe('Tue 01 Jul 2025, 22:00:00 GMT+10');
      expect(describeSchedule(cron('0 */5 * * * *'), 'UTC')).toBe('Every 5 minutes (UTC)');
    });
  });
});
