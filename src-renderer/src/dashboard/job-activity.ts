/**
 * Job activity for the Dashboard: which jobs are live (queued or running) and which finished most recently, and how a
 * 'jobs/changed' push moves a job between the two. Pure functions over views; they never call the main process.
 */
import { TERMINAL_JOB_STATUSES, type JobStatus, type JobView } from '../../../src-shared/contract/jobs';

export const LIVE_JOB_STATUSES: readonly JobStatus[] = ['QUEUED', 'DISPATCHING', 'RUNNING'];
/** How many finished jobs "Recent results" shows. */
export const RECENT_RESULTS = 10;

export interface JobActivity {
  /** Queued and running jobs, running ones first, then oldest first (the order they will be served in). */
  live: JobView[];
  /** The last finished jobs, most recently finished first. */
  recent: JobView[];
}

export const isLive = (job: JobView) => LIVE_JOB_STATUSES.includes(job.status);
export const isFinished = (job: JobView) => TERMINAL_JOB_STATUSES.includes(job.status);

const liveOrder = (a: JobView, b: JobView) =>
  Number(a.status === 'QUEUED') - Number(b.status === 'QUEUED') || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);
const finishedAt = (j: JobView) => j.finishedAt ?? j.createdAt;
const recentOrder = (a: JobView, b: JobView) => finishedAt(b).localeCompare(finishedAt(a)) || b.id.localeCompare(a.id);

/** Splits any set of job views (duplicates allowed; the later one wins) into live and recent. */
export function toActivity(jobs: JobView[]): JobActivity {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const all = [...byId.values()];
  return {
    live: all.filter(isLive).sort(liveOrder),
    recent: all.filter(isFinished).sort(recentOrder).slice(0, RECENT_RESULTS),
  };
}

/** The activity after one job changed: it leaves the live list when it finishes and joins the recent results. */
export function applyJobChange(activity: JobActivity, job: JobView): JobActivity {
  const others = (list: JobView[]) => list.filter((j) => j.id !== job.id);
  return toActivity([...others(activity.live), ...others(activity.recent), job]);
}
