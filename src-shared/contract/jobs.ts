/**
 * Jobs: one run of one event version on one server. States follow ARCHITECTURE.md; only the job state machine in
 * src-main/core/jobs moves them. A job's output lives in its log (contract/logs.ts).
 */
import { z } from 'zod';
import { call } from './define';
import { ExecutionMode } from './settings';

export const JobStatus = z.enum(['QUEUED', 'DISPATCHING', 'RUNNING', 'SUCCESS', 'FAILURE', 'TIMEOUT', 'CANCELLED', 'PARTIAL']);
export type JobStatus = z.infer<typeof JobStatus>;
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['SUCCESS', 'FAILURE', 'TIMEOUT', 'CANCELLED', 'PARTIAL'];
/**
 * A failed job: it ended and did not succeed, and was not stopped on purpose. PARTIAL counts (the execution was cut
 * off, so what it was meant to do is not known to be done); CANCELLED does not (the user or a workflow stopped it).
 * The one definition for run summaries, "re-run failed only", alerts and notifications.
 */
export const FAILED_JOB_STATUSES: readonly JobStatus[] = ['FAILURE', 'TIMEOUT', 'PARTIAL'];

export function isFailedJobStatus(status: JobStatus): boolean {
  return FAILED_JOB_STATUSES.includes(status);
}

/**
 * A running runner job whose link to this app is down: since when, why, and which reconnect attempt is under way.
 * Shown as "link lost at 14:02:11, reconnecting (attempt 3)"; null again once the runner is re-attached.
 */
export const JobLinkState = z.object({
  state: z.literal('lost'),
  since: z.string(),
  reason: z.string(),
  attempt: z.number().int(),
});
export type JobLinkState = z.infer<typeof JobLinkState>;

/** "link lost at 14:02:11, reconnecting (attempt 3)", in the reader's local time: one wording for the log and the UI. */
export function describeJobLink(link: JobLinkState): string {
  const at = new Date(link.since).toTimeString().slice(0, 8);
  return `link lost at ${at}, reconnecting${link.attempt > 0 ? ` (attempt ${link.attempt})` : ''}`;
}

export const JobView = z.object({
  id: z.string(),
  eventId: z.string().nullable(),
  eventName: z.string().nullable(),
  eventVersion: z.number().int().nullable(),
  serverId: z.string().nullable(),
  serverName: z.string().nullable(),
  workflowRunId: z.string().nullable(),
  /** The event run (one start over several servers) this job belongs to. */
  runId: z.string().nullable().optional(),
  status: JobStatus,
  trigger: z.enum(['manual', 'schedule', 'workflow']),
  attempt: z.number().int(),
  maxAttempts: z.number().int(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  reason: z.string().nullable(),
  requestedMode: ExecutionMode.nullable(),
  executionMode: ExecutionMode.nullable(),
  fallbackReason: z.string().nullable(),
  logId: z.string().nullable(),
  output: z.unknown().optional(),
  condition: z.boolean().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  /** Fired by the resident runner on its server (a server-held schedule), collected afterwards. */
  firedOnServer: z.boolean().optional(),
  /** Set while a runner job's link is lost (in memory: this process's view of the link). */
  link: JobLinkState.nullable().optional(),
});
export type JobView = z.infer<typeof JobView>;

export const jobsCalls = {
  'jobs/list': call(
    z
      .object({
        status: JobStatus.optional(),
        eventId: z.string().optional(),
        serverId: z.string().optional(),
        limit: z.number().int().min(1).max(1000).default(100),
      })
      .optional(),
    z.array(JobView),
  ),
  'jobs/get': call(z.object({ id: z.string().min(1) }), JobView),
  'jobs/cancel': call(z.object({ id: z.string().min(1) }), JobView),
};

export const jobsEvents = {
  'jobs/changed': z.object({ job: JobView }),
  /** A runner job has been unreachable longer than settings.runner.unreachableNoticeSeconds. */
  'jobs/unreachable': z.object({ jobId: z.string(), eventName: z.string(), serverName: z.string(), since: z.string(), seconds: z.number() }),
};
