/**
 * JobService: turns "run this event" into jobs (one per server), queues them per server, dispatches each attempt to
 * the executor of its execution mode, retries failures with backoff (a new log per attempt), and records every state
 * change through the job state machine. At start-up it reconciles jobs a crash left unfinished. It never runs a script
 * itself (executors do) and never lets a job stay RUNNING without a live attempt or a resumer behind it.
 *
 * Decisions: only FAILURE is retried (a TIMEOUT, CANCELLED or PARTIAL attempt is not); backoff is
 * retryBackoffSeconds * 2^(attempt-1), capped at one hour; a job found QUEUED at start-up is failed, not re-run
 * (running something hours after it was asked for would surprise; the scheduler's misfire policy covers schedules).
 */
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import type { Row } from '../db/schema';
import type { EventBus } from '../event-bus';
import { backoffDelay } from '../backoff';
import { sleep, type Clock } from '../clock';
import { AppError, isAppError, messageOf } from '../errors';
import type { VariablesService } from '../variables/variables-service';
import type { EventService } from '../events/event-service';
import type { ServerService } from '../servers/server-service';
import type { LogStore } from '../logs/log-store';
import { LogSinkImpl } from '../logs/log-sink';
import { canMoveJob, canMoveLog, isTerminalJobStatus } from './job-state-machine';
import { ServerSlots } from './server-slots';
import type { ExecutionEvent, ExecutionResult } from './executor';
import { JobStore, type JobListFilter } from './job-store';
import type { AttemptLauncher } from '../execution/execution-service';
import { JOB_DETACHED } from './runner-job-session';
import type { JobLinkState, JobStatus, JobView } from '../../../src-shared/contract/jobs';
import type { LogStatus } from '../../../src-shared/contract/logs';
import type { RunnerRequirements } from '../../../src-shared/contract/events';
import type { ExecutionMode } from '../../../src-shared/contract/settings';
import { checkParameters, parameterEnv as parameterEnvOf, type ParameterValue } from '../../../src-shared/contract/run-parameters';
import { resolveRunTargets } from '../execution/run-targets';
import { EventRunStore } from './event-run-store';

export const CRASH_REASON_RUNNING = 'Cronium stopped while this job ran; a direct-ssh job ends with its connection';
export const CRASH_REASON_QUEUED = 'Cronium stopped before this job started, so it was not run; run the event again if it is still needed';
export const MAX_BACKOFF_MS = 3600_000;

export interface RunEventOptions {
  eventId: string;
  serverIds?: string[];
  trigger: 'manual' | 'schedule' | 'workflow';
  workflowRunId?: string;
  input?: unknown;
  idempotencyKey?: string;
  executionMode?: ExecutionMode;
  runnerRequirements?: RunnerRequirements | null;
  timeoutSeconds?: number;
  /** Target these tags (with serverIds, if any) instead of the event's own targets; resolved now. */
  targetTags?: string[];
  /** Values of the event's options (a schedule fire gets the event's schedule values under them). */
  parameters?: Record<string, unknown>;
  /** Whole-run limit for this run (default: the event's). */
  maxParallel?: number | null;
  /** The run this one repeats (re-run failed, run again). */
  rerunOf?: string;
}

/** A started run: its id (event_runs), the servers its targets resolved to, and its jobs (one per server). */
export interface StartedRun {
  runId: string;
  serverIds: string[];
  jobs: JobView[];
}

export type RunMode = 'direct-ssh' | 'runner-ssh';

/** What a resumer gets to finish a job a previous run of the app left unfinished (a runner job to re-attach). */
export interface ResumeContext {
  /** The job's current log (continues its sequence numbers), or null when it has none. */
  log: LogSinkImpl | null;
  /** Aborted when the user cancels the job or the app stops. */
  signal: AbortSignal;
  markRunning(info?: { remotePid?: number; runnerId?: string; payloadId?: string }): Promise<void>;
  /** Records the job's end (and its log's): must be called once the outcome is known. */
  finish(result: ExecutionResult): Promise<JobView>;
}

export type Resumer = (job: Row<'jobs'>, ctx: ResumeContext) => Promise<void>;

export type { JobListFilter } from './job-store';

