/**
 * RunnerSshExecutor (mode 'runner-ssh'): runs an attempt through the runner deployed on the server. It takes the
 * runner the mode policy made ready (core/execution; or makes sure of one through the same provisioning), has the
 * payload built (PayloadService), then hands the job to a RunnerJobSession (tunnel, detached start with the payload's
 * presence check, upload only when it is missing, streaming, re-attach, cancel). It also re-attaches, at start-up, to runner jobs a previous run of the app left
 * running (resume, registered as the 'runner-ssh' resumer).
 * When the runner cannot be started it throws RunnerStartFailed (nothing of the script ran): whether the attempt then
 * runs direct-ssh is the mode policy's decision, not this executor's. It never starts a script twice.
 */
import { EventStore } from '../events/event-store';
import { ServerStore } from '../servers/server-store';
import { stepInputOfJob } from '../workflows/workflow-store';
import { performance } from 'node:perf_hooks';
import type { AppDatabase } from '../db/database';
import type { Row } from '../db/schema';
import { nowIso } from '../db/ids';
import type { Clock } from '../clock';
import { AppError, isAppError, messageOf } from '../errors';
import type { EventService } from '../events/event-service';
import type { PayloadService } from '../payloads/payload-service';
import type { CompatibleRunner } from '../runners/runner-service';
import type { LogStatus } from '../../../src-shared/contract/logs';
import { RunnerStartFailed, type ExecutionContext, type ExecutionResult, type Executor } from './executor';
import type { ResumeContext } from './job-service';
import { RunnerJobSession, failureReason, type RunnerSessionDeps, type RunnerSessionOptions } from './runner-job-session';

import type { RunnerLocator } from '../execution/runner-provisioning';

export type { RunnerLocator };

export interface RunnerSshExecutorDeps extends RunnerSessionDeps {
  db: AppDatabase;
  clock: Clock;
  payloads: PayloadService;
  runners: RunnerLocator;
  events: Pick<EventService, 'getForRun'>;
}

export const DEFAULT_RUNNER_SESSION_OPTIONS: RunnerSessionOptions = {
  tokenTtlSeconds: 900,
  helloTimeoutMs: 30_000,
  socketGraceMs: 1_500,
  cancelGraceMs: 2_000,
  reattachMinDelayMs: 250,
  reattachMaxDelayMs: 5_000,
};

export class RunnerSshExecutor implements Executor {
  readonly mode = 'runner-ssh' as const;
  private readonly options: RunnerSessionOptions;

