/**
 * LogHeader: what a person checks first about a run: status (with a live indicator while it runs, and a clear note
 * when it is PARTIAL), event, server, mode, times, duration, exit code and the reason it ended the way it did. The
 * status speaks the job's words (RUNNING), with the log's stream state as its detail (streaming from the runner).
 */
import { useEffect, useState } from 'react';
import { useStore } from 'zustand';
import { LogStatusBadge } from '../components/StatusBadge';
import { formatDuration, formatTime } from '../components/format';
import { LIVE_LOG_STATUSES, type LogSession } from '../stores/logs-store';
import { useJobsStore } from '../stores/jobs-store';
import { DeployProgressNote } from '../runners/DeployProgressNote';
import { describeJobLink } from '../../../src-shared/contract/jobs';

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

export function LogHeader({ session }: { session: LogSession }) {
  const log = useStore(session, (s) => s.log);
  const live = log ? LIVE_LOG_STATUSES.includes(log.status) : false;
  const now = useNow(live);
  const jobId = log?.jobId;
  const link = useJobsStore((s) => (jobId ? s.links[jobId] : null));
  useEffect(() => {
    if (jobId) void useJobsStore.getState().watchLink(jobId);
  }, [jobId]);
  if (!log) return <div className="log-header muted">Loading log…</div>;
  const elapsed = log.durationMs ?? (log.startedAt ? now - new Date(log.startedAt).getTime() : null);
  return (
    <section className="log-header" aria-label="Log summary" data-status={log.status}>
      <div className="log-header-top">
        <span role="status">
          <LogStatusBadge status={log.status} />
        </span>
        {log.status === 'PARTIAL' && (
          <span className="partial-note" role="status" data-testid="job-link-state">
            {link ? `partial: ${describeJobLink(link)}` : 'partial: connection lost, waiting to re-attach'}
          </span>
        )}
        <h2 className="log-header-title">{log.eventName ?? 'Deleted event'}</h2>
        <span className="muted">on {log.serverName ?? 'a deleted server'}</span>
        <DeployProgressNote serverId={log.serverId} waiting={log.status === 'PENDING'} />
      </div>
      <dl className="facts log-facts">
        <div>
          <dt>Exit code</dt>
          <dd data-testid="log-exit-code">{log.exitCode ?? '—'}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(elapsed)}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatTime(log.startedAt ?? log.createdAt)}</dd>
        </div>
        <div>
          <dt>Finished</dt>
          <dd>{formatTime(log.finishedAt)}</dd>
        </div>
        <div>
          <dt>Mode</dt>
          <dd>{log.executionMode ?? '—'}</dd>
        </div>
        {log.runnerVersion && (
          <div>
            <dt>Runner</dt>
            <dd>{log.runnerVersion}</dd>
          </div>
        )}
      </dl>
      {log.reason && (
        <p className={`log-reason${log.status === 'SUCCESS' ? '' : ' log-reason-bad'}`} data-testid="log-reason">
          {log.reason}
        </p>
      )}
    </section>
  );
}
