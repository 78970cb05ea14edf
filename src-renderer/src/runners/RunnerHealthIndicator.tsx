/**
 * RunnerHealthIndicator: healthy / degraded / unhealthy (or not checked yet). A degraded or unhealthy badge always
 * carries its reason in words beside it (not only as a tooltip), so nobody sees "Degraded" without knowing why.
 */
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

/** Why a runner is degraded or unhealthy, in words: its reason, or else the figures that made it so. */
export function healthReason(h: RunnerHealthView): string {
  return h.reason || healthSummary(h) || 'no reason was reported by the last check';
}

export function RunnerHealthIndicator({ health }: { health: RunnerHealthView | null }) {
  const state = health?.state ?? 'unknown';
  const bad = health && (state === 'degraded' || state === 'unhealthy');
  return (
    <span data-runner-health={state} title={health ? healthSummary(health) : 'not checked yet'} className="runner-health">
      <Badge tone={TONES[state]}>{health ? state : 'not checked'}</Badge>
      {bad && <span className="runner-health-reason" data-testid="health-reason">{healthReason(health)}</span>}
    </span>
  );
}
