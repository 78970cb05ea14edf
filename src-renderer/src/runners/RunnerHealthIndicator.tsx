/** RunnerHealthIndicator: healthy / degraded / unhealthy (or not checked yet), with the figures and the reason as a tooltip. */
import type { RunnerHealthView } from '../../../src-shared/contract/runners';
import { Badge, type BadgeTone } from '../components/Badge';

const TONES: Record<RunnerHealthView['state'], BadgeTone> = { healthy: 'success', degraded: 'warning', unhealthy: 'danger', unknown: 'neutral' };

export function healthSummary(h: RunnerHealthView): string {
  const parts = [
    h.cpuUsage !== null ? `CPU ${h.cpuUsage}%` : null,
    h.memoryUsage !== null ? `memory ${h.memoryUsage}%` : null,
    h.diskSpaceMb !== null ? `${Math.round(h.diskSpaceMb)} MB free` : null,
    h.queued !== null ? `${h.queued} queued, ${h.running ?? 0} running` : null,
  ].filter(Boolean);
  return [parts.join(' · '), h.reason].filter(Boolean).join(' — ');
}

export function RunnerHealthIndicator({ health }: { health: RunnerHealthView | null }) {
  const state = health?.state ?? 'unknown';
  return (
    <span data-runner-health={state} title={health ? healthSummary(health) : 'not checked yet'}>
      <Badge tone={TONES[state]}>{health ? state : 'not checked'}</Badge>
    </span>
  );
}