export interface JobServiceDeps {
  db: AppDatabase;
  bus: EventBus;
  clock: Clock;
  /** The variables a job's script sees (and the secret ones its log masks). */
  variables: VariablesService;
  logs: LogStore;
  events: EventService;
  servers: ServerService;
  /** Link state of runner jobs (runners/job-links.ts), shown on their views. */
  links?: { get(jobId: string): JobLinkState | null };
}

interface ActiveJob {
  jobId: string;
  eventId: string | null;
  controller: AbortController;
  cancelRequested: boolean;
  /** Serialises markRunning with the final transitions. */
  running: Promise<void>;
  done: Promise<void>;
}

interface RunPlan {
  event: ExecutionEvent;
  secrets: Record<string, string>;
  retryBackoffSeconds: number;
  input: unknown;
  runnerRequirements: RunnerRequirements | null;
  /** The run's parameters as CRONIUM_OPT_<NAME>: plain ones, and secret ones (masked, never stored). */
  parameterEnv: Record<string, string>;
  parameterSecretEnv: Record<string, string>;
  runId: string;
  /** At most this many jobs of the run hold a server at once (null: no whole-run limit). */
  maxParallel: number | null;
}

export class JobService {
  /** The jobs table (the job half of the job + log aggregate). */
  readonly store: JobStore;
  private launcher: AttemptLauncher | null = null;
  private readonly resumers = new Map<string, Resumer>();
  private readonly active = new Map<string, ActiveJob>();
  private readonly waiters = new Map<string, Array<(job: JobView) => void>>();
  private readonly slots = new ServerSlots();
  /** The whole-run limit: the same FIFO slots, keyed by run id. */
  private readonly runSlots = new ServerSlots();
  /** event_runs: one row per run, with its resolved servers and non-secret parameters. */
  readonly runs: EventRunStore;
  private handedOver: Row<'jobs'>[] = [];
  private stopping = false;

  constructor(private readonly deps: JobServiceDeps) {
    this.store = new JobStore(deps.db, () => deps.clock.now());
    this.runs = new EventRunStore(deps.db);
  }

  /** Where attempts start (core/execution): the mode is decided and the executor chosen there, never here. */
  useLauncher(launcher: AttemptLauncher): void {
    this.launcher = launcher;
  }

  registerResumer(mode: string, fn: Resumer): void {
    this.resumers.set(mode, fn);
  }

  /** Creates one job per server (QUEUED) and returns at once; the jobs run in the background. */
  async runEvent(opts: RunEventOptions): Promise<JobView[]> {
    return (await this.startRun(opts)).jobs;
  }

