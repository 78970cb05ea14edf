/**
 * Events store: the Events pane's list and the save / duplicate / delete / run actions, the schedule history, the
 * schedule preview and (when the contract has it) the runner compatibility check the editor shows. Secret values pass
 * through save() once and are never kept here; field errors from AppError.fields go back to the editor.
 */
import { create } from 'zustand';
import type { EventInput, EventView } from '../../../src-shared/contract/events';
import type { RunnerCompatibility, RunnerRequirements } from '../../../src-shared/contract/runners';
import type { SchedulePreview } from '../../../src-shared/contract/schedule';
import type { JobView } from '../../../src-shared/contract/jobs';
import { errorMessage, invoke, onEvent, RpcError } from '../rpc/client';
import { failureOf, type SaveOutcome } from './servers-store';
import { toast } from './toast-store';

export interface ScheduleFire {
  id: string;
  scheduledFor: string;
  outcome: string;
  reason: string | null;
  jobIds: string[];
  firedAt: string;
}

interface EventsStore {
  events: EventView[];
  loaded: boolean;
  loading: boolean;
  error: string | null;
  load: () => Promise<void>;
  save: (input: EventInput) => Promise<SaveOutcome<EventView>>;
  duplicate: (id: string) => Promise<EventView | null>;
  remove: (id: string) => Promise<boolean>;
  run: (id: string) => Promise<JobView[] | null>;
  history: (id: string) => Promise<ScheduleFire[]>;
}

let stopListening: (() => void) | undefined;

function upsert(list: EventView[], event: EventView): EventView[] {
  const i = list.findIndex((e) => e.id === event.id);
  const next = i === -1 ? [...list, event] : list.map((e) => (e.id === event.id ? event : e));
  return next.sort((a, b) => a.name.localeCompare(b.name));
}

/** The event with `job` as its last run, unless the event already knows a newer one. */
export function withLastRun(event: EventView, job: JobView): EventView {
  const last = event.lastRun;
  if (last && last.jobId !== job.id && last.at > job.createdAt) return event;
  return { ...event, lastRun: { jobId: job.id, status: job.status, at: job.finishedAt ?? job.startedAt ?? job.createdAt } };
}

export const useEventsStore = create<EventsStore>((set, get) => ({
  events: [],
  loaded: false,
  loading: false,
  error: null,

  load: async () => {
    if (!stopListening) {
      const stops = [
        onEvent('events/changed', ({ event, deletedId }) => {
          if (event) set((s) => ({ events: upsert(s.events, event) }));
          if (deletedId) set((s) => ({ events: s.events.filter((e) => e.id !== deletedId) }));
        }),
        // A run's progress changes the event's "last run" without an 'events/changed' push: follow it here.
        onEvent('jobs/changed', ({ job }) => {
          set((s) => ({ events: s.events.map((e) => (e.id === job.eventId ? withLastRun(e, job) : e)) }));
        }),
      ];
      stopListening = () => stops.forEach((stop) => stop());
    }
    set({ loading: true });
    try {
      const events = await invoke('events/list');
      set({ events: [...events].sort((a, b) => a.name.localeCompare(b.name)), loaded: true, loading: false, error: null });
    } catch (err) {
      set({ loading: false, error: errorMessage(err) });
    }
  },

  save: async (input) => {
    try {
      const saved = await invoke('events/save', input);
      set((s) => ({ events: upsert(s.events, saved) }));
      toast.success(`Event ${saved.name} saved (version ${saved.version}).`);
      return { ok: true, value: saved };
    } catch (err) {
      return failureOf(err);
    }
  },

  duplicate: async (id) => {
    try {
      const copy = await invoke('events/duplicate', { id });
      set((s) => ({ events: upsert(s.events, copy) }));
      toast.success(`Created ${copy.name}.`);
      return copy;
    } catch (err) {
      toast.error(err);
      return null;
    }
  },

  remove: async (id) => {
    const name = get().events.find((e) => e.id === id)?.name ?? 'event';
    try {
      await invoke('events/delete', { id });
      set((s) => ({ events: s.events.filter((e) => e.id !== id) }));
      toast.success(`Event ${name} deleted.`);
      return true;
    } catch (err) {
      toast.error(err);
      return false;
    }
  },

  run: async (id) => {
    try {
      const { jobs } = await invoke('events/run', { id });
      toast.info(`Started ${jobs.length} job${jobs.length === 1 ? '' : 's'}.`);
      return jobs;
    } catch (err) {
      toast.error(err);
      return null;
    }
  },

  history: async (id) => invoke('events/history', { id, limit: 100 }),
}));

/** The schedule's words and next runs, or the reason it is invalid (shown at the schedule field). */
export async function previewSchedule(
  spec: NonNullable<EventInput['schedule']>,
  timeZone: string | undefined,
): Promise<{ ok: true; preview: SchedulePreview } | { ok: false; message: string }> {
  try {
    return { ok: true, preview: await invoke('schedule/preview', { spec, timeZone, count: 5 }) };
  } catch (err) {
    return { ok: false, message: err instanceof RpcError ? err.fields?.expression ?? err.message : errorMessage(err) };
  }
}

/**
 * Which target servers have a runner that can run the event; null when the check itself failed (the editor then
 * shows no warning rather than a wrong one).
 */
export async function runnerCompatibility(
  serverIds: string[],
  requirements: RunnerRequirements | null,
): Promise<RunnerCompatibility[] | null> {
  if (serverIds.length === 0) return [];
  try {
    return await invoke('runners/compatibility', { serverIds, requirements });
  } catch {
    return null;
  }
}
