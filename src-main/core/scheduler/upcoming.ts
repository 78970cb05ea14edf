/**
 * The Upcoming view's arithmetic: the next fires of every enabled schedule in a window, each in its own zone, computed
 * with the same compiled schedules (croner) the Scheduler fires from. Read-only: it never touches the fire history,
 * so maxRuns (which needs the history) is not applied here and a schedule that ends by count may show extra fires.
 */
import type { ScheduleSpec, UpcomingFire } from '../../../src-shared/contract/schedule';
import { compileSchedule, wallClockIn } from './schedule-math';

export interface ScheduledOwner {
  ownerKind: 'event' | 'workflow';
  ownerId: string;
  name: string;
  schedule: ScheduleSpec | null;
  timeZone: string | null;
  enabled: boolean;
}

/** Fires in (fromMs, toMs], ascending across all owners, at most `limit` in all (`truncated` when more existed). */
export function upcomingFires(owners: readonly ScheduledOwner[], fromMs: number, toMs: number, limit: number): { fires: UpcomingFire[]; truncated: boolean } {
  const fires: UpcomingFire[] = [];
  let truncated = false;
  for (const owner of owners) {
    if (!owner.enabled || !owner.schedule) continue;
    let compiled;
    try {
      compiled = compileSchedule(owner.schedule, owner.timeZone);
    } catch {
      continue; // a schedule that no longer compiles (a zone removed from the system) fires nothing either
    }
    const zone = compiled.timeZone;
    let count = 0;
    for (let t = compiled.next(fromMs); t !== null && t <= toMs; t = compiled.next(t)) {
      // One schedule cannot crowd out the others: each gets at most `limit` before the merge.
      if (count++ >= limit) {
        truncated = true;
        break;
      }
      fires.push({ ownerKind: owner.ownerKind, ownerId: owner.ownerId, name: owner.name, at: new Date(t).toISOString(), timeZone: zone, wallClock: wallClockIn(t, zone) });
    }
  }
  fires.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.name.localeCompare(b.name)));
  if (fires.length > limit) {
    truncated = true;
    fires.length = limit;
  }
  return { fires, truncated };
}
