/**
 * StatusBadge: a job's, log's or workflow run's status word in the tone it deserves; live states (PENDING, QUEUED,
 * RUNNING, STREAMING, DISPATCHING) carry a pulsing dot so a running log is told apart at a glance. A workflow run that
 * succeeded with a handled failure reads so (never plain SUCCESS). `detail` adds a secondary word under the same badge
 * (a log's stream state shown as a detail of its job's state), so one badge speaks one vocabulary.
 */
import { Badge, type BadgeTone } from './Badge';

const TONES: Record<string, BadgeTone> = {
  SUCCESS: 'success',
  HANDLED_FAILURE: 'warning',
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

/** Words shown for statuses whose code is not itself the plain word. */
export const STATUS_WORDS: Record<string, string> = {
  HANDLED_FAILURE: 'SUCCESS WITH HANDLED FAILURE',
};

/** What a status means, said once for screen readers and tooltips. */
const STATUS_MEANING: Record<string, string> = {
  SUCCESS: 'succeeded',
  HANDLED_FAILURE: 'succeeded with a handled failure: a step failed and a failure or condition connection took over',
  FAILURE: 'failed',
};

export const LIVE_STATUSES = new Set(['QUEUED', 'DISPATCHING', 'PENDING', 'RUNNING', 'STREAMING']);

export function statusWord(status: string): string {
  return STATUS_WORDS[status] ?? status;
}

export function StatusBadge({ status, detail }: { status: string; detail?: string | null }) {
  return (
    <span className="status-badge" data-status={status} title={STATUS_MEANING[status]}>
      <Badge tone={TONES[status] ?? 'neutral'}>
        {LIVE_STATUSES.has(status) && <span className="live-dot" aria-hidden="true" />}
        {statusWord(status)}
        {detail ? <span className="status-detail"> · {detail}</span> : null}
      </Badge>
    </span>
  );
}

/**
 * A log's state in the job's words: a log that is STREAMING (runner) or RUNNING (direct SSH) belongs to a RUNNING job,
 * and PENDING to a job being dispatched; how the output travels is the badge's detail, so a job and its log never
 * show two different words (RUNNING and STREAMING) at once. Ended states are the same words for both.
 */
export function jobWordsForLog(logStatus: string): { status: string; detail: string | null } {
  switch (logStatus) {
    case 'STREAMING':
      return { status: 'RUNNING', detail: 'streaming from the runner' };
    case 'RUNNING':
      return { status: 'RUNNING', detail: 'over SSH' };
    case 'PENDING':
      return { status: 'DISPATCHING', detail: 'waiting to start' };
    default:
      return { status: logStatus, detail: null };
  }
}

export function LogStatusBadge({ status }: { status: string }) {
  const words = jobWordsForLog(status);
  return <StatusBadge status={words.status} detail={words.detail} />;
}