  constructor(
    private readonly deps: RunnerSshExecutorDeps,
    options: Partial<RunnerSessionOptions> = {},
  ) {
    this.options = { ...DEFAULT_RUNNER_SESSION_OPTIONS, ...options };
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionResult> {
    if (ctx.signal.aborted) return { status: 'CANCELLED', exitCode: null, signal: null, reason: 'cancelled before it started' };
    const started = performance.now();
    const serverName = await this.serverName(ctx.serverId);
    let runner: CompatibleRunner;
    let payload: Awaited<ReturnType<PayloadService['generatePayload']>>;
    try {
      runner = ctx.runner ?? (await this.deps.runners.ensureRunner(ctx.serverId, ctx.event.runnerRequirements));
      payload = await this.deps.payloads.generatePayload(ctx.event);
    } catch (err) {
      throw this.cannotStart(serverName, err);
    }
    // The runner file is checked inside the start exec (integrity guard). When it is not the deployed one, nothing of
    // it ran: the runner service settles it (same bytes: go on; tampered: redeploy with auto deploy, else fail).
    let session: RunnerJobSession;
    for (let tries = 0; ; tries++) {
      session = new RunnerJobSession(this.deps, this.options, {
        jobId: ctx.jobId,
        serverId: ctx.serverId,
        serverName,
        attempt: ctx.attempt,
        event: { id: ctx.event.id, name: ctx.event.name, version: ctx.event.version, timeoutSeconds: ctx.event.timeoutSeconds, content: ctx.event.content },
        runner,
        sink: ctx.log,
        initialRunnerSeq: 0,
        initialLogStatus: 'PENDING',
        secrets: { ...ctx.secrets, ...(ctx.parameters?.secretEnv ?? {}) },
        parameterEnv: ctx.parameters?.env ?? {},
        input: ctx.input,
        signal: ctx.signal,
        startedAtMs: this.deps.clock.now(),
      });
      try {
        const placed = payload;
        await session.start(
          { checksum: placed.checksum, check: this.deps.payloads.presenceCheck(placed), place: () => this.deps.payloads.ensureOnServer(ctx.serverId, placed) },
          await this.deps.payloads.publicKeyPem(),
        );
        break;
      } catch (err) {
        if (ctx.signal.aborted) return { status: 'CANCELLED', exitCode: null, signal: null, reason: 'cancelled before the runner started' };
        if (isAppError(err) && err.code === 'RUNNER_INTEGRITY_MISMATCH' && tries === 0 && this.deps.runnerIntegrity) {
          try {
            ctx.log.system(`${err.message}; checking its sha256`);
            const checked = runner.deploymentId;
            runner = await this.deps.runnerIntegrity.settleIntegrity(runner, 'job start');
            if (runner.deploymentId !== checked) ctx.log.system(`runner redeployed on ${serverName}; starting the job with it`);
            continue;
          } catch (settleErr) {
            return { status: 'FAILURE', exitCode: null, signal: null, reason: messageOf(settleErr) };
          }
        }
        if (isAppError(err) && (err.code === 'RUNNER_INTEGRITY_MISMATCH' || err.code === 'RUNNER_TAMPERED')) {
          return { status: 'FAILURE', exitCode: null, signal: null, reason: err.message };
        }
        throw this.cannotStart(serverName, err);
      }
    }
    ctx.markRunning({ ...(session.remotePid ? { remotePid: session.remotePid } : {}), runnerId: runner.deploymentId, payloadId: payload.id });
    const result = await session.result;
    this.deps.metrics.sshRunnerExecutionDuration.observe((performance.now() - started) / 1000);
    return result;
  }

  /**
   * Finishes a runner job a previous run of the app left unfinished: re-attaches (the runner replays what the log
   * lacks) and reports the outcome through ctx.finish, whether the script still runs or ended meanwhile.
   */
  async resume(job: Row<'jobs'>, ctx: ResumeContext): Promise<void> {
    const sink = ctx.log;
    if (!sink || !job.server_id) {
      await ctx.finish({ status: 'FAILURE', exitCode: null, signal: null, reason: 'this runner job has no log or server any more, so it cannot be re-attached' });
      return;
    }
    const runner = await this.deps.runners.getCompatibleRunner(job.server_id);
    if (!runner) {
      await ctx.finish({ status: 'PARTIAL', exitCode: null, signal: null, reason: 'the runner this job ran under is no longer deployed on its server; the output received until then is kept' });
      return;
    }
    const event = job.event_id ? await new EventStore(this.deps.db).find(job.event_id) : undefined;
    const secrets = job.event_id ? ((await this.deps.events.getForRun(job.event_id).catch(() => null))?.secrets ?? {}) : {};
    const storedStatus = await this.deps.logs.statusOf(sink.logId);
    if (!storedStatus) throw new AppError('LOG_NOT_FOUND', `the log ${sink.logId} of job ${job.id} is gone`);
    const counted = { n: this.deps.logs.runnerLineCount(sink.logId) };
    // A log that was streaming when the app went away is PARTIAL until the runner has replayed the rest.
    let logStatus: LogStatus = storedStatus;
    if (logStatus === 'STREAMING') {
      sink.setStatus('PARTIAL');
      logStatus = 'PARTIAL';
    }
    const stepInput = await stepInputOfJob(this.deps.db, job.id);
    const session = new RunnerJobSession(this.deps, this.options, {
      jobId: job.id,
      serverId: job.server_id,
      serverName: await this.serverName(job.server_id),
      attempt: job.attempt,
      event: { id: job.event_id, name: event?.name ?? 'a deleted event', version: job.event_version ?? event?.version ?? 0, timeoutSeconds: event?.timeout_seconds ?? 3600 },
      runner,
      sink,
      initialRunnerSeq: counted.n,
      initialLogStatus: logStatus,
      secrets,
      input: stepInput ? safeParse(stepInput) : null,
      signal: ctx.signal,
      startedAtMs: Date.parse(job.started_at ?? job.created_at),
    });
    sink.system(
      job.fired_on_server === 1
        ? `fired on the server by its resident runner (server-held schedule); collected at ${nowIso(this.deps.clock.now())}`
        : `Cronium restarted at ${nowIso(this.deps.clock.now())} while this job ran; re-attaching to the runner`,
    );
    session.resume();
    await ctx.finish(await session.result);
  }

  /** The runner could not be started (nothing of the script ran): counted, then left to the mode policy. */
  private cannotStart(serverName: string, err: unknown): RunnerStartFailed {
    this.deps.metrics.sshRunnerConnectionFailures.inc({ reason: failureReason(err) });
    return new RunnerStartFailed(err, `the runner could not be started on ${serverName}: ${messageOf(err)}`);
  }

  private async serverName(serverId: string): Promise<string> {
    const row = await new ServerStore(this.deps.db).find(serverId);
    if (!row) throw new AppError('SERVER_NOT_FOUND', `server ${serverId} no longer exists`);
    return row.name;
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
