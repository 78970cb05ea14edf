/**
 * Runs store: event runs over several servers (the fleet summary), the newest run of each event started from this
 * window, and the run actions: start (with parameters), re-run failed, run again, cancel the rest. Kept current by
 * 'jobs/changed' pushes of the runs' jobs. Parameter values pass through once and are never kept here.
 */
import { create } from 'zustand';
import type { RunView } from '../../../src-shared/contract/runs';
import type { JobView } from '../../../src-shared/contract/jobs';
import type { ParameterValues } from '../../../src-shared/contract/run-parameters';
import { invoke, onEvent } from '../rpc/client';
import { failureOf } from './servers-store';
import { toast } from './toast-store';

export type RunOutcome = { ok: true; runId: string; jobs: JobView[] } | { ok: false; message: string; fields: Record<string, string> };

interface RunsStore {
  byId: Record<string, RunView | undefined>;
  /** The newest run of each event started or repeated from this window. */
  latestByEvent: Record<string, string | undefined>;
  /** `directSshAnyway`: the user chose to run a direct-ssh event while direct-ssh is only a fallback (phase 5). */
  start: (eventId: string, parameters?: ParameterValues, opts?: { directSshAnyway?: boolean }) => Promise<RunOutcome>;
  load: (runId: string) => Promise<void>;
  rerunFailed: (runId: string, parameters?: ParameterValues) => Promise<RunOutcome>;
  runAgain: (runId: string, parameters?: ParameterValues) => Promise<RunOutcome>;
  cancelRest: (runId: string) => Promise<void>;
}

let stopListening: (() => void) | undefined;
const pending = new Set<string>();
/** Runs shown or being loaded: a push for one of their jobs reads the run again (even before its first read returns). */
const watched = new Set<string>();

export const useRunsStore = create<RunsStore>((set, get) => {
  const listen = () => {
    // A job of a run we show changed: read the run again (batched, so ten jobs ending at once cost one read each run).
    stopListening ??= onEvent('jobs/changed', ({ job }) => {
      const runId = job.runId;
      if (!runId || !watched.has(runId) || pending.has(runId)) return;
      pending.add(runId);
      setTimeout(() => {
        pending.delete(runId);
        void get().load(runId);
      }, 150);
    });
  };
  const remember = (run: RunView) => {
    watched.add(run.id);
    // Jobs may have moved on while the call returned: read the run once more.
    void get().load(run.id);
    set((s) => ({ byId: { ...s.byId, [run.id]: run }, latestByEvent: run.eventId ? { ...s.latestByEvent, [run.eventId]: run.id } : s.latestByEvent }));
  };
  const repeat = async (call: 'runs/rerunFailed' | 'runs/runAgain', runId: string, parameters?: ParameterValues): Promise<RunOutcome> => {
    listen();
    try {
      const run = await invoke(call, { id: runId, ...(parameters ? { parameters } : {}) });
      remember(run);
      toast.info(`Started ${run.jobs.length} job${run.jobs.length === 1 ? '' : 's'}.`);
      return { ok: true, runId: run.id, jobs: run.jobs };
    } catch (err) {
      return failureOf(err);
    }
  };
  return {
    byId: {},
    latestByEvent: {},

    start: async (eventId, parameters, opts) => {
      listen();
      try {
        const { jobs, runId } = await invoke('events/run', { id: eventId, ...(parameters ? { parameters } : {}), ...(opts?.directSshAnyway ? { directSshAnyway: true } : {}) });
        toast.info(`Started ${jobs.length} job${jobs.length === 1 ? '' : 's'}.`);
        if (runId) {
          set((s) => ({ latestByEvent: { ...s.latestByEvent, [eventId]: runId } }));
          void get().load(runId);
        }
        return { ok: true, runId: runId ?? '', jobs };
      } catch (err) {
        return failureOf(err);
      }
    },

    load: async (runId) => {
      listen();
      watched.add(runId);
      try {
        const run = await invoke('runs/get', { id: runId });
        set((s) => ({ byId: { ...s.byId, [run.id]: run } }));
      } catch {
        // the summary keeps what it showed
      }
    },

    rerunFailed: (runId, parameters) => repeat('runs/rerunFailed', runId, parameters),
    runAgain: (runId, parameters) => repeat('runs/runAgain', runId, parameters),

    cancelRest: async (runId) => {
      try {
        const run = await invoke('runs/cancelRest', { id: runId });
        set((s) => ({ byId: { ...s.byId, [run.id]: run } }));
      } catch (err) {
        toast.error(err);
      }
    },
  };
});