  /**
   * Starts a run: resolves its targets (chosen servers and tags, now), checks its parameters (every problem at once,
   * fields `parameters.<name>`), records the run (event_runs: servers, non-secret values, secret names only) and
   * creates one job per server (QUEUED); the jobs run in the background.
   */
  async startRun(opts: RunEventOptions): Promise<StartedRun> {
    if (this.stopping) throw new AppError('APP_STOPPING', 'the app is shutting down; no new job is started');
    const snapshot = await this.deps.events.getForRun(opts.eventId);
    const explicit = opts.serverIds !== undefined || opts.targetTags !== undefined;
    const tags = explicit ? (opts.targetTags ?? []) : snapshot.targetTags;
    const targets = await resolveRunTargets(this.deps.db, { serverIds: explicit ? (opts.serverIds ?? []) : snapshot.serverIds, tags });
    const serverIds = targets.serverIds;
    if (serverIds.length === 0) {
      const why = tags.length ? `no server carries the tag${tags.length > 1 ? 's' : ''} ${tags.join(', ')}` : `${snapshot.event.name} has no target server`;
      throw new AppError('INVALID_INPUT', `${why}; tag a server or edit the event's targets`, { fields: { serverIds: 'choose at least one server or tag' } });
    }
    const given = opts.trigger === 'schedule' ? { ...snapshot.scheduleParameters, ...(opts.parameters ?? {}) } : (opts.parameters ?? {});
    const checked = checkParameters(snapshot.options, given);
    if (Object.keys(checked.errors).length) {
      throw new AppError('INVALID_INPUT', `${snapshot.event.name}: ${Object.entries(checked.errors).map(([k, v]) => `${k.slice('parameters.'.length)} ${v}`).join('; ')}`, { fields: checked.errors });
    }
    const secretNames = new Set(snapshot.options.filter((o) => o.secret).map((o) => o.name));
    const plainValues: Record<string, ParameterValue> = {};
    for (const [name, value] of Object.entries(checked.values)) if (!secretNames.has(name)) plainValues[name] = value;
    const { plain: parameterEnv, secret: parameterSecretEnv } = parameterEnvOf(checked.values, secretNames);
    const event: ExecutionEvent = {
      ...snapshot.event,
      timeoutSeconds: opts.timeoutSeconds ?? snapshot.event.timeoutSeconds,
      runnerRequirements: opts.runnerRequirements !== undefined ? opts.runnerRequirements : snapshot.event.runnerRequirements,
    };
    const runId = newId();
    const maxParallel = opts.maxParallel !== undefined ? opts.maxParallel : snapshot.maxParallel;
    const plan: RunPlan = {
      event,
      secrets: snapshot.secrets,
      retryBackoffSeconds: snapshot.retryBackoffSeconds,
      input: inputWithParameters(opts.input, checked.values),
      runnerRequirements: event.runnerRequirements,
      parameterEnv,
      parameterSecretEnv,
      runId,
      maxParallel,
    };
    let recorded = false;
    const recordRun = async () => {
      if (recorded) return;
      recorded = true;
      await this.runs.insert({
        id: runId, eventId: event.id, trigger: opts.trigger, targetTags: tags, serverIds, parameters: plainValues,
        secretParameterNames: Object.keys(checked.values).filter((n) => secretNames.has(n)), maxParallel,
        rerunOf: opts.rerunOf ?? null, workflowRunId: opts.workflowRunId ?? null, createdAt: nowIso(this.deps.clock.now()),
      });
    };
    const views: JobView[] = [];
    for (const serverId of serverIds) {
      const key = opts.idempotencyKey ? `${opts.idempotencyKey}:${serverId}` : null;
      if (key) {
        const existing = await this.store.idByIdempotencyKey(key);
        if (existing) {
          views.push(await this.get(existing));
          continue;
        }
      }
      const id = newId();
      const at = nowIso(this.deps.clock.now());
      try {
        await recordRun();
        await this.store.insertQueued({
            id, event_id: event.id, event_version: event.version, server_id: serverId, workflow_run_id: opts.workflowRunId ?? null,
            trigger: opts.trigger, attempt: 1, max_attempts: snapshot.retries + 1, exit_code: null, signal: null,
            reason: null, output: null, condition: null, remote_pid: null, idempotency_key: key, created_at: at, started_at: null,
            finished_at: null, updated_at: at, runner_id: null, payload_id: null, execution_mode: null,
            requested_mode: opts.executionMode ?? snapshot.executionMode, fallback_reason: null, run_id: runId, fired_on_server: 0,
          });
      } catch (err) {
        // Another caller with the same idempotency key won the race: its job is the one.
        const raced = key ? await this.store.idByIdempotencyKey(key) : undefined;
        if (raced) {
          views.push(await this.get(raced));
          continue;
        }
        throw err;
      }
      // Not pushed yet: a job that gets its slots at once goes out as DISPATCHING (see drive), one 'jobs/changed' fewer.
      const view = await this.get(id);
      views.push(view);
      this.track(id, event.id, (active) => this.drive(id, serverId, plan, active));
    }
    return { runId: views[0]?.runId ?? runId, serverIds, jobs: views };
  }

  /** Resolves with the job once it has reached a terminal state. */
  async waitForJob(jobId: string): Promise<JobView> {
    // Register before reading: a job that ends between the read and the registration must still wake this waiter.
    let wake: (job: JobView) => void = () => undefined;
    const woken = new Promise<JobView>((resolve) => (wake = resolve));
    const list = this.waiters.get(jobId) ?? [];
    list.push(wake);
    this.waiters.set(jobId, list);
    try {
      const view = await this.get(jobId);
      if (isTerminalJobStatus(view.status)) {
        this.waiters.set(jobId, (this.waiters.get(jobId) ?? []).filter((w) => w !== wake));
        if (this.waiters.get(jobId)?.length === 0) this.waiters.delete(jobId);
        return view;
      }
    } catch (err) {
      this.waiters.set(jobId, (this.waiters.get(jobId) ?? []).filter((w) => w !== wake));
      throw err;
    }
    return woken;
  }

