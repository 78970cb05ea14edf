/**
 * WorkflowRunsSummary: the Dashboard's workflow card body: each workflow's last run with its status as the Workflows
 * pane says it (succeeded, succeeded with a handled failure, failed...), and the way to open it. Reads the workflows
 * store, loading it once if no pane has yet; it never calls the transport itself.
 */
import { useEffect } from 'react';
import { StatusBadge } from '../components/StatusBadge';
import { formatAge } from '../components/format';
import { useNavigationStore } from '../stores/navigation-store';
import { useWorkflowsStore } from '../stores/workflows-store';

const SHOWN = 8;

export function WorkflowRunsSummary({ now }: { now: number }) {
  const workflows = useWorkflowsStore((s) => s.workflows);
  const loaded = useWorkflowsStore((s) => s.loaded);
  const load = useWorkflowsStore((s) => s.load);
  const select = useNavigationStore((s) => s.select);
  useEffect(() => {
    if (!loaded) void load();
  }, [loaded, load]);

  if (!loaded) return <p className="muted">Loading…</p>;
  if (workflows.length === 0) return <p className="muted">No workflow yet. Chain events into one from the Workflows pane.</p>;
  const byLastRun = [...workflows].sort((a, b) => (b.lastRun?.startedAt ?? '').localeCompare(a.lastRun?.startedAt ?? '')).slice(0, SHOWN);
  return (
    <ul className="dashboard-workflows" aria-label="Workflows and their last run">
      {byLastRun.map((w) => (
        <li key={w.id}>
          <button type="button" className="job-activity-row" onClick={() => select('workflows', { workflowId: w.id })}>
            <span className="dashboard-workflow-name">{w.name}</span>
            {w.lastRun ? <StatusBadge status={w.lastRun.status} /> : <span className="muted">never run</span>}
            <span className="muted">{w.lastRun ? formatAge(w.lastRun.startedAt, now) : ''}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}
