/**
 * RunnersSummary: the Dashboard's runner card body: how the active runners are doing by health, deployments that failed
 * or are updating, and the way to the Runners pane. Shows counts from system/stats only; it never triggers a check.
 */
import type { SystemStats } from '../../../src-shared/contract/system';
import { Badge, type BadgeTone } from '../components/Badge';

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