  /**
   * Cancels a job: a queued one ends at once; a running one has its remote process group ended by its executor.
   * Resolves with the job once it has ended (or as it is, if it does not end within a bound).
   */
  async cancel(jobId: string): Promise<JobView> {
    const view = await this.get(jobId);
    if (isTerminalJobStatus(view.status)) return view;
    const active = this.active.get(jobId);
    if (!active) {
      // Not driven by this process (e.g. a runner job not yet re-attached): end it here.
      await this.move(jobId, 'CANCELLED', { reason: 'cancelled by the user' });
      const logId = view.logId;
      if (logId) await this.endLog(logId, null, 'CANCELLED', null, 'cancelled by the user');
      return this.get(jobId);
    }
    active.cancelRequested = true;
    active.controller.abort(new AppError('JOB_CANCELLED', 'cancelled by the user'));
    await Promise.race([active.done, sleep(this.deps.clock, 20_000)]);
    return this.get(jobId);
  }

  async get(jobId: string): Promise<JobView> {
    const view = await this.store.view(jobId);
    if (!view) throw new AppError('JOB_NOT_FOUND', `there is no job ${jobId}; it may have been deleted with its event`);
    return this.withLink(view);
  }

  async list(filter: JobListFilter = {}): Promise<JobView[]> {
    return (await this.store.list(filter)).map((v) => this.withLink(v));
  }

  /** A runner job's link state (runner sessions keep it in memory), when its link is lost. */
  private withLink(view: JobView): JobView {
    const link = this.deps.links?.get(view.id) ?? null;
    return link ? { ...view, link } : view;
  }

  /** Whether a job of this event is queued or running in this process (the scheduler's overlap policy asks). */
  isEventActive(eventId: string): boolean {
    for (const a of this.active.values()) if (a.eventId === eventId) return true;
    return false;
  }

  /**
   * Start-up reconciliation (called by createCore before anything runs): every job left QUEUED, DISPATCHING or RUNNING
   * by a crash is either kept for its mode's resumer (handed over by resumeHandedOver() at start) or ended now.
   */
  async reconcile(): Promise<{ ended: number; handedOver: number }> {
    const rows = await this.store.unfinished();
    let ended = 0;
    for (const row of rows) {
      if (this.active.has(row.id)) continue;
      if (row.execution_mode && this.resumers.has(row.execution_mode) && row.status !== 'QUEUED') {
        this.handedOver.push(row);
        continue;
      }
      const log = await this.latestLog(row.id);
      let status: JobStatus;
      let reason: string;
      if (row.status === 'QUEUED') {
        status = 'FAILURE';
        reason = CRASH_REASON_QUEUED;
      } else {
        const hasLines = (log?.line_count ?? 0) > 0;
        status = row.status === 'RUNNING' && hasLines ? 'PARTIAL' : 'FAILURE';
        reason = hasLines ? `${CRASH_REASON_RUNNING}; the output up to that moment is kept` : CRASH_REASON_RUNNING;
      }
      if (log) {
        const logStatus = status as LogStatus;
        if (log.status === 'PENDING' || log.status === 'RUNNING' || log.status === 'STREAMING') await this.endLog(log.id, null, logStatus, null, reason);
      }
      await this.move(row.id, status, { reason, finished_at: nowIso(this.deps.clock.now()) });
      ended++;
    }
    return { ended, handedOver: this.handedOver.length };
  }

  /** Hands the jobs kept by reconcile() to their resumers (core start). */
  resumeHandedOver(): void {
    const rows = this.handedOver;
    this.handedOver = [];
    for (const row of rows) this.resumeRow(row);
  }

