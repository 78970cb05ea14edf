/**
 * schedule/* handlers: the event editor's preview of a schedule (words, next runs in the event's zone). Pure: no
 * database, no scheduler state; an invalid expression or zone fails with INVALID_SCHEDULE and the reason per field.
 */
import type { Core } from '../../core/core';
import { compileSchedule, describeSchedule, isoInZone, wallClockIn, workstationTimeZone } from '../../core/scheduler/schedule-math';
import { upcomingFires, type ScheduledOwner } from '../../core/scheduler/upcoming';
import type { HandlersFor } from '../router';

const DAY_MS = 24 * 60 * 60 * 1000;

/** schedule/upcoming: the next fires of every enabled event and workflow schedule, read from their catalogues. */
export function scheduleUpcomingHandlers(core: Core): HandlersFor<'schedule/upcoming'> {
  return {
    'schedule/upcoming': async (input) => {
      const days = input?.days ?? 7;
      const limit = input?.limit ?? 1000;
      const [events, workflows] = await Promise.all([core.events.list(), core.workflows.list()]);
      const owners: ScheduledOwner[] = [
        ...events.map((e) => ({ ownerKind: 'event' as const, ownerId: e.id, name: e.name, schedule: e.schedule, timeZone: e.timeZone, enabled: e.enabled })),
        ...workflows.map((w) => ({ ownerKind: 'workflow' as const, ownerId: w.id, name: w.name, schedule: w.schedule, timeZone: w.timeZone, enabled: w.enabled })),
      ];
      const from = core.clock.now();
      const to = from + days * DAY_MS;
      const { fires, truncated } = upcomingFires(owners, from, to, limit);
      return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), fires, truncated, workstationTimeZone: workstationTimeZone() };
    },
  };
}

export function scheduleHandlers(now: () => number = Date.now): HandlersFor<'schedule/preview'> {
  return {
    'schedule/preview': ({ spec, timeZone, count }) => {
      const compiled = compileSchedule(spec, timeZone);
      const zone = compiled.timeZone;
      const limit = spec.maxRuns === undefined ? count : Math.min(count, spec.maxRuns);
      const nextRuns: Array<{ at: string; wallClock: string }> = [];
      for (let t = compiled.next(now()); t !== null && nextRuns.length < limit; t = compiled.next(t)) {
        nextRuns.push({ at: isoInZone(t, zone), wallClock: wallClockIn(t, zone) });
      }
      const preview = { description: describeSchedule(spec, zone), timeZone: zone, nextRuns };
      if (nextRuns.length === 0) {
        return { ...preview, notice: spec.endAt ? `This schedule has no further runs: it ended at ${wallClockIn(Date.parse(spec.endAt), zone)}.` : 'This schedule has no further runs.' };
      }
      return preview;
    },
  };
}
