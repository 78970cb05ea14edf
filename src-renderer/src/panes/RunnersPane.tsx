/**
 * Runners pane. Runner artifacts (version, os, arch, kind, size, checksum, signature) and deployments per server with
 * their status, health and actions (deploy, upgrade, roll back, remove) with live progress.
 * Self-contained: it reads the runners and servers stores only, never the transport.
 */
import { useEffect } from 'react';
import { Button } from '../components/Button';
import { Card } from '../components/Card';
import { EmptyState } from '../components/EmptyState';
import { Icon } from '../components/Icon';
import { PaneHeader } from '../components/PaneHeader';
import { formatAge } from '../components/format';
import { RunnerActions } from '../runners/RunnerActions';
import { RunnerHealthIndicator, healthSummary } from '../runners/RunnerHealthIndicator';
import { RunnerStatusBadge } from '../runners/RunnerStatusBadge';
import { RunnerVersionsCard } from '../runners/RunnerVersionsCard';
import { useNavigationStore } from '../stores/navigation-store';
import { currentDeployment, deploymentsOf, useRunnersStore } from '../stores/runners-store';
import { useServersStore } from '../stores/servers-store';
import { ErrorCode } from '../../../src-shared/errors';

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function ArtifactsTable() {
  const artifacts = useRunnersStore((s) => s.artifacts);
  if (!artifacts) return <p className="muted">Loading artifacts…</p>;
  return (
    <>
      <div className="table-card">
        <table className="data-table" aria-label="Runner artifacts">
          <thead>
            <tr>
              <th>Version</th>
              <th>OS</th>
              <th>Arch</th>
              <th>Kind</th>
              <th className="num">Size</th>
              <th className="num">Transfer</th>
              <th>Checksum</th>
              <th>Signature</th>
            </tr>
          </thead>
          <tbody>
            {artifacts.artifacts.length === 0 && (
              <tr>
                <td colSpan={8} className="muted table-empty">
                  No runner artifacts. Build them with npm run build:runner.
                </td>
              </tr>
            )}
            {artifacts.artifacts.map((a) => (
              <tr key={a.id} data-artifact={`${a.version}-${a.kind}-${a.os}-${a.arch}`}>
                <td>{a.version}</td>
                <td>{a.os}</td>
                <td>{a.arch}</td>
                <td>{a.kind === 'sea' ? 'single executable' : 'JS (needs Node 18+)'}</td>
                <td className="num">{mb(a.size)}</td>
                <td className="num">{mb(a.compressedSize)}</td>
                <td title={a.sha256}>
                  <code>{a.sha256.slice(0, 12)}…</code>
                </td>
                <td title={`signed with ${a.keyId}`}>
                  <span className="badge badge-success">verified</span>
                </td>
              </tr>
            ))}
            {artifacts.rejected.map((r) => (
              <tr key={r.manifestPath} data-artifact-rejected>
                <td colSpan={7} className="muted" title={r.manifestPath}>
                  {r.message}
                </td>
                <td>
                  <span className="badge badge-danger">{r.code === ErrorCode.ARTIFACT_TAMPERED ? 'tampered' : 'refused'}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function DeploymentsTable() {
  const servers = useServersStore((s) => s.servers);
  const deployments = useRunnersStore((s) => s.deployments);
  return (
    <div className="table-card">
      <table className="data-table" aria-label="Runner deployments">
        <thead>
          <tr>
            <th>Server</th>
            <th>Status</th>
            <th>Health</th>
            <th>Version</th>
            <th>Last check</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {servers.map((server) => {
            const current = currentDeployment(deployments, server.id);
            return (
              <tr key={server.id} data-runner-server={server.id} data-runner-server-name={server.name}>
                <td>{server.name}</td>
                <td>{current ? <RunnerStatusBadge status={current.status} /> : <span className="muted">not deployed</span>}</td>
                <td title={current?.health ? healthSummary(current.health) : undefined}>
                  {current?.status === 'active' ? <RunnerHealthIndicator health={current.health} /> : <span className="muted">—</span>}
                </td>
                <td>
                  {current ? `${current.version}${current.kind ? ` (${current.kind})` : ''}` : '—'}
                  {current?.reason && current.status !== 'active' && <div className="muted runner-reason">{current.reason}</div>}
                </td>
                <td>{formatAge(current?.lastHealthCheck)}</td>
                <td>
                  <RunnerActions serverId={server.id} serverName={server.name} current={current} history={deploymentsOf(deployments, server.id)} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Deploys (or checks, when up to date) the runner on every server, a bounded number at a time (Settings). */
function DeployAllButton() {
  const servers = useServersStore((s) => s.servers);
  const busy = useRunnersStore((s) => servers.some((server) => s.busy[server.id] !== undefined));
  if (servers.length === 0) return null;
  return (
    <Button busy={busy} disabled={busy} onClick={() => void useRunnersStore.getState().deployMany(servers.map((server) => server.id))} aria-label="Deploy to all servers (runner)">
      Deploy to all servers
    </Button>
  );
}

export function RunnersPane() {
  const navigate = useNavigationStore((s) => s.navigate);
  const serversLoaded = useServersStore((s) => s.loaded);
  const servers = useServersStore((s) => s.servers);
  const error = useRunnersStore((s) => s.error);

  useEffect(() => {
    void useRunnersStore.getState().load();
    if (!useServersStore.getState().loaded) void useServersStore.getState().load();
  }, []);

  return (
    <div className="pane">
      <PaneHeader title="Runners" subtitle="The runner program Cronium deploys to servers so jobs survive dropped connections." />
      {error && (
        <p className="form-error" role="alert">
          Could not load runners: {error}
        </p>
      )}
      <RunnerVersionsCard />
      <Card title="Artifacts">
        <ArtifactsTable />
      </Card>
      <Card title="Deployments" actions={<DeployAllButton />}>
        {serversLoaded && servers.length === 0 ? (
          <EmptyState title="Deploy your first runner" icon={<Icon name="runners" size={40} />} action={<Button variant="primary" onClick={() => navigate('servers')}>Go to Servers</Button>}>
            No runners deployed yet. A runner keeps a job running and its log complete when the SSH link drops. Add a server, then deploy a runner to it here or let a job deploy one.
          </EmptyState>
        ) : (
          <DeploymentsTable />
        )}
      </Card>
    </div>
  );
}
