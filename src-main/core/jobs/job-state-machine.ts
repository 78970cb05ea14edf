/**
 * The one module that decides which job and log state changes are allowed (ARCHITECTURE.md "Job and log states").
 * Every service that moves a job or a log asks here first; a move not listed is refused with
 * JOB_STATE_INVALID (LOG_STATE_INVALID for a log).
 * It holds no state and never touches the database.
 *
 * Beyond the design card's happy path it allows, on purpose:
 *  - job QUEUED/DISPATCHING -> terminal: cancelled or failed before the script started;
 *  - job DISPATCHING/RUNNING -> QUEUED: a failed attempt waits for its retry (attempt + 1, a new log);
 *  - log PENDING -> terminal: the attempt ended before the script started (connection refused, cancelled);
 *  - log PARTIAL -> STREAMING | terminal: a runner re-attached and replayed the rest (or reported the end).
 */
import { AppError } from '../errors';
import type { JobStatus } from '../../../src-shared/contract/jobs';
import type { LogStatus } from '../../../src-shared/contract/logs';

const JOB_TERMINAL = ['SUCCESS', 'FAILURE', 'TIMEOUT', 'CANCELLED', 'PARTIAL'] as const satisfies readonly JobStatus[];
const LOG_FINAL = ['SUCCESS', 'FAILURE', 'TIMEOUT', 'CANCELLED'] as const satisfies readonly LogStatus[];

const JOB_TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  QUEUED: ['DISPATCHING', 'FAILURE', 'CANCELLED'],
  DISPATCHING: ['RUNNING', 'QUEUED', 'FAILURE', 'CANCELLED', 'TIMEOUT'],
  RUNNING: ['QUEUED', ...JOB_TERMINAL],
  SUCCESS: [],
  FAILURE: [],
  TIMEOUT: [],
  CANCELLED: [],
  PARTIAL: [],
};

const LOG_TRANSITIONS: Record<LogStatus, readonly LogStatus[]> = {
  PENDING: ['RUNNING', 'STREAMING', ...LOG_FINAL, 'PARTIAL'],
  RUNNING: [...LOG_FINAL, 'PARTIAL'],
  STREAMING: [...LOG_FINAL, 'PARTIAL'],
  PARTIAL: ['STREAMING', ...LOG_FINAL],
  SUCCESS: [],
  FAILURE: [],
  TIMEOUT: [],
  CANCELLED: [],
};

export function isTerminalJobStatus(status: JobStatus): boolean {
  return (JOB_TERMINAL as readonly string[]).includes(status);
}

/** A log is finished when nothing more will be appended: a final status (PARTIAL may still be completed by a runner). */
export function isFinalLogStatus(status: LogStatus): boolean {
  return (LOG_FINAL as readonly string[]).includes(status);
}

export function canMoveJob(from: JobStatus, to: JobStatus): boolean {
  return JOB_TRANSITIONS[from]?.includes(to) ?? false;
}

export function canMoveLog(from: LogStatus, to: LogStatus): boolean {
  return LOG_TRANSITIONS[from]?.includes(to) ?? false;
}

export function assertJobTransition(from: JobStatus, to: JobStatus, jobId?: string): void {
  if (!canMoveJob(from, to)) {
    throw new AppError(
      'JOB_STATE_INVALID',
      `job ${jobId ?? ''} cannot go from ${from} to ${to}; ${isTerminalJobStatus(from) ? 'it has already ended' : 'that step is not allowed'}`.replace('job  ', 'a job '),
      { details: { from, to, jobId } },
    );
  }
}

export function assertLogTransition(from: LogStatus, to: LogStatus, logId?: string): void {
  if (!canMoveLog(from, to)) {
    throw new AppError(
      'LOG_STATE_INVALID',
      `log ${logId ?? ''} cannot go from ${from} to ${to}; ${isFinalLogStatus(from) ? 'it is already complete' : 'that step is not allowed'}`.replace('log  ', 'a log '),
      { details: { from, to, logId } },
    );
  }
}