  /**
   * A job the resident runner fired on a server for a server-held schedule (core/server-schedules): recorded like an
   * app-fired scheduled job (fired_on_server set, started when the server started it), then handed to the
   * 'runner-ssh' resumer, which replays its spool and collects its exit, or attaches live when it still runs. The job
   * id comes from the fire key, so a fire met again (another collection, another app start) is never recorded twice.
   * Returns false when the job is already known.
   */
  async adoptServerFired(f: { jobId: string; eventId: string; eventVersion: number; serverId: string; fireKey: string; startedAt: string }): Promise<boolean> {
    if (this.stopping || (await this.store.find(f.jobId))) return false;
    const at = nowIso(this.deps.clock.now());
    try {
      await this.store.insertQueued({
        id: f.jobId, event_id: f.eventId, event_version: f.eventVersion, server_id: f.serverId, workflow_run_id: null,
        trigger: 'schedule', attempt: 1, max_attempts: 1, exit_code: null, signal: null,
        reason: null, output: null, condition: null, remote_pid: null, idempotency_key: `server:${f.serverId}:${f.fireKey}`, created_at: f.startedAt, started_at: null,
        finished_at: null, updated_at: at, runner_id: null, payload_id: null, execution_mode: 'runner-ssh',
        requested_mode: 'runner-ssh', fallback_reason: null, run_id: null, fired_on_server: 1,
      });
    } catch (err) {
      if (await this.store.find(f.jobId)) return false; // another collection recorded it first
      throw err;
    }
    await this.move(f.jobId, 'DISPATCHING', {});
    await this.deps.logs.create({ jobId: f.jobId, eventId: f.eventId, serverId: f.serverId });
    await this.move(f.jobId, 'RUNNING', { started_at: f.startedAt });
    this.resumeRow(await this.store.row(f.jobId));
    return true;
  }

  private resumeRow(row: Row<'jobs'>): void {
    const resumer = this.resumers.get(row.execution_mode ?? '');
    if (!resumer) return;
    this.track(row.id, row.event_id, async (active) => {
      const log = await this.latestLog(row.id);
      // The same values an attempt masks: the event's secrets and the secret variables its script can read.
      let secrets: string[] = [];
      if (row.event_id) {
        const eventSecrets = Object.values((await this.deps.events.getForRun(row.event_id).catch(() => null))?.secrets ?? {});
        const variableSecrets = (await this.deps.variables.visibleTo(row.event_id).catch(() => null))?.secretValues ?? [];
        secrets = [...eventSecrets, ...variableSecrets];
      }
      const sink = log ? new LogSinkImpl(log.id, this.deps.logs, secrets, () => this.deps.clock.now()) : null;
      let finished = false;
      const ctx: ResumeContext = {
        log: sink,
        signal: active.controller.signal,
        markRunning: (info) => this.markRunning(row.id, null, 'runner-ssh', info),
        finish: async (result) => {
          finished = true;
          return this.finalize(row.id, sink, result);
        },
      };
      try {
        await resumer(row, ctx);
      } catch (err) {
        if (!finished) await this.finalize(row.id, sink, { status: 'FAILURE', exitCode: null, signal: null, reason: `re-attaching after a restart failed: ${messageOf(err)}` });
      }
    });
  }

  /** Stops every job this process drives (their executors end the remote processes) and waits a bounded time. */
  async stop(): Promise<void> {
    this.stopping = true;
    const done = [...this.active.values()].map((a) => {
      a.controller.abort(new AppError('APP_STOPPING', 'Cronium was closing'));
      return a.done;
    });
    await Promise.race([Promise.all(done), sleep(this.deps.clock, 8_000)]);
  }

  // --- the life of one job -----------------------------------------------------------------------------------------

  private track(jobId: string, eventId: string | null, body: (active: ActiveJob) => Promise<void>): void {
    const active: ActiveJob = {
      jobId, eventId, controller: new AbortController(), cancelRequested: false, running: Promise.resolve(), done: Promise.resolve(),
    };
    this.active.set(jobId, active);
    active.done = (async () => {
      try {
        await body(active);
      } catch (err) {
        console.error(`[jobs] job ${jobId} failed inside the app:`, err);
        const row = await this.row(jobId).catch(() => undefined);
        if (row && !isTerminalJobStatus(row.status as JobStatus)) {
          await this.move(jobId, 'FAILURE', { reason: `the app failed while running this job: ${messageOf(err)}`, finished_at: nowIso(this.deps.clock.now()) }).catch(() => undefined);
        }
      } finally {
        this.active.delete(jobId);
      }
    })();
  }

