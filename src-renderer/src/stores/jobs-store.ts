/**
 * Jobs store: the jobs of each event the user has open (newest first), kept current by 'jobs/changed' pushes, and
 * cancel. It holds views only; the job state machine lives in the main process.
 */
import { create } from 'zustand';
import type { JobLinkState, JobView } from '../../../src-shared/contract/jobs';
import { errorMessage, invoke, onEvent } from '../rpc/client';
import { toast } from './toast-store';

interface JobsStore {
  byEvent: Record<string, JobView[] | undefined>;
  error: string | null;
  loadForEvent: (eventId: string) => Promise<void>;
  /** Adds jobs just created (e.g. by Run now) without waiting for their first push. */
  add: (jobs: JobView[]) => void;
  cancel: (jobId: string) => Promise<void>;
  /** Link state of runner jobs someone watches ("link lost at 14:02:11, reconnecting (attempt 3)"); null when up. */
  links: Record<string, JobLinkState | null | undefined>;
  /** Starts following one job's link state (the log header does, for the job of the log it shows). */
  watchLink: (jobId: string) => Promise<void>;
}

let stopListening: (() => void) | undefined;
const newestFirst = (a: JobView, b: JobView) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

function merge(list: JobView[] | undefined, jobs: JobView[]): JobView[] {
  const byId = new Map((list ?? []).map((j) => [j.id, j]));
  for (const job of jobs) byId.set(job.id, job);
  return [...byId.values()].sort(newestFirst).slice(0, 200);
}

let stopLinks: (() => void) | undefined;

export const useJobsStore = create<JobsStore>((set) => ({
  byEvent: {},
  error: null,
  links: {},

  watchLink: async (jobId) => {
    stopLinks ??= onEvent('jobs/changed', ({ job }) => {
      set((s) => (job.id in s.links ? { links: { ...s.links, [job.id]: job.link ?? null } } : s));
    });
    set((s) => (jobId in s.links ? s : { links: { ...s.links, [jobId]: null } }));
    try {
      const job = await invoke('jobs/get', { id: jobId });
      set((s) => ({ links: { ...s.links, [jobId]: job.link ?? null } }));
    } catch {
      // the header simply shows no link state
    }
  },

  loadForEvent: async (eventId) => {
    stopListening ??= onEvent('jobs/changed', ({ job }) => {
      if (!job.eventId) return;
      set((s) => (s.byEvent[job.eventId!] ? { byEvent: { ...s.byEvent, [job.eventId!]: merge(s.byEvent[job.eventId!], [job]) } } : s));
    });
    try {
      const jobs = await invoke('jobs/list', { eventId, limit: 100 });
      set((s) => ({ byEvent: { ...s.byEvent, [eventId]: merge(s.byEvent[eventId], jobs) }, error: null }));
    } catch (err) {
      set({ error: errorMessage(err) });
    }
  },

  add: (jobs) =>
    set((s) => {
      const byEvent = { ...s.byEvent };
      // A push for the job may have arrived before the call that created it returned: that view is newer, keep it.
      for (const job of jobs) {
        if (!job.eventId || byEvent[job.eventId]?.some((j) => j.id === job.id)) continue;
        byEvent[job.eventId] = merge(byEvent[job.eventId], [job]);
      }
      return { byEvent };
    }),

  cancel: async (jobId) => {
    try {
      await invoke('jobs/cancel', { id: jobId });
      toast.info('Cancel requested.');
    } catch (err) {
      toast.error(err);
    }
  },
}));
