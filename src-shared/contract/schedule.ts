/**
 * Schedules: the shape of an event's or workflow's schedule (cron with optional seconds, or a fixed interval), its
 * misfire and overlap policies, the preview the event editor shows, and the fire records kept as its history.
 * Pure schemas only: whether a cron expression really parses (and in which time zone) is decided in the main process
 * (src-main/core/scheduler/schedule-math.ts) and reported through 'schedule/preview' as INVALID_SCHEDULE.
 */
import { z } from 'zod';
import { call } from './define';

const IsoInstant = z.iso.datetime({ offset: true });

/** 5 fields (minute precision) or 6 (a leading seconds field); croner checks the values themselves. */
export const CronExpression = z
  .string()
  .trim()
  .refine((s) => {
    const n = s.split(/\s+/).filter(Boolean).length;
    return n === 5 || n === 6;
  }, 'a cron expression has 5 fields (minute hour day month weekday) or 6 (with a leading seconds field)');

const ScheduleBounds = {
  /** No fire before this instant (inclusive). Also the anchor of an interval schedule. */
  startAt: IsoInstant.optional(),
  /** No fire at or after this instant (exclusive). */
  endAt: IsoInstant.optional(),
  /** Stop after this many fired runs (skips and misfires do not count). */
  maxRuns: z.number().int().min(1).optional(),
};

export const ScheduleSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('cron'), expression: CronExpression, ...ScheduleBounds }),
  /** Absolute time: every N seconds from startAt (or from the Unix epoch), unaffected by DST. */
  z.object({ kind: z.literal('interval'), everySeconds: z.number().int().min(1), ...ScheduleBounds }),
]);
export type ScheduleSpec = z.infer<typeof ScheduleSpec>;

/** What happens to scheduled times missed while the app was closed or the machine slept. */
export const MisfirePolicy = z.enum(['skip', 'run_once', 'run_each']);
export type MisfirePolicy = z.infer<typeof MisfirePolicy>;
/** How far back run_once / run_each reach: missed times older than this are recorded as skipped. */
export const DEFAULT_MISFIRE_WINDOW_SECONDS = 24 * 3600;
/** run_each never starts more catch-up runs than this at once; older missed times are recorded as skipped. */
export const MAX_CATCH_UP_FIRES = 1000;
export const MisfireWindowSeconds = z.number().int().min(1).max(366 * 24 * 3600);

/** What happens to a fire that comes while the previous run of the same event is still running. */
export const OverlapPolicy = z.enum(['skip', 'queue', 'allow']);
export type OverlapPolicy = z.infer<typeof OverlapPolicy>;

/**
 * The schedule settings an event and a workflow both carry, as plain zod fields to spread into their z.object({...}):
 * one definition of the fields, their limits and defaults. The input form fills in defaults; the view has none.
 */
export const ScheduleSettingsFields = {
  schedule: ScheduleSpec.nullable().default(null),
  /** IANA zone; null = the workstation's zone. */
  timeZone: z.string().max(64).nullable().default(null),
  misfirePolicy: MisfirePolicy.default('run_once'),
  overlapPolicy: OverlapPolicy.default('skip'),
  enabled: z.boolean().default(true),
};
export const ScheduleSettingsViewFields = {
  schedule: ScheduleSpec.nullable(),
  timeZone: z.string().nullable(),
  misfirePolicy: MisfirePolicy,
  overlapPolicy: OverlapPolicy,
  enabled: z.boolean(),
};

export const FireOutcome = z.enum(['fired', 'skipped_overlap', 'skipped_misfire', 'queued']);
export type FireOutcome = z.infer<typeof FireOutcome>;

/** One line of a schedule's history (the schedule_fires table). */
export const FireRecord = z.object({
  ownerKind: z.enum(['event', 'workflow']),
  ownerId: z.string(),
  /** The nominal time this fire was for (UTC ISO), not when it ran. */
  scheduledFor: z.string(),
  /** `<kind>:<id>:<scheduledFor>`: one scheduled time fires at most once, across restarts and races. */
  idempotencyKey: z.string(),
  outcome: FireOutcome,
  reason: z.string().optional(),
  jobIds: z.array(z.string()),
  /** When the scheduler decided (UTC ISO). */
  firedAt: z.string(),
});
export type FireRecord = z.infer<typeof FireRecord>;

export const SchedulePreviewInput = z.object({
  spec: ScheduleSpec,
  /** IANA name; omitted = the workstation's zone. */
  timeZone: z.string().min(1).optional(),
  /** How many upcoming runs to list. */
  count: z.number().int().min(1).max(50).default(5),
});

export const SchedulePreview = z.object({
  /** The schedule in words, e.g. "At 02:30" / "Every 15 minutes", with its bounds. */
  description: z.string(),
  /** The zone the runs below are given in (resolved when the input omitted it). */
  timeZone: z.string(),
  nextRuns: z.array(
    z.object({
      /** ISO 8601 with the zone's offset at that instant, e.g. 2025-03-30T03:00:00+02:00. */
      at: z.string(),
      /** The wall clock in the event's zone, e.g. "Sun 30 Mar 2025, 03:00:00 CEST". */
      wallClock: z.string(),
    }),
  ),
  /** Something the user should know that is not an error, e.g. "this schedule has no further runs (ends ...)". */
  notice: z.string().optional(),
});
export type SchedulePreview = z.infer<typeof SchedulePreview>;

/** One coming fire of an enabled event's or workflow's schedule, for the Upcoming view. */
export const UpcomingFire = z.object({
  ownerKind: z.enum(['event', 'workflow']),
  ownerId: z.string(),
  name: z.string(),
  /** UTC ISO instant. */
  at: z.string(),
  /** The schedule's own zone (resolved: never null) and the wall clock there, e.g. "Mon 07 Dec 2026, 02:30:00 CET". */
  timeZone: z.string(),
  wallClock: z.string(),
});
export type UpcomingFire = z.infer<typeof UpcomingFire>;

export const scheduleCalls = {
  /** Words and next runs for a schedule being edited; an invalid expression or zone fails with INVALID_SCHEDULE. */
  'schedule/preview': call(SchedulePreviewInput, SchedulePreview),
  /** The next fires of every enabled schedule over the coming `days`, ascending; at most `limit` (truncated says so). */
  'schedule/upcoming': call(
    z.object({ days: z.number().int().min(1).max(31).default(7), limit: z.number().int().min(1).max(5000).default(1000) }).optional(),
    z.object({ from: z.string(), to: z.string(), fires: z.array(UpcomingFire), truncated: z.boolean(), workstationTimeZone: z.string() }),
  ),
};

export const scheduleEvents = {
  /** A fire or skip was recorded (the event's history pane appends it). */
  'schedule/fired': FireRecord,
};
