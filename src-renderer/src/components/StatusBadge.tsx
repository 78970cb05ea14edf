/**
 * StatusBadge: a job's or log's status word in the tone it deserves; live states (PENDING, QUEUED, RUNNING,
 * STREAMING, DISPATCHING) carry a pulsing dot so a running log is told apart at a glance.
 */
import { Badge, type BadgeTone } from './Badge';

const TONES: Record<string, BadgeTone> = {
  SUCCESS: 'success',
  FAILURE: 'danger',
  TIMEOUT: 'danger',
  PARTIAL: 'warning',
  INTERRUPTED: 'warning',
  CANCELLED: 'neutral',
  QUEUED: 'info',
  DISPATCHING: 'info',
  PENDING: 'info',
  RUNNING: 'info',
  STREAMING: 'info',
};
export const LIVE_STATUSES = new Set(['QUEUED', 'DISPATCHING', 'PENDING', 'RUNNING', 'STREAMING']);

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className="status-badge" data-status={status}>
      <Badge tone={TONES[status] ?? 'neutral'}>
        {LIVE_STATUSES.has(status) && <span className="live-dot" aria-hidden="true" />}
        {status}
      </Badge>
    </span>
  );
}
