/**
 * CoreJobRunner: the WorkflowJobRunner the app uses. A step becomes one job of its event on its server through
 * core.jobs.runEvent (trigger 'workflow', the node's mode, requirements and timeout as overrides). The mode, the
 * runner (deployed or upgraded on demand, a failed deploy retried) and the fallback are decided where every job's
 * are: core/execution (ModePolicy, RunnerProvisioning), when the job's attempt starts.
 * It never decides what runs next; the WorkflowExecutor does.
 */
import type { JobService } from '../jobs/job-service';
import type { StepEndStatus, StepJobRequest, StepJobResult, WorkflowJobRunner } from './workflow-executor';

export class CoreJobRunner implements WorkflowJobRunner {
  constructor(
    private readonly deps: { jobs: JobService },
  ) {}

  async start(req: StepJobRequest): Promise<{ jobId: string }> {
    const { node } = req;
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
      ...(node.parameters && Object.keys(node.parameters).length > 0 ? { parameters: node.parameters } : {}),
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
}
