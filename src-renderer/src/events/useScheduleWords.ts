/**
 * useScheduleWords: an event's schedule in words ("Every 15 minutes"), as 'schedule/preview' says it, cached per
 * schedule and zone so a list of events asks once per distinct schedule.
 */
import { useEffect, useState } from 'react';
import type { EventView } from '../../../src-shared/contract/events';
import { previewSchedule } from '../stores/events-store';

const cache = new Map<string, Promise<string>>();

export function useScheduleWords(event: Pick<EventView, 'schedule' | 'timeZone'>): string {
  const key = event.schedule ? JSON.stringify([event.schedule, event.timeZone]) : '';
  const [words, setWords] = useState(() => (event.schedule ? '…' : 'Manual only'));
  useEffect(() => {
    if (!event.schedule) {
      setWords('Manual only');
      return;
    }
    let pending = cache.get(key);
    if (!pending) {
      pending = previewSchedule(event.schedule, event.timeZone ?? undefined).then((r) => (r.ok ? r.preview.description : `invalid: ${r.message}`));
      cache.set(key, pending);
    }
    let live = true;
    void pending.then((w) => live && setWords(w));
    return () => {
      live = false;
    };
  }, [key]); // the key captures the schedule and zone
  return words;
}
