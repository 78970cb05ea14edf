/**
 * FleetSummary: one run of an event over several servers: how many succeeded, failed, were cancelled or still run,
 * which server did what and how long each took, with "Re-run failed", "Run again" and "Cancel the rest". A repeat of
 * a run that had secret parameters (or any parameters) asks for them in the parameter dialog first.
 */
import { useEffect, useState } from 'react';
import type { EventView } from '../../../src-shared/contract/events';
import type { ParameterValues } from '../../../src-shared/contract/run-parameters';
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { StatusBadge } from '../components/StatusBadge';
import { formatDuration } from '../components/format';
import { useRunsStore } from '../stores/runs-store';
import { useNavigationStore } from '../stores/navigation-store';
import { RunParametersDialog } from './RunParametersDialog';

type Repeat = 'rerunFailed' | 'runAgain';

export function FleetSummary({ runId, event }: { runId: string; event: EventView }) {
  const run = useRunsStore((s) => s.byId[runId]);
  const load = useRunsStore((s) => s.load);
  const rerunFailed = useRunsStore((s) => s.rerunFailed);
  const runAgain = useRunsStore((s) => s.runAgain);
  const cancelRest = useRunsStore((s) => s.cancelRest);
  const openLog = useNavigationStore((s) => s.openLog);
  const [asking, setAsking] = useState<Repeat | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  useEffect(() => {
    void load(runId);
  }, [runId, load]);
  if (!run) return <p className="muted">Loading the run…</p>;

  const { summary } = run;
  const repeat = async (kind: Repeat, parameters?: ParameterValues) => (kind === 'rerunFailed' ? rerunFailed(run.id, parameters) : runAgain(run.id, parameters));
  const start = async (kind: Repeat) => {
    // Secret values are not kept: a run that had any asks for them (and shows the other values) again.
    if (run.secretParameterNames.length > 0) return setAsking(kind);
    setBusy(kind);
    await repeat(kind);
    setBusy(null);
  };

  return (
    <section className="fleet-summary" aria-label="Fleet summary" data-run-id={run.id}>
      <header className="fleet-summary-header">
        <h3 className="detail-section-title">
          Run over {summary.total} server{summary.total === 1 ? '' : 's'}
          {run.targetTags.length > 0 && <span className="muted"> · tag {run.targetTags.join(', ')}</span>}
          {run.maxParallel && <span className="muted"> · at most {run.maxParallel} at once</span>}
        </h3>
        <p className="fleet-counts" data-testid="fleet-counts">
          <Badge tone="success">{summary.succeeded} succeeded</Badge> <Badge tone={summary.failed ? 'danger' : 'neutral'}>{summary.failed} failed</Badge>{' '}
          {summary.cancelled > 0 && <Badge tone="warning">{summary.cancelled} cancelled</Badge>} {summary.active > 0 && <Badge tone="info">{summary.active} running</Badge>}
        </p>
        {Object.keys(run.parameters).length + run.secretParameterNames.length > 0 && (
          <p className="muted mono">
            {Object.entries(run.parameters).map(([k, v]) => `${k}=${String(v)}`).concat(run.secretParameterNames.map((k) => `${k}=(secret)`)).join(' · ')}
          </p>
        )}
        <div className="detail-actions">
          <Button onClick={() => void start('rerunFailed')} disabled={summary.failed === 0 || summary.active > 0} busy={busy === 'rerunFailed'}>
            Re-run failed ({summary.failed})
          </Button>
          <Button onClick={() => void start('runAgain')} busy={busy === 'runAgain'}>
            Run again
          </Button>
          <Button variant="ghost" onClick={() => void cancelRest(run.id)} disabled={summary.active === 0}>
            Cancel the rest
          </Button>
        </div>
      </header>
      <table className="data-table" aria-label="Servers of the run">
        <thead>
          <tr>
            <th>Server</th>
            <th>Status</th>
            <th className="num">Duration</th>
            <th>Why</th>
          </tr>
        </thead>
        <tbody>
          {run.jobs.map((job) => (
            <tr key={job.id} className="row-clickable" onClick={() => job.logId && openLog(job.logId)} data-server={job.serverName ?? ''}>
              <td>{job.serverName ?? '—'}</td>
              <td>
                <StatusBadge status={job.status} />
              </td>
              <td className="num">{formatDuration(job.durationMs)}</td>
              <td className="muted">{job.status === 'SUCCESS' ? '' : (job.reason ?? '')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {asking && (
        <RunParametersDialog
          title={asking === 'rerunFailed' ? 'Re-run failed servers' : 'Run again'}
          submitLabel={asking === 'rerunFailed' ? 'Re-run failed' : 'Run again'}
          options={event.options}
          initial={run.parameters}
          onSubmit={async (values) => {
            const outcome = await repeat(asking, values);
            return outcome.ok ? { ok: true } : outcome;
          }}
          onClose={() => setAsking(null)}
        />
      )}
    </section>
  );
}
