/**
 * When a ScheduleSpec fires, as the app's scheduler (src-main/core/scheduler/schedule-math.ts) and the resident runner
 * on a server (src-runner/resident) both compute it: croner with one set of options (mode '5-or-6-parts',
 * fixedTimeRule 'no-wildcard'), the schedule's IANA zone, startAt inclusive / endAt exclusive, and intervals as
 * absolute time from startAt (or the Unix epoch). Pure TypeScript and croner only, so the runner bundle carries it.
 * No validation here: the app checks a spec (compileSchedule) before it schedules or ships it.
 */
import { Cron } from 'croner';
import type { ScheduleSpec } from './contract/schedule';

/** A cron pattern parsed with the options every fire-time computation uses (paused: asked, never run). */
export function newScheduleCron(expression: string, timeZone: string): Cron {
  return new Cron(expression, { timezone: timeZone, paused: true, mode: '5-or-6-parts', fixedTimeRule: 'no-wildcard' });
}

/** startAt (inclusive) and endAt (exclusive) as epoch ms; unbounded sides are -/+Infinity. */
export function scheduleBounds(spec: ScheduleSpec): { startMs: number; endMs: number } {
  const startMs = spec.startAt ? Date.parse(spec.startAt) : Number.NEGATIVE_INFINITY;
  const endMs = spec.endAt ? Date.parse(spec.endAt) : Number.POSITIVE_INFINITY;
  return { startMs, endMs };
}

/** The first fire of `cron` strictly after `afterMs` within the bounds, or null. */
export function cronNextWithin(cron: Cron, bounds: { startMs: number; endMs: number }, afterMs: number): number | null {
  // croner works in whole seconds; asking from just before startAt makes startAt itself inclusive.
  const t = cron.nextRun(new Date(Math.max(afterMs, bounds.startMs - 1)))?.getTime() ?? null;
  return t === null || t >= bounds.endMs ? null : t;
}

/** An interval schedule's anchor: startAt, or the Unix epoch without one. */
export function intervalAnchor(bounds: { startMs: number }): number {
  return Number.isFinite(bounds.startMs) ? bounds.startMs : 0;
}

/** The first anchor + k·periodMs strictly after `t` (and not before the anchor), ignoring endAt. */
export function intervalFirstAfter(anchor: number, periodMs: number, t: number): number {
  return t < anchor ? anchor : anchor + (Math.floor((t - anchor) / periodMs) + 1) * periodMs;
}

/** The first interval fire strictly after `afterMs` within the bounds, or null (endAt is exclusive). */
export function intervalNextWithin(anchor: number, periodMs: number, bounds: { endMs: number }, afterMs: number): number | null {
  const t = intervalFirstAfter(anchor, periodMs, afterMs);
  return t >= bounds.endMs ? null : t;
}

export interface ScheduleFireTimes {
  /** The first fire strictly after `afterMs`, or null when there is none. */
  next(afterMs: number): number | null;
}

/** A spec ready to answer "when next" (throws croner's error for a bad pattern or zone). */
export function compileFireTimes(spec: ScheduleSpec, timeZone: string): ScheduleFireTimes {
  const bounds = scheduleBounds(spec);
  if (spec.kind === 'cron') {
    const cron = newScheduleCron(spec.expression, timeZone);
    return { next: (afterMs) => cronNextWithin(cron, bounds, afterMs) };
  }
  const periodMs = spec.everySeconds * 1000;
  const anchor = intervalAnchor(bounds);
  return { next: (afterMs) => intervalNextWithin(anchor, periodMs, bounds, afterMs) };
}
