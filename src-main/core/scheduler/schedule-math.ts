/**
 * Schedule math: when a ScheduleSpec fires, in an IANA time zone. Cron evaluation is croner's (with its DST rules),
 * words are cronstrue's; this module adds validation, caching, ranges and formatting to the fire-time rules it shares
 * with the resident runner (src-shared/schedule-fire-times.ts: bounds, intervals). It never keeps state and never
 * parses cron by itself.
 *
 * DST, as croner 11 does it (fixedTimeRule 'no-wildcard', which is close to Vixie cron), and as the tests pin down:
 * - A fixed-time job (no `*` and no step in its second, minute and hour fields, e.g. `30 2 * * *` or `0 30 2,14 * * *`)
 *   whose wall-clock time falls in a skipped hour (spring forward) fires ONCE that day, at the first valid time after
 *   the gap: 02:30 in Berlin on 2025-03-30 fires at 03:00 CEST. When a wall-clock time occurs twice (fall back) it fires
 *   ONCE, on the first occurrence: 01:30 in New York on 2025-11-02 fires at 01:30 EDT only.
 * - A wildcard or stepped job (`*\/15 * * * *`, `0 * * * *`) measures elapsed time: times that do not exist are not
 *   run, and a repeated hour runs on both passes (every 15 minutes stays every 15 minutes).
 * - Intervals are absolute time (startAt + k·everySeconds, anchored at the Unix epoch without startAt), unaffected
 *   by DST or by the zone.
 * Bounds: startAt is inclusive, endAt exclusive; maxRuns needs the fire history, so the Scheduler applies it.
 */
import type { Cron } from 'croner';
import cronstrue from 'cronstrue';
import {
  ScheduleSpec as ScheduleSpecSchema,
  type ScheduleSpec,
} from '../../../src-shared/contract/schedule';
import { cronNextWithin, intervalAnchor, intervalFirstAfter, intervalNextWithin, newScheduleCron, scheduleBounds } from '../../../src-shared/schedule-fire-times';
import { AppError } from '../errors';

/** A schedule checked once and ready to answer "when next" many times (the Scheduler keeps one per owner). */
export interface CompiledSchedule {
  readonly spec: ScheduleSpec;
  readonly timeZone: string;
  /** The first fire strictly after `afterMs`, or null when there is none (ended, or the pattern never matches). */
  next(afterMs: number): number | null;
  /**
   * Fire times in (fromExclusiveMs, toInclusiveMs], ascending, at most `limit` of them: the LATEST ones when there are
   * more (`more` then says older ones were left out). Cheap when the range holds few fires, bounded when it holds many.
   */
  between(fromExclusiveMs: number, toInclusiveMs: number, limit: number): { times: number[]; more: boolean };
}

export function workstationTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Zones already checked (building an Intl formatter costs ~0.2 ms; 10,000 events share a handful of zones). */
const knownZones = new Map<string, string>();

/** The zone to use: the given IANA name if it is one, the workstation's when none is given. */
export function resolveTimeZone(timeZone: string | null | undefined): string {
  if (timeZone === null || timeZone === undefined || timeZone === '') return workstationTimeZone();
  const known = knownZones.get(timeZone);
  if (known) return known;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
    knownZones.set(timeZone, resolved);
    return resolved;
  } catch {
    throw new AppError(
      'INVALID_SCHEDULE',
      `"${timeZone}" is not a time zone this computer knows; use an IANA name such as Europe/Berlin or America/New_York.`,
      { fields: { timeZone: `unknown time zone "${timeZone}"` } },
    );
  }
}

function invalid(field: string, reason: string): AppError {
  return new AppError('INVALID_SCHEDULE', `The schedule is invalid: ${reason}.`, { fields: { [field]: reason } });
}

/**
 * Parsed patterns shared by expression and zone. A croner pattern holds a 10,000-entry year table (about 80 KB), so
 * 10,000 events must not mean 10,000 copies; sharing is safe because a paused Cron asked with an explicit reference
 * time keeps no state between calls. Bounded so a user typing in the editor cannot grow it without end.
 */
const cronCache = new Map<string, Cron>();
const CRON_CACHE_MAX = 2000;

function parseCron(expression: string, timeZone: string): Cron {
  const key = `${timeZone}\n${expression}`;
  const cached = cronCache.get(key);
  if (cached) return cached;
  let cron: Cron;
  try {
    cron = newScheduleCron(expression, timeZone);
  } catch (err) {
    throw invalid('expression', (err as Error).message.replace(/^CronPattern:\s*/, ''));
  }
  if (cronCache.size >= CRON_CACHE_MAX) cronCache.delete(cronCache.keys().next().value as string);
  cronCache.set(key, cron);
  return cron;
}

function compileCron(spec: Extract<ScheduleSpec, { kind: 'cron' }>, timeZone: string): CompiledSchedule {
  const cron = parseCron(spec.expression, timeZone);
  const bounds = scheduleBounds(spec);
  const { startMs, endMs } = bounds;
  const nextRaw = (afterMs: number): number | null => cron.nextRun(new Date(afterMs))?.getTime() ?? null;
  const next = (afterMs: number): number | null => cronNextWithin(cron, bounds, afterMs);
  if (cron.nextRun(new Date(Number.isFinite(startMs) ? startMs - 1 : 0)) === null) {
    throw invalid('expression', `"${spec.expression}" never matches a date (for example the 31st of February)`);
  }
  return {
    spec,
    timeZone,
    next,
    between(fromExclusiveMs, toInclusiveMs, limit) {
      const lo = Math.max(fromExclusiveMs, startMs - 1);
      const hi = Math.min(toInclusiveMs, endMs - 1);
      const times: number[] = [];
      if (hi <= lo || limit <= 0) return { times, more: false };
      // Walk forward while the range is small; a long range (a week of every-second fires) jumps to the end instead.
      for (let t = nextRaw(lo); t !== null && t <= hi; t = nextRaw(t)) {
        if (times.length === limit) {
          const latest = cron
            .previousRuns(limit, new Date(hi + 1))
            .map((d) => d.getTime())
            .filter((x) => x > lo)
            .reverse();
          return { times: latest, more: true };
        }
        times.push(t);
      }
      return { times, more: false };
    },
  };
}

