/**
 * EventDetails: one event: its facts and recent runs (Overview), the live log of any run (Logs, the same viewer as
 * the Logs pane) and its schedule history (History). "Run now" starts one job per target server and shows its log.
 */
import { useEffect, useRef, useState } from 'react';
import type { EventView } from '../../../src-shared/contract/events';
import type { JobView } from '../../../src-shared/contract/jobs';
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { StatusBadge, LIVE_STATUSES } from '../components/StatusBadge';
import { formatDuration, formatTime, formatTimeInZone, workstationZone } from '../components/format';
import { LogViewer } from '../logs/LogViewer';
import { useEventsStore, type ScheduleFire } from '../stores/events-store';
import { useJobsStore } from '../stores/jobs-store';
import { useNavigationStore } from '../stores/navigation-store';
import { errorMessage } from '../rpc/client';
import { useScheduleWords } from './useScheduleWords';
import { useRunsStore } from '../stores/runs-store';
import { toast } from '../stores/toast-store';
import { FleetSummary } from './FleetSummary';
import { ServerHeldPanel } from './ServerHeldPanel';
import { RunParametersDialog } from './RunParametersDialog';
import type { ParameterValues } from '../../../src-shared/contract/run-parameters';
import { ScriptDiff } from './ScriptDiff';
import { ConfirmDialog } from '../components/Dialog';
import { useRolloutStore } from '../stores/rollout-store';

type Tab = 'overview' | 'logs' | 'history' | 'versions';
const NO_JOBS: JobView[] = [];