  /**
   * Takes a place in a slot queue at once (first come, first served), then, when the job has to wait there and is not
   * announced yet, pushes its QUEUED state; resolves with the slot's release.
   */
  private async queueFor(hasRoom: () => boolean, acquire: () => Promise<() => void>, announce: (() => Promise<void>) | null): Promise<() => void> {
    const mustWait = announce !== null && !hasRoom();
    const slot = acquire();
    if (!mustWait) return slot;
    slot.catch(() => undefined); // rejected (cancelled) while announcing: the await below still sees it
    await announce();
    return slot;
  }

  private async drive(jobId: string, serverId: string, plan: RunPlan, active: ActiveJob): Promise<void> {
    // The QUEUED job is pushed only when it has to wait for a slot; a retry's QUEUED was pushed by its move.
    let announced = false;
    const announce = async () => {
      announced = true;
      // A job deleted meanwhile fails below as usual; the push is not what decides that.
      await this.emitJob(jobId).catch(() => undefined);
    };
    for (;;) {
      const server = await this.deps.servers.row(serverId).catch(() => undefined);
      if (!server) {
        await this.move(jobId, 'FAILURE', { reason: 'its server was deleted before the job started', finished_at: nowIso(this.deps.clock.now()) });
        return;
      }
      // The whole-run limit first, then the server's own: a job holding a run slot only waits for its server.
      let releaseRun: () => void = () => undefined;
      let release: () => void;
      try {
        const maxParallel = plan.maxParallel;
        if (maxParallel !== null) {
          releaseRun = await this.queueFor(() => this.runSlots.hasRoom(plan.runId, maxParallel), () => this.runSlots.acquire(plan.runId, maxParallel, active.controller.signal), announced ? null : announce);
        }
        release = await this.queueFor(() => this.slots.hasRoom(serverId, server.max_concurrent_jobs), () => this.slots.acquire(serverId, server.max_concurrent_jobs, active.controller.signal), announced ? null : announce);
      } catch {
        releaseRun();
        await this.move(jobId, 'CANCELLED', { reason: abortReason(active, 'cancelled before it started'), finished_at: nowIso(this.deps.clock.now()) });
        return;
      }
      let retryInMs: number | null;
      try {
        retryInMs = await this.attempt(jobId, server, plan, active);
      } finally {
        release();
        releaseRun();
      }
      if (retryInMs === null) return;
      announced = true;
      const waited = await sleep(this.deps.clock, retryInMs, active.controller.signal);
      if (!waited) {
        await this.move(jobId, 'CANCELLED', { reason: abortReason(active, 'cancelled while waiting to retry'), finished_at: nowIso(this.deps.clock.now()) });
        return;
      }
    }
  }

