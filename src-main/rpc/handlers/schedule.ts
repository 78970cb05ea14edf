/**
 * schedule/* handlers: the event editor's preview of a schedule (words, next runs in the event's zone). Pure: no
 * database, no scheduler state; an invalid expression or zone fails with INVALID_SCHEDULE and the reason per field.
 */
import { compileSchedule, describeSchedule, isoInZone, wallClockIn } from '../../core/scheduler/schedule-math';
import type { HandlersFor } from '../router';

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
