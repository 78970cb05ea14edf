// One definition of a failed job (contract/jobs.ts) behind run summaries, "re-run failed only", alerts and the
// notification centre; the centre's one deliberate difference (PARTIAL is link lost there, not a failure) is pinned.
import { describe, expect, it } from 'vitest';
import { FAILED_JOB_STATUSES, isFailedJobStatus, JobStatus, TERMINAL_JOB_STATUSES, type JobView } from '../../../src-shared/contract/jobs';
import { summarize } from '../../../src-main/core/jobs/event-run-service';
import { isFailedJob } from '../../../src-main/core/notifications/notification-content';

const job = (id: string, status: JobStatus): JobView => ({ id, status, serverId: `srv-${id}` }) as JobView;

describe('failed job statuses', () => {
  it('are the terminal statuses that are neither a success nor a cancellation', () => {
    expect([...FAILED_JOB_STATUSES].sort()).toEqual(TERMINAL_JOB_STATUSES.filter((s) => s !== 'SUCCESS' && s !== 'CANCELLED').sort());
    expect(JobStatus.options.filter(isFailedJobStatus)).toEqual(['FAILURE', 'TIMEOUT', 'PARTIAL']);
  });

  it('are what a run summary counts as failed', () => {
    const jobs = JobStatus.options.map((s, i) => job(String(i), s));
    expect(summarize(jobs)).toMatchObject({ total: 8, succeeded: 1, failed: 3, cancelled: 1, active: 3 });
  });

  it('less PARTIAL are what the notification centre announces as a failed job', () => {
    expect(JobStatus.options.filter((status) => isFailedJob({ status }))).toEqual(['FAILURE', 'TIMEOUT']);
  });
});