  /** One attempt: DISPATCHING, a new log, the mode, the executor. Returns the delay before a retry, or null when done. */
  private async attempt(jobId: string, server: Row<'servers'>, plan: RunPlan, active: ActiveJob): Promise<number | null> {
    if (active.controller.signal.aborted) {
      await this.move(jobId, 'CANCELLED', { reason: abortReason(active, 'cancelled before it started'), finished_at: nowIso(this.deps.clock.now()) });
      return null;
    }
    // DISPATCHING goes out once, with its new log (one view read and one 'jobs/changed' per attempt fewer).
    await this.store.move(jobId, 'DISPATCHING', {});
    const logId = await this.deps.logs.create({ jobId, eventId: plan.event.id, serverId: server.id });
    // Secret variables the script does not name stay in the keychain (they are still masked if they show up).
    const variables = await this.deps.variables.forJob({ id: plan.event.id, content: plan.event.content });
    const sink = new LogSinkImpl(logId, this.deps.logs, [...Object.values(plan.secrets), ...Object.values(plan.parameterSecretEnv), ...variables.secretValues], () => this.deps.clock.now());
    const job = await this.emitJob(jobId);

    let result: ExecutionResult;
    try {
      const launcher = this.launcher;
      if (!launcher) throw new AppError('EXECUTOR_MISSING', 'no execution service is wired into this build; report this');
      result = await launcher.launch({
        trigger: job.trigger,
        requestedMode: job.requestedMode ?? 'auto',
        server: { id: server.id, name: server.name },
        ctx: {
        jobId,
        attempt: job.attempt,
        serverId: server.id,
        event: plan.event,
        secrets: plan.secrets,
        variables: variables.values,
        input: plan.input,
        parameters: { env: plan.parameterEnv, secretEnv: plan.parameterSecretEnv },
        log: sink,
        signal: active.controller.signal,
        markRunning: (info) => {
          // The execution service stamps the mode of the executor that started the script.
          active.running = active.running.then(() => this.markRunning(jobId, sink, info?.mode ?? 'direct-ssh', info)).catch((err) => {
            console.error(`[jobs] job ${jobId}: marking it running failed:`, err);
          });
        },
        },
      });
    } catch (err) {
      // A runner job the app is leaving running on the server (it is stopping): the job stays RUNNING, nothing ends,
      // and the next start hands it to the 'runner-ssh' resumer (see RunnerJobSession.detach).
      if (isAppError(err) && err.code === JOB_DETACHED) {
        await active.running;
        return null;
      }
      result = active.controller.signal.aborted
        ? { status: 'CANCELLED', exitCode: null, signal: null, reason: abortReason(active, 'cancelled') }
        : { status: 'FAILURE', exitCode: null, signal: null, reason: messageOf(err) };
    }
    await active.running;

    const current = await this.row(jobId);
    const retry = result.status === 'FAILURE' && current.attempt < current.max_attempts && !active.controller.signal.aborted;
    if (retry) {
      const delayMs = backoffDelay({ kind: 'exponential', initialMs: plan.retryBackoffSeconds * 1000, maxMs: MAX_BACKOFF_MS }, current.attempt)!;
      const why = result.reason ?? (result.exitCode !== null ? `exit code ${result.exitCode}` : 'it failed');
      sink.system(`attempt ${current.attempt} of ${current.max_attempts} failed (${why}); retrying in ${Math.round(delayMs / 1000)} s`);
      sink.end();
      await sink.flush();
      // The line above already says why: no second one.
      await this.endLog(logId, sink, 'FAILURE', result.exitCode, why, { explain: false });
      await this.move(jobId, 'QUEUED', {
        attempt: current.attempt + 1,
        exit_code: result.exitCode,
        signal: result.signal,
        reason: `attempt ${current.attempt} failed: ${why}; retry ${current.attempt} of ${current.max_attempts - 1} in ${Math.round(delayMs / 1000)} s`,
      });
      return delayMs;
    }
    await this.finalize(jobId, sink, result);
    return null;
  }

  /** DISPATCHING -> RUNNING (once); a direct-ssh log goes PENDING -> RUNNING (a runner sets STREAMING itself). */
  private async markRunning(jobId: string, sink: LogSinkImpl | null, mode: RunMode, info: { remotePid?: number; runnerId?: string; payloadId?: string; mode?: RunMode } = {}): Promise<void> {
    const row = await this.row(jobId);
    if (row.status === 'RUNNING') return;
    await this.move(jobId, 'RUNNING', {
      started_at: row.started_at ?? nowIso(this.deps.clock.now()),
      ...(info.remotePid !== undefined ? { remote_pid: info.remotePid } : {}),
      ...(info.runnerId !== undefined ? { runner_id: info.runnerId } : {}),
      ...(info.payloadId !== undefined ? { payload_id: info.payloadId } : {}),
    });
    if (sink && mode === 'direct-ssh') await this.moveLogIfAllowed(sink.logId, 'RUNNING', null, ['PENDING']);
  }

  /** The end of a job: its log first (so a reader of the final job finds all lines), then the job. */
  private async finalize(jobId: string, sink: LogSinkImpl | null, result: ExecutionResult): Promise<JobView> {
    const row = await this.row(jobId);
    let status: JobStatus = result.status;
    let reason = result.reason;
    if (!canMoveJob(row.status as JobStatus, status)) {
      if (isTerminalJobStatus(row.status as JobStatus)) return this.get(jobId);
      // e.g. PARTIAL reported before the script was ever marked running: nothing of it ran for sure.
      reason = reason ?? `ended as ${status} before it started`;
      status = 'FAILURE';
    }
    // The job's secrets are masked in its reason (and so in notifications) and output as in its log lines.
    if (sink && reason !== null) reason = sink.mask(reason);
    const output = sink && result.output !== undefined ? maskStrings(result.output, (t) => sink.mask(t)) : result.output;
    if (sink) {
      sink.end();
      await sink.flush();
      await this.endLog(sink.logId, sink, status as LogStatus, result.exitCode, reason);
    }
    return this.move(jobId, status, {
      exit_code: result.exitCode,
      signal: result.signal,
      reason,
      finished_at: nowIso(this.deps.clock.now()),
      ...(output !== undefined ? { output: JSON.stringify(output) } : {}),
      ...(result.condition !== undefined && result.condition !== null ? { condition: result.condition ? 1 : 0 } : {}),
    });
  }

