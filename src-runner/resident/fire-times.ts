/**
 * When a server-held schedule fires, on the server: croner with the options the app's scheduler uses
 * (src-main/core/scheduler/schedule-math.ts: mode '5-or-6-parts', fixedTimeRule 'no-wildcard'), the schedule's own
 * IANA zone, startAt inclusive / endAt exclusive, and intervals as absolute time from startAt (or the Unix epoch).
 * The runner may not import src-main, so this is the same few lines against the same library; a unit test checks
 * both give the same times across a DST change (tests/unit/runner/resident-fire-times.test.ts).
 */
import { Cron } from 'croner';
import type { ScheduleSpec } from '../../src-shared/contract/schedule';

export interface ResidentFireTimes {
  /** The first fire strictly after `afterMs`, or null when there is none. */
  next(afterMs: number): number | null;
}

export function compileFireTimes(spec: ScheduleSpec, timeZone: string): ResidentFireTimes {
  const startMs = spec.startAt ? Date.parse(spec.startAt) : Number.NEGATIVE_INFINITY;
  const endMs = spec.endAt ? Date.parse(spec.endAt) : Number.POSITIVE_INFINITY;
  if (spec.kind === 'cron') {
    const cron = new Cron(spec.expression, { timezone: timeZone, paused: true, mode: '5-or-6-parts', fixedTimeRule: 'no-wildcard' });
    return {
      next(afterMs) {
        const t = cron.nextRun(new Date(Math.max(afterMs, startMs - 1)))?.getTime() ?? null;
        return t === null || t >= endMs ? null : t;
      },
    };
  }
  const periodMs = spec.everySeconds * 1000;
  const anchor = Number.isFinite(startMs) ? startMs : 0;
  return {
    next(afterMs) {
      const t = afterMs < anchor ? anchor : anchor + (Math.floor((afterMs - anchor) / periodMs) + 1) * periodMs;
      return t >= endMs ? null : t;
    },
  };
}
