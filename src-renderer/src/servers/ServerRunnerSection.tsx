/**
 * ServerRunnerSection: the slot in a server's details where the runner feature shows the server's runner (version,
 * health, deployment history, deploy / upgrade / roll back). The Servers feature only places it; the runner feature
 * fills it in this file from the runners store.
 */
import { useEffect } from 'react';
import type { ServerView } from '../../../src-shared/contract/servers';
import { formatAge } from '../components/format';
import { RunnerActions } from '../runners/RunnerActions';
import { RunnerHealthIndicator, healthSummary } from '../runners/RunnerHealthIndicator';
import { RunnerHistory } from '../runners/RunnerHistory';
import { RunnerStatusBadge } from '../runners/RunnerStatusBadge';
import { currentDeployment, deploymentsOf, useRunnersStore } from '../stores/runners-store';

export function ServerRunnerSection({ server }: { server: ServerView }) {
  const deployments = useRunnersStore((s) => s.deployments);
  const loaded = useRunnersStore((s) => s.loaded);
  useEffect(() => {
    if (!useRunnersStore.getState().loaded) void useRunnersStore.getState().load();
  }, []);
  const current = currentDeployment(deployments, server.id);
  const history = deploymentsOf(deployments, server.id);

  return (
    <section className="detail-section" data-slot="runner-section" data-server-id={server.id} aria-label="Runner">
      <h3 className="detail-section-title">Runner</h3>
      {!loaded ? (
        <p className="muted">Loading…</p>
      ) : current ? (
        <dl className="runner-summary">
          <dt>Version</dt>
          <dd>
            {current.version} {current.kind && <span className="muted">({current.kind})</span>} <RunnerStatusBadge status={current.status} />
          </dd>
          <dt>Health</dt>
          <dd>
            <RunnerHealthIndicator health={current.health} /> {current.health && <span className="muted">{healthSummary(current.health)}</span>}
          </dd>
          <dt>Last check</dt>
          <dd>{formatAge(current.lastHealthCheck)}</dd>
          {current.path && (
            <>
              <dt>Path</dt>
              <dd>
                <code>{current.path}</code>
              </dd>
            </>
          )}
        </dl>
      ) : (
        <p className="muted">No runner on {server.name} yet. Deploy one to run events in runner mode.</p>
      )}
      <RunnerActions serverId={server.id} serverName={server.name} current={current} history={history} />
      <h4 className="detail-section-title">Deployment history</h4>
      <RunnerHistory deployments={history} />
    </section>
  );
}
