/**
 * CoreJobRunner: the WorkflowJobRunner the app uses. A step becomes one job of its event on its server through
 * core.jobs.runEvent (trigger 'workflow', the node's mode, requirements and timeout as overrides). For a runner-ssh
 * step it first makes sure a compatible runner is on the server (deployed or upgraded on demand), retrying a failed
 * deployment a few times, since a deploy fails for passing reasons (a dropped link) more often than a script does.
 * It never decides what runs next; the WorkflowExecutor does.
 */
import type { Clock } from '../clock';
import { isAppError } from '../errors';
import type { JobService } from '../jobs/job-service';
import type { RunnerRequirements } from '../../../src-shared/contract/events';
import type { StepEndStatus, StepJobRequest, StepJobResult, WorkflowJobRunner } from './workflow-executor';

/** The part of RunnerService a workflow needs (a port, so the workflow core does not depend on the runner layer). */
export interface RunnerProvisioner {
  ensureRunner(serverId: string, requirements?: RunnerRequirements | null): Promise<unknown>;
}

/** Waits before the 2nd and 3rd deployment attempts. */
export const RUNNER_ENSURE_BACKOFF_MS = [2_000, 5_000];
/** Errors that another attempt cannot fix (the user must act): not retried. */
const NOT_RETRYABLE = new Set(['RUNNER_NOT_DEPLOYED', 'SERVER_NOT_FOUND', 'NOT_FOUND', 'RUNNER_ARTIFACT_UNAVAILABLE', 'ARTIFACT_INVALID', 'ARTIFACT_TAMPERED', 'ARTIFACT_UNTRUSTED_KEY', 'RUNNER_VERSION_INVALID']);

export class CoreJobRunner implements WorkflowJobRunner {
  constructor(
    private readonly deps: { jobs: JobService; clock: Clock; runners?: () => RunnerProvisioner | undefined },
  ) {}

  async start(req: StepJobRequest): Promise<{ jobId: string }> {
    const { node } = req;
    if (node.executionMode === 'runner-ssh') await this.ensureRunner(node.serverId, node.runnerRequirements);
    const [job] = await this.deps.jobs.runEvent({
      eventId: node.eventId,
      serverIds: [node.serverId],
      trigger: 'workflow',
      workflowRunId: req.runId,
      input: req.input,
      idempotencyKey: req.idempotencyKey,
      ...(node.executionMode !== null ? { executionMode: node.executionMode } : {}),
      ...(node.runnerRequirements !== null ? { runnerRequirements: node.runnerRequirements } : {}),
      ...(node.timeoutSeconds !== null ? { timeoutSeconds: node.timeoutSeconds } : {}),
    });
    if (!job) throw new Error('no job was created for the step');
    return { jobId: job.id };
  }

  async wait(jobId: string): Promise<StepJobResult> {
    const job = await this.deps.jobs.waitForJob(jobId);
    const result: StepJobResult = {
      status: job.status as StepEndStatus,
      exitCode: job.exitCode,
      condition: job.condition,
      reason: job.reason,
    };
    if (job.output !== undefined) result.output = job.output;
    return result;
  }

  async cancel(jobId: string): Promise<void> {
    await this.deps.jobs.cancel(jobId);
  }

  private async ensureRunner(serverId: string, requirements: RunnerRequirements | null): Promise<void> {
    const runners = this.deps.runners?.();
    if (!runners) return; // no runner layer in this build: the job's own mode resolution reports it
    let lastError: unknown;
    for (let attempt = 0; attempt <= RUNNER_ENSURE_BACKOFF_MS.length; attempt++) {
      if (attempt > 0) await new Promise<void>((resolve) => this.deps.clock.setTimeout(resolve, RUNNER_ENSURE_BACKOFF_MS[attempt - 1]!));
      try {
        await runners.ensureRunner(serverId, requirements);
        return;
      } catch (err) {
        lastError = err;
        if (isAppError(err) && NOT_RETRYABLE.has(err.code)) break;
      }
    }
    const message = lastError instanceof Error ? lastError.message : String(lastError);
    throw new Error(`no compatible runner could be made ready on the server: ${message}`);
  }
}
