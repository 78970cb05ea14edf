/**
 * ResidentScheduler: decides when the resident runner fires each schedule of its manifest. Time comes from the
 * injected clock and timer (the DST test drives it with a fake clock), firing from the injected `fire`. It keeps the
 * last scheduled time fired per schedule (persisted by the caller), so after a restart the times missed while it was
 * down go through the schedule's misfire policy exactly as the app's scheduler does: skip records them as skipped,
 * run_once runs the latest one (within the misfire window), run_each runs each one (bounded). A due time handled more
 * than GRACE_MS late (the server slept, the clock jumped) counts as missed too. One timer, re-armed at least every
 * MAX_WAIT_MS so a clock change is noticed.
 */
import type { ResidentSchedule } from '../../src-shared/protocol/resident';
import { compileFireTimes, type ScheduleFireTimes } from '../../src-shared/schedule-fire-times';

export const GRACE_MS = 60_000;
export const MAX_WAIT_MS = 30_000;
/** run_each never starts more catch-up fires than this at once. */
export const MAX_CATCH_UP = 100;

/**
 * Where a schedule's fire times go on from: its last handled time, never before it became active (the manifest's
 * activeSince); activeSince for one never handled, `now` when it has neither.
 */
export function fireCursor(schedule: ResidentSchedule, lastHandled: number | undefined, now: number): number {
  const activeSince = Date.parse(schedule.activeSince);
  if (!Number.isFinite(activeSince)) return lastHandled ?? now;
  return lastHandled !== undefined ? Math.max(lastHandled, activeSince) : activeSince;
}

/**
 * The next time the daemon fires `schedule` (for `resident status`): the first after its cursor and after now, as
 * ResidentScheduler arms it once the missed times are handled. Null when there is none or the zone is unknown here.
 */
export function nextResidentFire(schedule: ResidentSchedule, lastHandled: number | undefined, now: number): number | null {
  try {
    return compileFireTimes(schedule.spec, schedule.timeZone).next(Math.max(now, fireCursor(schedule, lastHandled, now)));
  } catch {
    return null;
  }
}

export interface ResidentClock {
  now(): number;
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

export interface ResidentSchedulerDeps {
  clock: ResidentClock;
  /** Fires (or skips) one scheduled time; `missed` times go through here with outcome decided by the policy. */
  fire(schedule: ResidentSchedule, scheduledForMs: number, decision: 'fire' | 'catch_up' | 'skipped_misfire'): void;
  /** The last scheduled time handled per schedule id (persisted by the caller). */
  lastHandled: Map<string, number>;
  persist(): void;
}

interface Entry {
  schedule: ResidentSchedule;
  times: ScheduleFireTimes;
  nextMs: number | null;
}

export class ResidentScheduler {
  private entries = new Map<string, Entry>();
  private timer: { cancel(): void } | null = null;
  private stopped = false;

  constructor(private readonly deps: ResidentSchedulerDeps) {}

  /** Replaces the schedules (a new manifest); missed times since each one's last fire are handled first. */
  load(schedules: ResidentSchedule[]): void {
    const now = this.deps.clock.now();
    const next = new Map<string, Entry>();
    for (const schedule of schedules) {
      let times: ScheduleFireTimes;
      try {
        times = compileFireTimes(schedule.spec, schedule.timeZone);
      } catch {
        continue; // the app validated it; a zone the server's Node does not know leaves this one schedule idle
      }
      const entry: Entry = { schedule, times, nextMs: times.next(fireCursor(schedule, this.deps.lastHandled.get(schedule.id), now)) };
      next.set(schedule.id, entry);
    }
    this.entries = next;
    for (const id of [...this.deps.lastHandled.keys()]) if (!next.has(id)) this.deps.lastHandled.delete(id);
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  private tick(): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = null;
    const now = this.deps.clock.now();
    let changed = false;
    for (const e of this.entries.values()) {
      if (e.nextMs === null || e.nextMs > now) continue;
      const due: number[] = [];
      for (let t: number | null = e.nextMs; t !== null && t <= now; t = e.times.next(t)) {
        due.push(t);
        if (due.length > 100_000) break;
      }
      this.handleDue(e, due, now);
      // As nextResidentFire reports it: the last handled time is past activeSince, so it is the cursor.
      e.nextMs = e.times.next(Math.max(due[due.length - 1], now));
      this.deps.lastHandled.set(e.schedule.id, due[due.length - 1]);
      changed = true;
    }
    if (changed) this.deps.persist();
    let earliest = Number.POSITIVE_INFINITY;
    for (const e of this.entries.values()) if (e.nextMs !== null) earliest = Math.min(earliest, e.nextMs);
    const wait = Math.max(0, Math.min(earliest - now, MAX_WAIT_MS));
    this.timer = this.deps.clock.setTimer(() => this.tick(), wait);
  }

  /** On time: fire. Late (missed): the misfire policy decides, within its window. */
  private handleDue(e: Entry, due: number[], now: number): void {
    const onTime = due.filter((t) => now - t <= GRACE_MS);
    const missed = due.filter((t) => now - t > GRACE_MS);
    const s = e.schedule;
    if (missed.length > 0) {
      const windowStart = now - s.misfireWindowSeconds * 1000;
      const inWindow = missed.filter((t) => t >= windowStart);
      let run: number[] = [];
      if (s.misfirePolicy === 'run_once' && onTime.length === 0 && inWindow.length > 0) run = [inWindow[inWindow.length - 1]];
      if (s.misfirePolicy === 'run_each') run = inWindow.slice(-MAX_CATCH_UP);
      const runSet = new Set(run);
      // Only the latest skipped times are recorded: a week of every-second fires must not write a million lines.
      const skipped = missed.filter((t) => !runSet.has(t)).slice(-20);
      for (const t of skipped) this.deps.fire(s, t, 'skipped_misfire');
      for (const t of run) this.deps.fire(s, t, 'catch_up');
    }
    for (const t of onTime) this.deps.fire(s, t, 'fire');
  }
}
