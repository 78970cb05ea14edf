/**
 * ExecutionService: the one place an attempt of a job starts ("run this event on this server"). Every attempt of every
 * job (manual run, schedule fire, workflow step, retry) comes here from the JobService: the mode policy decides the
 * mode (and makes the runner ready), the decision is recorded on the job, the executor of that mode runs it, and when
 * the runner could not be started the policy decides again (direct-ssh fallback, or the failure). It also offers the
 * execution path's ensureRunner to callers outside a job (RunnerProvisioning, single-flight per server).
 * It records the mode through the JobStore and never moves a job's status (the JobService does).
 */
import { AppError, messageOf } from '../errors';
import type { JobStore } from '../jobs/job-store';
import { RunnerStartFailed, type ExecutionContext, type ExecutionResult, type Executor } from '../jobs/executor';
import type { RunnerRequirements } from '../../../src-shared/contract/events';
import type { ExecutionMode } from '../../../src-shared/contract/settings';
import type { ModePolicy, ModeRequest, RunMode } from './mode-policy';
import type { RunnerProvisioning } from './runner-provisioning';
import type { JobHelpers } from './job-helpers';

export interface AttemptRequest {
  trigger: string;
  requestedMode: ExecutionMode;
  server: { id: string; name: string };
  ctx: ExecutionContext;
}

/** What the JobService needs to run an attempt. */
export interface AttemptLauncher {
  launch(req: AttemptRequest): Promise<ExecutionResult>;
}

export interface ExecutionServiceDeps {
  policy: ModePolicy;
  provisioning: RunnerProvisioning;
  jobs: Pick<JobStore, 'recordMode'>;
  executors: Executor[];
  helpers: JobHelpers;
}

export class ExecutionService implements AttemptLauncher {
  readonly policy: ModePolicy;
  /** The app's answers to job-level helper calls (`event`), as the runner session and the listener routes give them. */
  readonly helpers: JobHelpers;
  private readonly executors = new Map<RunMode, Executor>();

  constructor(private readonly deps: ExecutionServiceDeps) {
    this.policy = deps.policy;
    this.helpers = deps.helpers;
    for (const e of deps.executors) this.executors.set(e.mode, e);
  }

  /** The runner ready on a server (deployed or upgraded on demand); the same single-flight path every attempt uses. */
  ensureRunner(serverId: string, requirements?: RunnerRequirements | null): Promise<unknown> {
    return this.deps.provisioning.ensureRunner(serverId, requirements ?? null, { retryTransient: true });
  }

  async launch({ trigger, requestedMode, server, ctx }: AttemptRequest): Promise<ExecutionResult> {
    const req: ModeRequest = {
      jobId: ctx.jobId, trigger, requestedMode, eventName: ctx.event.name, serverId: server.id, serverName: server.name,
      runnerRequirements: ctx.event.runnerRequirements,
    };
    const decision = await this.deps.policy.decide(req);
    await this.deps.jobs.recordMode(ctx.jobId, decision.mode, decision.fallbackReason ?? null);
    if (decision.fallbackReason) ctx.log.system(`running with ${decision.mode}: ${decision.fallbackReason}`);
    if (decision.mode === 'direct-ssh') return this.executor('direct-ssh').execute(ctx);
    try {
      return await this.executor('runner-ssh').execute({ ...ctx, ...(decision.runner ? { runner: decision.runner } : {}) });
    } catch (err) {
      if (!(err instanceof RunnerStartFailed)) throw err;
      if (ctx.signal.aborted) return { status: 'CANCELLED', exitCode: null, signal: null, reason: 'cancelled before the runner started' };
      let fallback: { fallbackReason: string };
      try {
        fallback = this.deps.policy.afterRunnerStartFailed(req, err.cause);
      } catch (failure) {
        return { status: 'FAILURE', exitCode: null, signal: null, reason: messageOf(failure) };
      }
      await this.deps.jobs.recordMode(ctx.jobId, 'direct-ssh', fallback.fallbackReason);
      ctx.log.system(`running with direct-ssh (requested: ${requestedMode}): ${fallback.fallbackReason}`);
      return this.executor('direct-ssh').execute(ctx);
    }
  }

  /** The executor of `mode`, its markRunning stamped with that mode (the JobService records how the script started). */
  private executor(mode: RunMode): { execute(ctx: ExecutionContext): Promise<ExecutionResult> } {
    const executor = this.executors.get(mode);
    if (!executor) throw new AppError('EXECUTOR_MISSING', `no executor for ${mode} is available in this build; choose another execution mode`);
    return { execute: (ctx) => executor.execute({ ...ctx, markRunning: (info) => ctx.markRunning({ ...info, mode }) }) };
  }
}
