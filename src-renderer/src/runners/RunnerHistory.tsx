/** RunnerHistory: a server's deployments, newest first, each with its status, reason and history lines. */
import type { RunnerDeploymentView } from '../../../src-shared/contract/runners';
import { formatTime } from '../components/format';
import { RunnerStatusBadge } from './RunnerStatusBadge';

export function RunnerHistory({ deployments }: { deployments: RunnerDeploymentView[] }) {
  if (deployments.length === 0) return <p className="muted">No deployments yet.</p>;
  return (
    <ol className="runner-history" aria-label="Deployment history">
      {deployments.map((d) => (
        <li key={d.id} data-deployment-id={d.id}>
          <div>
            <strong>{d.version}</strong> <RunnerStatusBadge status={d.status} /> <span className="muted">{formatTime(d.deployedAt)}</span>
          </div>
          {d.reason && <div className="muted">{d.reason}</div>}
          <ul className="runner-history-lines">
            {d.history.slice(-5).map((h, i) => (
              <li key={i} className="muted">
                {formatTime(h.at)} — {h.message}
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ol>
  );
}
