// Builds 'jobs/changed' payloads in the contract's JobView shape, validated by the real schema so the tray and
// notification tests cannot drift from what the jobs service emits.
import { jobsEvents, type JobStatus } from '../../../src-shared/contract/jobs';

export function jobChanged(id: string, status: JobStatus, extra: Record<string, unknown> = {}) {
  return jobsEvents['jobs/changed'].parse({
    job: {
      id,
      eventId: `event-${id}`,
      eventName: `backup ${id}`,
      eventVersion: 1,
      serverId: 'srv-1',
      serverName: 'db-1',
      workflowRunId: null,
      status,
      trigger: 'manual',
      attempt: 1,
      maxAttempts: 1,
      exitCode: status === 'FAILURE' ? 2 : status === 'SUCCESS' ? 0 : null,
      signal: null,
      reason: null,
      requestedMode: 'direct-ssh',
      executionMode: 'direct-ssh',
      fallbackReason: null,
      logId: `log-${id}`,
      condition: null,
      createdAt: '2025-01-01T00:00:00.000Z',
      startedAt: null,
      finishedAt: null,
      durationMs: null,
      ...extra,
    },
  });
}
