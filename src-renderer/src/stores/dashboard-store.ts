/**
 * Dashboard store: what the app is (system/info), its counts (system/stats) and the job activity (live and recently
 * finished jobs from 'jobs/list'). While the Dashboard is shown it follows 'jobs/changed' and 'runners/changed',
 * re-counting at most once per debounce window; it never caches across app starts and holds views only.
 */
import { create } from 'zustand';
import type { JobView } from '../../../src-shared/contract/jobs';
import type { SystemInfo, SystemStats } from '../../../src-shared/contract/system';
import { applyJobChange, LIVE_JOB_STATUSES, toActivity } from '../dashboard/job-activity';
import { errorMessage, invoke, onEvent } from '../rpc/client';

/** A burst of job or runner changes (a workflow fanning out, a health sweep) costs one re-count. */
const STATS_DEBOUNCE_MS = 400;
/** Finished jobs fetched to find the last ten; newest-created first, so a long job finishing late is still among them. */
const RECENT_FETCH = 50;

interface DashboardStore {
  info: SystemInfo | null;
  stats: SystemStats | null;
  live: JobView[];
  recent: JobView[];
  /** Whether the job activity has loaded once (so an empty list means "nothing", not "not yet"). */
  activityLoaded: boolean;
  loading: boolean;
  error: string | null;
  /** Why the counts or the job activity could not be read (the app facts may still be shown). */
  activityError: string | null;
  load: () => Promise<void>;
  refreshStats: () => Promise<void>;
  /** Follows job and runner pushes until the returned function is called (the Dashboard calls it on unmount). */
  follow: () => () => void;
}

async function fetchJobs(): Promise<JobView[]> {
  const lists = await Promise.all([
    ...LIVE_JOB_STATUSES.map((status) => invoke('jobs/list', { status, limit: 100 })),
    invoke('jobs/list', { limit: RECENT_FETCH }),
  ]);
  return lists.flat();
}

export const useDashboardStore = create<DashboardStore>((set, get) => ({
  info: null,
  stats: null,
  live: [],
  recent: [],
  activityLoaded: false,
  loading: false,
  error: null,
  activityError: null,

  load: async () => {
    set({ loading: true });
    const [info, stats, jobs] = await Promise.allSettled([invoke('system/info'), invoke('system/stats'), fetchJobs()]);
    set({
      loading: false,
      ...(info.status === 'fulfilled' ? { info: info.value, error: null } : { error: errorMessage(info.reason) }),
      ...(stats.status === 'fulfilled' ? { stats: stats.value } : {}),
      ...(jobs.status === 'fulfilled' ? { ...toActivity(jobs.value), activityLoaded: true } : {}),
      activityError:
        stats.status === 'rejected' ? errorMessage(stats.reason) : jobs.status === 'rejected' ? errorMessage(jobs.reason) : null,
    });
  },

  refreshStats: async () => {
    try {
      set({ stats: await invoke('system/stats'), activityError: null });
    } catch (err) {
      set({ activityError: errorMessage(err) });
    }
  },

  follow: () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const recount = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        void get().refreshStats();
      }, STATS_DEBOUNCE_MS);
    };
    const stopJobs = onEvent('jobs/changed', ({ job }) => {
      set((s) => applyJobChange({ live: s.live, recent: s.recent }, job));
      recount();
    });
    const stopRunners = onEvent('runners/changed', recount);
    return () => {
      stopJobs();
      stopRunners();
      if (timer) clearTimeout(timer);
    };
  },
}));
