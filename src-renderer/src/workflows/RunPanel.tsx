/**
 * RunPanel: the run shown on the graph (each step's live state, exit code, why it ended, a button opening its log in
 * the Logs pane) and the workflow's run history. Reads the workflows store; opens logs through the navigation store.
 */
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { StatusBadge } from '../components/StatusBadge';
import { formatDuration, formatTime } from '../components/format';
import { useNavigationStore } from '../stores/navigation-store';
import { useWorkflowsStore } from '../stores/workflows-store';

const duration = (a: string | null, b: string | null) => (a && b ? formatDuration(Date.parse(b) - Date.parse(a)) : '—');

function StepState({ status }: { status: string }) {
  return status === 'WAITING' || status === 'SKIPPED' ? <Badge>{status}</Badge> : <StatusBadge status={status} />;
}

export function RunPanel() {
  const run = useWorkflowsStore((s) => s.run);
  const runs = useWorkflowsStore((s) => s.runs);
  const draft = useWorkflowsStore((s) => s.draft);
  const events = useWorkflowsStore((s) => s.events);
  const { showRun, cancelRun, resumeRunFrom } = useWorkflowsStore.getState();
  const openLog = useNavigationStore((s) => s.openLog);
  const labelOf = (nodeId: string) => {
    const step = draft?.steps.find((s) => s.id === nodeId);
    return step?.label || events.find((e) => e.id === step?.eventId)?.name || 'removed step';
  };

  return (
    <div className="wf-runs">
      {run && (
        <section className="card" aria-label="Run">
          <header className="card-header">
            <h2 className="card-title">
              Run of {formatTime(run.startedAt)} <span data-testid="run-status"><StatusBadge status={run.status} /></span>
            </h2>
            {run.status === 'RUNNING' && <Button onClick={() => void cancelRun()}>Cancel run</Button>}
          </header>
          <div className="card-body">
            {run.reason && <p className="muted">{run.reason}</p>}
            <div className="wf-table-scroll">
            <table className="wf-table">
              <thead>
                <tr><th>Step</th><th>State</th><th>Exit</th><th>Took</th><th>Why</th><th /></tr>
              </thead>
              <tbody>
                {run.steps.map((s) => (
                  <tr key={s.id} data-testid="run-step">
                    <td>{labelOf(s.nodeId)}</td>
                    <td><StepState status={s.status} /></td>
                    <td>{s.exitCode ?? '—'}</td>
                    <td>{duration(s.startedAt, s.finishedAt)}</td>
                    <td className="wf-reason">{s.reason ?? ''}</td>
                    <td>
                      {s.logId && <Button variant="ghost" onClick={() => openLog(s.logId!)}>Open log</Button>}
                      {run.status !== 'RUNNING' && (
                        <Button variant="ghost" title="Run this step and the ones after it again, reusing the earlier steps" onClick={() => void resumeRunFrom(s.nodeId)}>
                          Resume from here
                        </Button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            </div>
          </div>
        </section>
      )}
      <section className="card" aria-label="Run history">
        <header className="card-header"><h2 className="card-title">Run history</h2></header>
        <div className="card-body">
          {runs.length === 0 ? (
            <p className="muted">No runs yet.</p>
          ) : (
            <ul className="wf-history">
              {runs.map((r) => (
                <li key={r.id}>
                  <button type="button" className={`wf-history-item${run?.id === r.id ? ' wf-history-active' : ''}`} onClick={() => void showRun(r.id)}>
                    <StatusBadge status={r.status} />
                    <span>{formatTime(r.startedAt)}</span>
                    <span className="muted">{r.trigger}</span>
                    <span className="muted">{duration(r.startedAt, r.finishedAt)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      </section>
    </div>
  );
}
