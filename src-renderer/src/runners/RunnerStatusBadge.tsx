/** RunnerStatusBadge: a deployment's status as a word and a tone (active, updating, failed, superseded, removed, tampered). */
import type { RunnerDeploymentStatus } from '../../../src-shared/contract/runners';
import { Badge, type BadgeTone } from '../components/Badge';

const TONES: Record<RunnerDeploymentStatus, BadgeTone> = {
  active: 'success',
  updating: 'info',
  failed: 'danger',
  superseded: 'neutral',
  removed: 'neutral',
  tampered: 'danger',
};

export function RunnerStatusBadge({ status }: { status: RunnerDeploymentStatus }) {
  return (
    <span data-runner-status={status}>
      <Badge tone={TONES[status]}>{status}</Badge>
    </span>
  );
}