function JobsTable({ jobs, selectedLogId, onSelect }: { jobs: JobView[]; selectedLogId?: string | null; onSelect: (job: JobView) => void }) {
  const cancel = useJobsStore((s) => s.cancel);
  if (jobs.length === 0) return <p className="muted table-empty">No runs yet. Press Run now to start one.</p>;
  return (
    <table className="data-table" aria-label="Runs">
      <thead>
        <tr>
          <th>Status</th>
          <th>Server</th>
          <th>Trigger</th>
          <th>Started</th>
          <th className="num">Duration</th>
          <th className="num">Exit</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <tr
            key={job.id}
            className={`row-clickable${job.logId && job.logId === selectedLogId ? ' row-selected' : ''}`}
            onClick={() => onSelect(job)}
            data-job-id={job.id}
          >
            <td>
              <StatusBadge status={job.status} />
            </td>
            <td>{job.serverName ?? '—'}</td>
            <td className="muted">
              {job.trigger}
              {job.firedOnServer ? <span data-testid="fired-on-server"> · fired on the server</span> : null}
              {job.maxAttempts > 1 ? ` · attempt ${job.attempt}/${job.maxAttempts}` : ''}
            </td>
            <td>{formatTime(job.startedAt ?? job.createdAt)}</td>
            <td className="num">{formatDuration(job.durationMs)}</td>
            <td className="num">{job.exitCode ?? '—'}</td>
            <td className="num">
              {LIVE_STATUSES.has(job.status) && (
                <Button variant="ghost" onClick={(e) => (e.stopPropagation(), void cancel(job.id))}>
                  Cancel
                </Button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function HistoryTab({ eventId }: { eventId: string }) {
  const history = useEventsStore((s) => s.history);
  const [fires, setFires] = useState<ScheduleFire[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    history(eventId).then(
      (f) => live && setFires(f),
      (err) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [eventId, history]);
  if (error) return <p className="form-error">{error}</p>;
  if (!fires) return <p className="muted">Loading history…</p>;
  if (fires.length === 0) return <p className="muted table-empty">No scheduled fires yet. Fires and skipped runs of the schedule are listed here.</p>;
  return (
    <table className="data-table" aria-label="Schedule history">
      <thead>
        <tr>
          <th>Scheduled for</th>
          <th>Outcome</th>
          <th>Reason</th>
          <th className="num">Jobs</th>
          <th>Decided</th>
        </tr>
      </thead>
      <tbody>
        {fires.map((f) => (
          <tr key={f.id}>
            <td>{formatTime(f.scheduledFor)}</td>
            <td>
              <Badge tone={f.outcome === 'fired' ? 'success' : f.outcome === 'queued' ? 'info' : 'warning'}>{f.outcome.replace('_', ' ')}</Badge>
            </td>
            <td className="muted">{f.reason ?? ''}</td>
            <td className="num">{f.jobIds.length}</td>
            <td className="muted">{formatTime(f.firedAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function EventDetails({ event, onEdit, onDelete }: { event: EventView; onEdit: () => void; onDelete: () => void }) {
  const startRun = useRunsStore((s) => s.start);
  const latestRunId = useRunsStore((s) => s.latestByEvent[event.id]);
  const [askingParameters, setAskingParameters] = useState(false);
  const [askingDirect, setAskingDirect] = useState(false);
  const directChosen = useRef(false);
  const directFallbackOnly = useRolloutStore((s) => s.status?.directSshFallbackOnly === true);
  const duplicate = useEventsStore((s) => s.duplicate);
  const jobs = useJobsStore((s) => s.byEvent[event.id] ?? NO_JOBS);
  const loadJobs = useJobsStore((s) => s.loadForEvent);
  const addJobs = useJobsStore((s) => s.add);
  const select = useNavigationStore((s) => s.select);
  const openLog = useNavigationStore((s) => s.openLog);
  const [tab, setTab] = useState<Tab>('overview');
  const [logId, setLogId] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const words = useScheduleWords(event);

  useEffect(() => {
    void loadJobs(event.id);
    setLogId(null);
  }, [event.id, loadJobs]);

  // The Logs tab shows the newest run that has a log unless the user picked one.
  const shownLogId = logId ?? jobs.find((j) => j.logId)?.logId ?? null;

  /** Starts a run (with the dialog's values when the event has options); a run over several servers shows its summary. */
  const runWith = async (parameters?: ParameterValues) => {
    setRunning(true);
    const outcome = await startRun(event.id, parameters, { directSshAnyway: directChosen.current });
    directChosen.current = false;
    setRunning(false);
    if (!outcome.ok) {
      if (!parameters) toast.error(outcome.message);
      return outcome;
    }
    const started = outcome.jobs;
    if (started.length > 0) {
      addJobs(started);
      setLogId(started[0]!.logId);
      setTab(started.length > 1 ? 'overview' : 'logs');
    }
    return outcome;
  };
  const runNow = async () => {
    // Phase 5: with direct-ssh only a fallback, running a direct-ssh event by hand is an explicit choice.
    if (directFallbackOnly && event.executionMode === 'direct-ssh' && !directChosen.current) return setAskingDirect(true);
    if (event.options.length > 0) return setAskingParameters(true);
    await runWith();
  };
  const runDirectAnyway = async () => {
    setAskingDirect(false);
    directChosen.current = true;
    await runNow();
  };

  const dup = async () => {
    const copy = await duplicate(event.id);
    if (copy) select('events', { eventId: copy.id });
  };

  return (
    <article className="detail-card" aria-label={`Event ${event.name}`}>
      <header className="detail-header">
        <div>
          <h2 className="detail-title">
            {event.name} <Badge>v{event.version}</Badge> {!event.enabled && <Badge tone="warning">disabled</Badge>}
          </h2>
          {event.description && <p className="muted">{event.description}</p>}
        </div>
        <div className="detail-actions">
          <Button variant="primary" busy={running} onClick={() => void runNow()} disabled={!event.enabled}>
            Run now
          </Button>
          <Button onClick={onEdit}>Edit</Button>
          <Button variant="ghost" onClick={() => void dup()}>
            Duplicate
          </Button>
          <Button variant="ghost" onClick={onDelete}>
            Delete
          </Button>
        </div>
      </header>

      <div className="tabs" role="tablist" aria-label="Event sections">
        {(['overview', 'logs', 'history', 'versions'] as const).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} className={`tab${tab === t ? ' tab-active' : ''}`} onClick={() => setTab(t)}>
            {t === 'overview' ? 'Overview' : t === 'logs' ? 'Logs' : t === 'history' ? 'History' : 'Script versions'}
          </button>
        ))}
      </div>

      {tab === 'overview' && (
        <div role="tabpanel" aria-label="Overview">
          <dl className="facts detail-section">
            <dt>Script</dt>
            <dd>{event.scriptType}</dd>
            <dt>Servers</dt>
            <dd>{event.servers.map((s) => s.name).join(', ') || '—'}</dd>
            {event.targetTags.length > 0 && (
              <>
                <dt>Tags</dt>
                <dd data-testid="event-target-tags">
                  {event.targetTags.join(', ')}
                  {event.maxParallel ? <span className="muted"> · at most {event.maxParallel} servers at once</span> : null}
                </dd>
              </>
            )}
            {event.options.length > 0 && (
              <>
                <dt>Parameters</dt>
                <dd className="mono">{event.options.map((o) => `${o.name}${o.required ? '*' : ''}${o.secret ? ' (secret)' : ''}`).join(', ')}</dd>
              </>
            )}
            <dt>Mode</dt>
            <dd>{event.executionMode}</dd>
            <dt>Schedule</dt>
            <dd>
              {words}
              {/* The zone once: written on the next-run time (in the schedule's zone), or after the words when none is due. */}
              {event.nextRunAt ? (
                <span className="muted" data-testid="next-run"> · next {formatTimeInZone(event.nextRunAt, event.timeZone)}</span>
              ) : event.schedule ? (
                ` (${event.timeZone ?? workstationZone()})`
              ) : null}
              {event.schedule && (
                <span className="muted" data-testid="fires-where">
                  {' '}
                  · {event.firesOn === 'server' ? 'fires on the server' : 'fires from this app'}
                </span>
              )}
            </dd>
            <dt>Limits</dt>
            <dd>
              timeout {event.timeoutSeconds} s · {event.retries} retr{event.retries === 1 ? 'y' : 'ies'}
              {event.retries > 0 ? `, backoff ${event.retryBackoffSeconds} s` : ''}
            </dd>
            <dt>Variables</dt>
            <dd>
              {Object.keys(event.env).length} plain, {event.secrets.length} secret
            </dd>
          </dl>
          {event.firesOn === 'server' && <ServerHeldPanel eventId={event.id} />}
          {latestRunId && <FleetSummary runId={latestRunId} event={event} />}
          <h3 className="detail-section-title">Recent runs</h3>
          <JobsTable jobs={jobs.slice(0, 10)} onSelect={(j) => j.logId && openLog(j.logId)} />
        </div>
      )}

      {tab === 'logs' && (
        <div role="tabpanel" aria-label="Logs" className="event-logs">
          <JobsTable jobs={jobs.slice(0, 20)} selectedLogId={shownLogId} onSelect={(j) => j.logId && setLogId(j.logId)} />
          {shownLogId ? <LogViewer key={shownLogId} logId={shownLogId} /> : <p className="muted">The log of a run appears here as soon as it starts.</p>}
        </div>
      )}

      {tab === 'history' && (
        <div role="tabpanel" aria-label="History">
          <HistoryTab eventId={event.id} />
        </div>
      )}

      {tab === 'versions' && (
        <div role="tabpanel" aria-label="Script versions">
          <ScriptDiff eventId={event.id} latestVersion={event.version} />
        </div>
      )}
      {askingDirect && (
        <ConfirmDialog
          title={`Run ${event.name} over direct SSH?`}
          confirmLabel="Run direct-ssh anyway"
          danger={false}
          onConfirm={() => void runDirectAnyway()}
          onCancel={() => setAskingDirect(false)}
        >
          Direct SSH is only a fallback now: this event still runs in direct-ssh. Run it like this anyway, or move it to runner mode in
          the Migration pane.
        </ConfirmDialog>
      )}
      {askingParameters && (
        <RunParametersDialog
          title={`Run ${event.name}`}
          submitLabel="Run"
          options={event.options}
          onSubmit={async (values) => {
            const outcome = await runWith(values);
            return outcome.ok ? { ok: true } : outcome;
          }}
          onClose={() => {
            directChosen.current = false;
            setAskingParameters(false);
          }}
        />
      )}
    </article>
  );
}
