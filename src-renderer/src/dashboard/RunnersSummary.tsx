/**
 * RunnersSummary: the Dashboard's runner card body: how the active runners are doing by health, deployments that failed
 * or are updating, and the way to the Runners pane. Counts come from system/stats; a degraded or unhealthy count is
 * followed by each such runner's server and reason (from the runners store), never a bare "Degraded". It never
 * triggers a check.
 */
import { useEffect } from 'react';
import type { SystemStats } from '../../../src-shared/contract/system';
import { Badge, type BadgeTone } from '../components/Badge';
import { healthReason } from '../runners/RunnerHealthIndicator';
import { useRunnersStore } from '../stores/runners-store';
import { useServersStore } from '../stores/servers-store';

const HEALTH: { key: keyof SystemStats['runners']['health']; label: string; tone: BadgeTone }[] = [
  { key: 'healthy', label: 'Healthy', tone: 'success' },
  { key: 'degraded', label: 'Degraded', tone: 'warning' },
  { key: 'unhealthy', label: 'Unhealthy', tone: 'danger' },
  { key: 'unknown', label: 'Not checked yet', tone: 'neutral' },
];

export function RunnersSummary({ runners, onOpenRunners }: { runners: SystemStats['runners']; onOpenRunners: () => void }) {
  const { deployments, health } = runners;
  if (deployments.active + deployments.failed + deployments.updating === 0) {
    return (
      <p className="muted">
        No runner is deployed. Events still run over plain SSH; a runner adds resumable output and health checks.{' '}
        <button type="button" className="link" onClick={onOpenRunners}>
          Deploy one from Runners
        </button>
        .
      </p>
    );
  }
  return (
    <>
      <dl className="facts" data-testid="runner-health-counts">
        {HEALTH.filter(({ key }) => key !== 'unknown' || health.unknown > 0).map(({ key, label, tone }) => (
          <div key={key} className="facts-row">
            <dt>
              <Badge tone={tone}>{label}</Badge>
            </dt>
            <dd data-testid={`runners-${key}`}>{health[key]}</dd>
          </div>
        ))}
      </dl>
      <UnwellRunners show={health.degraded + health.unhealthy > 0} />
      {(deployments.failed > 0 || deployments.updating > 0) && (
        <p className="muted">
          {deployments.updating > 0 && `${deployments.updating} updating. `}
          {deployments.failed > 0 && `${deployments.failed} failed deployment${deployments.failed === 1 ? '' : 's'}: see Runners for the reason.`}
        </p>
      )}
      <p>
        <button type="button" className="link" onClick={onOpenRunners}>
          Open Runners
        </button>
      </p>
    </>
  );
}

/** Each degraded or unhealthy runner with its server and its reason, loaded only when there is one. */
function UnwellRunners({ show }: { show: boolean }) {
  const deployments = useRunnersStore((s) => s.deployments);
  const loaded = useRunnersStore((s) => s.loaded);
  const load = useRunnersStore((s) => s.load);
  const servers = useServersStore((s) => s.servers);
  const loadServers = useServersStore((s) => s.load);
  useEffect(() => {
    if (!show) return;
    if (!loaded) void load();
    if (servers.length === 0) void loadServers();
  }, [show, loaded, load, servers.length, loadServers]);
  if (!show) return null;
  const unwell = deployments.filter((d) => d.status === 'active' && d.health && (d.health.state === 'degraded' || d.health.state === 'unhealthy'));
  if (unwell.length === 0) return <p className="muted">{loaded ? 'Open Runners for the reasons.' : 'Loading the reasons…'}</p>;
  return (
    <ul className="steps" aria-label="Why runners are not healthy" data-testid="runner-reasons">
      {unwell.map((d) => (
        <li key={d.id}>
          <strong>{servers.find((s) => s.id === d.serverId)?.name ?? 'a server'}</strong> {d.health!.state}: {healthReason(d.health!)}
        </li>
      ))}
    </ul>
  );
}