function compileInterval(spec: Extract<ScheduleSpec, { kind: 'interval' }>, timeZone: string): CompiledSchedule {
  const periodMs = spec.everySeconds * 1000;
  const bounds = scheduleBounds(spec);
  const { endMs } = bounds;
  const anchor = intervalAnchor(bounds);
  /** The first k·period + anchor strictly after t (and not before the anchor). */
  const firstAfter = (t: number): number => intervalFirstAfter(anchor, periodMs, t);
  return {
    spec,
    timeZone,
    next: (afterMs) => intervalNextWithin(anchor, periodMs, bounds, afterMs),
    between(fromExclusiveMs, toInclusiveMs, limit) {
      const hi = Math.min(toInclusiveMs, endMs - 1);
      const first = firstAfter(fromExclusiveMs);
      if (first > hi || limit <= 0) return { times: [], more: false };
      const last = anchor + Math.floor((hi - anchor) / periodMs) * periodMs;
      const total = Math.floor((last - first) / periodMs) + 1;
      const n = Math.min(total, limit);
      const times: number[] = [];
      for (let i = n - 1; i >= 0; i--) times.push(last - i * periodMs);
      return { times, more: total > limit };
    },
  };
}

/** Checks a spec (shape, cron fields, zone, bounds) and prepares it; throws AppError INVALID_SCHEDULE with the reason. */
export function compileSchedule(spec: ScheduleSpec, timeZone?: string | null): CompiledSchedule {
  const parsed = ScheduleSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(issue?.path.map(String).join('.') || 'spec', issue?.message ?? 'not a schedule');
  }
  const zone = resolveTimeZone(timeZone);
  const s = parsed.data;
  if (s.startAt && s.endAt && Date.parse(s.endAt) <= Date.parse(s.startAt)) {
    throw invalid('endAt', 'the end time must be after the start time');
  }
  return s.kind === 'cron' ? compileCron(s, zone) : compileInterval(s, zone);
}

/** Throws INVALID_SCHEDULE (with fields.expression / fields.timeZone / ...) when the spec cannot be scheduled. */
export function validateSchedule(spec: ScheduleSpec, timeZone?: string | null): void {
  compileSchedule(spec, timeZone);
}

/** The next `count` fires strictly after `after`, honouring startAt/endAt (not maxRuns: that needs the history). */
export function nextFireTimes(spec: ScheduleSpec, timeZone: string | null | undefined, after: Date, count: number): Date[] {
  const compiled = compileSchedule(spec, timeZone);
  const out: Date[] = [];
  let t: number | null = after.getTime();
  while (out.length < count && (t = compiled.next(t)) !== null) out.push(new Date(t));
  return out;
}

/** Fires in (fromExclusive, toInclusive], ascending; the latest `limit` of them when there are more. */
export function fireTimesBetween(
  spec: ScheduleSpec,
  timeZone: string | null | undefined,
  fromExclusive: Date,
  toInclusive: Date,
  limit: number,
): Date[] {
  return compileSchedule(spec, timeZone)
    .between(fromExclusive.getTime(), toInclusive.getTime(), limit)
    .times.map((t) => new Date(t));
}

const wallClockFormats = new Map<string, Intl.DateTimeFormat>();
const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** "Sun 30 Mar 2025, 03:00:00 CEST": what a person in that zone reads on their clock. */
export function wallClockIn(ms: number, timeZone: string): string {
  let f = wallClockFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      day: '2-digit',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    wallClockFormats.set(timeZone, f);
  }
  return f.format(new Date(ms)).replace(/^(\w{3}),? /, '$1 ');
}

/** ISO 8601 with the zone's offset at that instant: 2025-03-30T03:00:00+02:00. */
export function isoInZone(ms: number, timeZone: string): string {
  let f = offsetFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    offsetFormats.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const offset = (p.timeZoneName ?? 'GMT').replace(/^GMT/, '') || '+00:00';
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${offset}`;
}

function intervalWords(seconds: number): string {
  const units: Array<[number, string]> = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, name] of units) {
    if (seconds % size === 0) {
      const n = seconds / size;
      return n === 1 ? `Every ${name}` : `Every ${n} ${name}s`;
    }
  }
  return `Every ${seconds} seconds`;
}

function cronWords(expression: string): string {
  try {
    return cronstrue.toString(expression, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    // croner accepts a few forms cronstrue cannot put into words; the expression itself is still the truth.
    return `Cron "${expression}"`;
  }
}

/** The schedule in words, with its zone and bounds: "At 02:30 (Europe/Berlin), until Tue 31 Mar 2026, ...". */
export function describeSchedule(spec: ScheduleSpec, timeZone?: string | null): string {
  const compiled = compileSchedule(spec, timeZone);
  const s = compiled.spec;
  let words = s.kind === 'cron' ? `${cronWords(s.expression)} (${compiled.timeZone})` : intervalWords(s.everySeconds);
  if (s.startAt) words += `, from ${wallClockIn(Date.parse(s.startAt), compiled.timeZone)}`;
  if (s.endAt) words += `, until ${wallClockIn(Date.parse(s.endAt), compiled.timeZone)}`;
  if (s.maxRuns) words += `, at most ${s.maxRuns} run${s.maxRuns === 1 ? '' : 's'}`;
  return words;
}