  /** Moves a job through the store (which checks the state machine), pushes 'jobs/changed', wakes waiters. */
  private async move(jobId: string, to: JobStatus, set: Partial<Omit<Row<'jobs'>, 'id' | 'status'>>): Promise<JobView> {
    await this.store.move(jobId, to, set);
    const view = await this.emitJob(jobId);
    if (isTerminalJobStatus(to)) {
      for (const wake of this.waiters.get(jobId) ?? []) wake(view);
      this.waiters.delete(jobId);
    }
    return view;
  }

  private async moveLogIfAllowed(logId: string, to: LogStatus, exitCode: number | null, onlyFrom?: LogStatus[]): Promise<void> {
    const from = await this.deps.logs.statusOf(logId);
    if (!from) return;
    if (from === to || (onlyFrom && !onlyFrom.includes(from)) || !canMoveLog(from, to)) return;
    await this.deps.logs.setStatus(logId, to, { exitCode });
  }

  /**
   * The end of an attempt's log: its status (when the state machine allows; a runner may have set it already) and the
   * reason, recorded on the log. When the attempt printed nothing, the reason is also written as a last 'system' line
   * (unless `explain` is false), so a downloaded or copied log says why it failed.
   */
  private async endLog(
    logId: string,
    sink: LogSinkImpl | null,
    to: LogStatus,
    exitCode: number | null,
    reason: string | null,
    opts: { explain?: boolean } = {},
  ): Promise<void> {
    const from = await this.deps.logs.statusOf(logId);
    if (!from) return;
    if (reason && to !== 'SUCCESS' && opts.explain !== false && !this.deps.logs.hasOutput(logId)) {
      const writer = sink ?? new LogSinkImpl(logId, this.deps.logs, [], () => this.deps.clock.now());
      writer.system(`${to}: ${reason}`);
      await writer.flush();
    }
    if (from !== to && canMoveLog(from, to)) await this.deps.logs.setStatus(logId, to, { exitCode, reason });
    else if (reason !== null) await this.deps.logs.setStatus(logId, from, { reason });
  }

  private async emitJob(jobId: string): Promise<JobView> {
    const view = await this.get(jobId);
    this.deps.bus.emit('jobs/changed', { job: view });
    return view;
  }

  private row(jobId: string): Promise<Row<'jobs'>> {
    return this.store.row(jobId);
  }

  private latestLog(jobId: string): Promise<Row<'logs'> | undefined> {
    return this.deps.logs.latestOfJob(jobId);
  }
}

/**
 * What input() returns: the step input as given when the run has no parameters; otherwise an object holding the
 * parameter values over the step input's fields (a step input that is not an object is kept under `input`).
 */
function inputWithParameters(input: unknown, values: Record<string, ParameterValue>): unknown {
  if (Object.keys(values).length === 0) return input;
  const base = input !== null && typeof input === 'object' && !Array.isArray(input)
    ? (input as Record<string, unknown>)
    : input === undefined || input === null ? {} : { input };
  return { ...base, ...values };
}

function abortReason(active: ActiveJob, fallback: string): string {
  const reason = active.controller.signal.reason;
  if (isAppError(reason) && reason.code === 'APP_STOPPING') return `${fallback}: Cronium was closing`;
  return active.cancelRequested ? `${fallback} by the user` : fallback;
}

/** `value` with every string in it (object keys included) passed through `mask`; structure kept, so it stays JSON. */
function maskStrings(value: unknown, mask: (text: string) => string): unknown {
  if (typeof value === 'string') return mask(value);
  if (Array.isArray(value)) return value.map((v) => maskStrings(v, mask));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [mask(k), maskStrings(v, mask)]));
  }
  return value;
}
