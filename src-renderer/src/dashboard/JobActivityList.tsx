/**
 * JobActivityList: the Dashboard's rows of jobs (event, server, status, when), each opening its log in the Logs pane.
 * A job without a log yet (still queued) is shown but not clickable. Reads nothing itself; the pane passes the jobs.
 */
import { describeJobLink, type JobView } from '../../../src-shared/contract/jobs';
import { StatusBadge } from '../components/StatusBadge';
import { formatAge, formatDuration } from '../components/format';
import { DeployProgressNote } from '../runners/DeployProgressNote';

export interface JobActivityListProps {
  jobs: JobView[];
  label: string;
  now: number;
  onOpenLog: (logId: string) => void;
}

function describeWhen(job: JobView, now: number): string {
  if (job.status === 'QUEUED') return `queued ${formatAge(job.createdAt, now)}`;
  if (job.finishedAt) return `${formatAge(job.finishedAt, now)} · took ${formatDuration(job.durationMs)}`;
  if (job.startedAt) return `running for ${formatDuration(Math.max(0, now - new Date(job.startedAt).getTime()))}`;
  return `dispatching since ${formatAge(job.createdAt, now)}`;
}

function JobLine({ job, now }: { job: JobView; now: number }) {
  return (
    <>
      <span className="job-activity-what">
        <span className="job-activity-event">{job.eventName ?? 'Deleted event'}</span>
        <span className="muted"> on {job.serverName ?? 'a removed server'}</span>
        {job.attempt > 1 && <span className="muted"> · attempt {job.attempt} of {job.maxAttempts}</span>}
        {job.link && <span className="partial-note" role="status"> · {describeJobLink(job.link)}</span>}
        <DeployProgressNote serverId={job.serverId} waiting={job.status === 'QUEUED' || job.status === 'DISPATCHING'} />
      </span>
      <span className="job-activity-when muted">{describeWhen(job, now)}</span>
      <StatusBadge status={job.status} />
    </>
  );
}

export function JobActivityList({ jobs, label, now, onOpenLog }: JobActivityListProps) {
  return (
    <ul className="job-activity" aria-label={label}>
      {jobs.map((job) => (
        <li key={job.id} data-testid="job-activity-row" data-status={job.status}>
          {job.logId ? (
            <button
              type="button"
              className="job-activity-row job-activity-open"
              title="Open this job's log"
              onClick={() => onOpenLog(job.logId!)}
            >
              <JobLine job={job} now={now} />
            </button>
          ) : (
            <div className="job-activity-row" title="No log yet: it starts when the job is dispatched">
              <JobLine job={job} now={now} />
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}
