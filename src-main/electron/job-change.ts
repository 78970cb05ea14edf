/**
 * Reads 'jobs/changed' events for the shell's tray and notifications. Lenient on purpose: it takes only the fields
 * the shell shows and ignores the rest, so the jobs contract can grow without breaking the tray. It must never
 * be used to decide anything about a job itself (that belongs to the core's job state machine).
 */
import { z } from 'zod';
import { JobStatus } from '../../src-shared/contract/jobs';

export const JOBS_CHANGED_EVENT = 'jobs/changed';

const ShellJob = z.object({
  id: z.string(),
  status: JobStatus,
  eventName: z.string().nullish(),
  serverName: z.string().nullish(),
  logId: z.string().nullish(),
  reason: z.string().nullish(),
  exitCode: z.number().nullish(),
});
export type ShellJob = z.infer<typeof ShellJob>;

const JobChanged = z.object({ job: ShellJob });

/** The job of a 'jobs/changed' event, or null for any other event or a payload without the needed fields. */
export function readJobChange(eventName: string, payload: unknown): ShellJob | null {
  if (eventName !== JOBS_CHANGED_EVENT) return null;
  const parsed = JobChanged.safeParse(payload);
  return parsed.success ? parsed.data.job : null;
}

export const STATUS_WORDS: Record<JobStatus, string> = {
  QUEUED: 'queued',
  DISPATCHING: 'starting',
  RUNNING: 'running',
  SUCCESS: 'succeeded',
  FAILURE: 'failed',
  TIMEOUT: 'timed out',
  CANCELLED: 'cancelled',
  PARTIAL: 'partial output',
};
