/**
 * WorkflowService: the workflow catalogue (save with every check the editor shows on the graph, list, delete), runs
 * (start manually or from a schedule, cancel, history, detail) and their live pushes ('workflows/changed',
 * 'workflows/runChanged'). Quitting detaches runs (nothing is cancelled); at the next start a run left RUNNING
 * resumes: steps whose job survived (runner jobs, re-attached) finish and the graph goes on; a step whose job could not
 * survive (direct-ssh ends with its connection) ends INTERRUPTED, and so does the run. resumeRun() starts a new run
 * from a chosen step, reusing the recorded steps before it.
 * It never runs a step itself (WorkflowExecutor through CoreJobRunner does) and never fires a schedule (the scheduler
 * wiring does, calling startRun with the fire's idempotency key).
 */
import type { z } from 'zod';
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import type { EventBus } from '../event-bus';
import { sleep, type Clock } from '../clock';
import { AppError, isAppError } from '../errors';
import { validateSchedule } from '../scheduler/schedule-math';
import type { ScheduleBook } from '../scheduler/scheduler';
import { EventStore } from '../events/event-store';
import { existingServerIds } from '../servers/server-store';
import type {
  WorkflowInput,
  WorkflowRunSummary,
  WorkflowRunView,
  WorkflowView,
} from '../../../src-shared/contract/workflows';
import { graphProblems } from './workflow-graph';
import { WorkflowExecutor, type PriorStep, type RunHandle, type WorkflowJobRunner } from './workflow-executor';
import type { WorkflowPlan } from './workflow-graph';
import { CRASH_REASON_QUEUED, CRASH_REASON_RUNNING } from '../jobs/job-service';
import { WorkflowStore, type WorkflowRecord } from './workflow-store';
import { recordAudit } from '../audit-log';
import { parseJsonColumn } from '../db/json-column';

export type WorkflowSaveInput = z.output<typeof WorkflowInput>;

/** Why a step is INTERRUPTED: its job could not survive Cronium stopping. */
export const INTERRUPTED_REASON = 'Cronium stopped while this step ran and its job could not go on without the app (a direct-ssh job ends with its connection)';

/** Whether a job ended because the app stopped (on quit, or ended at the next start by the jobs reconciliation). */
function endedByAppStop(jobReason: string | null): boolean {
  return jobReason !== null && (jobReason.startsWith(CRASH_REASON_RUNNING) || jobReason.startsWith(CRASH_REASON_QUEUED) || jobReason.includes('Cronium was closing'));
}

/** How long stop() waits for detached runs to finish their writes. */
const STOP_WAIT_MS = 10_000;

export interface WorkflowServiceDeps {
  db: AppDatabase;
  bus: EventBus;
  clock: Clock;
  jobs: WorkflowJobRunner;
  /** The scheduler's book of schedules: told after every save or delete, asked for nextRunAt and told when a run ends. */
  schedules: ScheduleBook;
}

export class WorkflowService {
  readonly store: WorkflowStore;
  private readonly events: EventStore;
  private readonly executor: WorkflowExecutor;
  private readonly active = new Map<string, { workflowId: string; handle: RunHandle }>();
  private stopping = false;

  constructor(private readonly deps: WorkflowServiceDeps) {
    this.store = new WorkflowStore(deps.db);
    this.events = new EventStore(deps.db);
    this.executor = new WorkflowExecutor({
      clock: deps.clock,
      jobs: deps.jobs,
      recorder: this.store,
      onChanged: (runId) => void this.emitRun(runId),
    });
    // A step's log appears only once its job is dispatched: push the run again when one of its jobs changes.
    deps.bus.subscribe((name, payload) => {
      if (name !== 'jobs/changed') return;
      const runId = (payload as { job: { workflowRunId: string | null } }).job.workflowRunId;
      if (runId && this.active.has(runId)) void this.emitRun(runId);
    });
  }

  async list(): Promise<WorkflowView[]> {
    const ids = await this.store.ids();
    return Promise.all(ids.map((id) => this.get(id)));
  }

  async get(id: string): Promise<WorkflowView> {
    let next: string | null = null;
    try {
      next = this.deps.schedules.nextFire('workflow', id)?.toISOString() ?? null;
    } catch {
      next = null;
    }
    return this.store.view(id, next);
  }

  async save(input: WorkflowSaveInput): Promise<WorkflowView> {
    const id = input.id ?? newId();
    if (input.id) await this.store.row(input.id);
    const fields: Record<string, string> = {};

    const eventIds = [...new Set(input.nodes.map((n) => n.eventId))];
    const eventName = await this.events.names(eventIds);
    const firstServer = await this.events.firstServers(eventIds);
    const chosenServers = [...new Set(input.nodes.map((n) => n.serverId).filter((s): s is string => s !== null))];
    const knownServers = await existingServerIds(this.deps.db, chosenServers);

    const nodes: WorkflowRecord['nodes'] = [];
    for (const n of input.nodes) {
      const key = `nodes.${n.id}`;
      const name = eventName.get(n.eventId);
      if (name === undefined) {
        fields[key] = `the event of this step (${n.eventId}) does not exist; it may have been deleted. Choose another event.`;
        continue;
      }
      let serverId = n.serverId;
      if (serverId !== null && !knownServers.has(serverId)) {
        fields[key] = `the server chosen for ${n.label || name} does not exist; it may have been deleted. Choose another server.`;
        continue;
      }
      serverId ??= firstServer.get(n.eventId) ?? null;
      if (serverId === null) {
        fields[key] = `${name} has no server; choose a server for this step or add one to the event.`;
        continue;
      }
      const secretGiven = await this.secretOptionsIn(n.eventId, Object.keys(n.parameters));
      if (secretGiven.length > 0) {
        fields[key] = `${secretGiven.join(', ')} ${secretGiven.length > 1 ? 'are secret options' : 'is a secret option'} of ${name}; a workflow step cannot store a secret value`;
        continue;
      }
      nodes.push({ ...n, serverId, label: n.label || null });
    }
    const labelled = input.nodes.map((n) => ({ id: n.id, label: n.label || eventName.get(n.eventId) || n.id }));
    Object.assign(fields, { ...graphProblems(labelled, input.edges), ...fields });

    const foreign = await this.store.foreignNodeIds(id, input.nodes.map((n) => n.id));
    for (const f of foreign) fields[`nodes.${f}`] = `the step id ${f} belongs to another workflow; give this step a new id`;
    for (const f of await this.store.foreignEdgeIds(id, input.edges.map((e) => e.id))) {
      fields[`edges.${f}`] = `the connection id ${f} belongs to another workflow; give it a new id`;
    }
    if (input.schedule) {
      try {
        validateSchedule(input.schedule, input.timeZone);
      } catch (err) {
        if (!isAppError(err)) throw err;
        for (const [k, v] of Object.entries(err.extra.fields ?? { schedule: err.message })) fields[k === 'timeZone' ? 'timeZone' : `schedule.${k}`] = v;
      }
    }
    if (Object.keys(fields).length > 0) {
      const first = fields.graph ?? Object.values(fields)[0]!;
      const count = Object.keys(fields).length;
      throw new AppError('INVALID_WORKFLOW', `The workflow was not saved: ${first}${count > 1 ? ` (and ${count - 1} more problem${count > 2 ? 's' : ''} marked on the graph)` : ''}`, { fields });
    }

    await this.store.write(
      {
        id,
        name: input.name,
        description: input.description,
        timeoutSeconds: input.timeoutSeconds,
        schedule: input.schedule ? { spec: input.schedule, misfirePolicy: input.misfirePolicy, overlapPolicy: input.overlapPolicy } : null,
        timeZone: input.timeZone,
        enabled: input.enabled,
        nodes,
        edges: input.edges.map((e) => ({ ...e, condition: e.kind === 'ON_CONDITION' ? e.condition || null : null })),
      },
      nowIso(this.deps.clock.now()),
    );
    await recordAudit(this.deps.db, {
      at: this.deps.clock.now(), actor: 'user', action: input.id ? 'workflow.update' : 'workflow.create', subject: id,
      detail: { name: input.name, steps: nodes.length, connections: input.edges.length },
    });
    // Tell the scheduler first, so the view carries the new next run.
    this.updateSchedule(await this.store.view(id, null));
    const view = await this.get(id);
    this.deps.bus.emit('workflows/changed', { workflow: view });
    return view;
  }

  /** Which of `names` are secret options of the event (their values are never stored with a step). */
  private async secretOptionsIn(eventId: string, names: string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const row = await this.events.find(eventId);
    const options = parseJsonColumn<Array<{ name: string; secret?: boolean }>>(row?.options ?? '[]', []);
    return names.filter((n) => options.some((o) => o.name === n && o.secret));
  }

  async delete(id: string): Promise<void> {
    for (const run of this.active.values()) if (run.workflowId === id) await run.handle.cancel('the workflow was deleted');
    const name = await this.store.row(id).then((r) => r.name, () => null);
    await this.store.delete(id);
    await recordAudit(this.deps.db, { at: this.deps.clock.now(), actor: 'user', action: 'workflow.delete', subject: id, detail: { name } });
    this.deps.schedules.remove('workflow', id);
    this.deps.bus.emit('workflows/changed', { workflow: null, deletedId: id });
  }

  /**
   * Starts a run and returns it at once. With an idempotency key (a scheduled time), a run already started for that key
   * is returned instead of a second one.
   */
  async startRun(workflowId: string, opts: { trigger: 'manual' | 'schedule'; idempotencyKey?: string; input?: unknown } = { trigger: 'manual' }): Promise<WorkflowRunView> {
    if (this.stopping) throw new AppError('APP_STOPPING', 'the app is shutting down; no new workflow run is started');
    if (opts.idempotencyKey) {
      const existing = await this.store.runByKey(opts.idempotencyKey);
      if (existing) return this.store.runView(existing);
    }
    const plan = await this.store.plan(workflowId);
    if (plan.nodes.length === 0) {
      throw new AppError('INVALID_WORKFLOW', `${plan.name} has no steps yet; add at least one step and save before running it`, { fields: { graph: 'add at least one step' } });
    }
    const runId = await this.store.createRun(plan, { trigger: opts.trigger, idempotencyKey: opts.idempotencyKey ?? null, at: nowIso(this.deps.clock.now()) });
    this.track(runId, workflowId, this.executor.start(plan, runId, opts.input));
    const view = await this.store.runView(runId);
    this.deps.bus.emit('workflows/runChanged', { run: view });
    return view;
  }

  /**
   * Starts a new run of an ended run's workflow from `fromNodeId`: that step and every step after it run again; the
   * other steps keep what the run recorded (status, output), and their outputs feed the steps that run.
   */
  async resumeRun(runId: string, fromNodeId: string): Promise<WorkflowRunView> {
    if (this.stopping) throw new AppError('APP_STOPPING', 'the app is shutting down; no workflow run is resumed');
    if (this.active.has(runId)) throw new AppError('WORKFLOW_RUN_ACTIVE', 'this run is still going; wait for it to end or cancel it, then resume it from a step');
    const old = await this.store.runView(runId);
    const plan = await this.store.plan(old.workflowId);
    if (plan.version !== old.workflowVersion) {
      throw new AppError('WORKFLOW_CHANGED', `${plan.name} was edited since this run (version ${old.workflowVersion}, now ${plan.version}); start a new run instead`);
    }
    const from = plan.nodes.find((n) => n.id === fromNodeId);
    if (!from) throw new AppError('INVALID_INPUT', `${plan.name} has no step ${fromNodeId}`, { fields: { fromNodeId: 'choose a step of this workflow' } });
    const again = downstreamOf(plan, fromNodeId);
    const kept = old.steps.filter((s) => !again.has(s.nodeId) && s.status !== 'WAITING' && s.status !== 'RUNNING');
    const newRunId = await this.store.createRun(plan, { trigger: 'manual', idempotencyKey: null, at: nowIso(this.deps.clock.now()) });
    await this.store.copySteps(runId, newRunId, kept.map((s) => s.nodeId));
    const prior = new Map<string, PriorStep>();
    for (const s of kept) prior.set(s.nodeId, { status: s.status, jobId: s.jobId, input: s.input, output: s.output, condition: s.condition, reason: s.reason });
    const oldFrom = old.steps.find((s) => s.nodeId === fromNodeId);
    prior.set(fromNodeId, { status: 'WAITING', jobId: null, input: oldFrom?.input, condition: null, reason: null });
    this.track(newRunId, old.workflowId, this.executor.resume(plan, newRunId, prior, fromNodeId));
    const view = await this.store.runView(newRunId);
    this.deps.bus.emit('workflows/runChanged', { run: view });
    return view;
  }

  /** Keeps a run's handle while it goes, and announces its end (views, the scheduler's overlap queue). */
  private track(runId: string, workflowId: string, handle: RunHandle): void {
    this.active.set(runId, { workflowId, handle });
    void handle.done.then(async () => {
      this.active.delete(runId);
      await this.emitRun(runId);
      this.deps.bus.emit('workflows/changed', { workflow: await this.get(workflowId).catch(() => null) });
      this.deps.schedules.runEnded('workflow', workflowId);
    });
  }

  async cancelRun(runId: string): Promise<WorkflowRunView> {
    const active = this.active.get(runId);
    if (active) await active.handle.cancel('cancelled by the user');
    return this.store.runView(runId);
  }

  /** Resolves with the run once it has ended (tests, and callers that need the outcome). */
  async waitForRun(runId: string): Promise<WorkflowRunView> {
    const active = this.active.get(runId);
    if (active) await active.handle.done;
    return this.store.runView(runId);
  }

  async runs(workflowId: string, limit: number): Promise<WorkflowRunSummary[]> {
    await this.store.row(workflowId);
    return this.store.runs(workflowId, limit);
  }

  runDetail(runId: string): Promise<WorkflowRunView> {
    return this.store.runView(runId);
  }

  /** Whether a run of this workflow is under way in this process (the scheduler's overlap policy asks). */
  isRunActive(workflowId: string): boolean {
    for (const run of this.active.values()) if (run.workflowId === workflowId) return true;
    return false;
  }

  /**
   * Start-up, after the jobs were reconciled (before start()): in each run a previous life of the app left RUNNING, a
   * running step whose job ended because the app stopped (a direct-ssh job, or a job that had not started) ends
   * INTERRUPTED with its reason. Nothing else changes: resumeDetached() continues the runs once jobs re-attach.
   * Returns how many runs were left RUNNING.
   */
  async reconcile(): Promise<number> {
    const runs = await this.store.unfinishedRuns();
    const at = nowIso(this.deps.clock.now());
    for (const run of runs) {
      for (const step of await this.store.unfinishedSteps(run.id)) {
        if (step.status !== 'RUNNING' || !endedByAppStop(step.jobReason)) continue;
        await this.store.stepEnded(run.id, step.nodeId, { status: 'INTERRUPTED', condition: null, reason: `${INTERRUPTED_REASON}: ${step.jobReason}`, at });
      }
    }
    return runs.length;
  }

  /**
   * Start (after the handed-over jobs began re-attaching): every run left RUNNING goes on from what it recorded.
   * Steps whose job is still running (a runner job re-attaching) wait for it; the steps after them run as the graph says.
   */
  async resumeDetached(): Promise<number> {
    const runs = await this.store.unfinishedRuns();
    for (const run of runs) {
      if (this.active.has(run.id)) continue;
      try {
        const view = await this.store.runView(run.id);
        const plan = await this.store.plan(run.workflowId);
        const prior = new Map<string, PriorStep>();
        for (const s of view.steps) prior.set(s.nodeId, { status: s.status, jobId: s.jobId, input: s.input, output: s.output, condition: s.condition, reason: s.reason });
        this.track(run.id, run.workflowId, this.executor.resume(plan, run.id, prior));
      } catch (err) {
        const reason = `the run could not be resumed after Cronium restarted: ${isAppError(err) ? err.message : String(err)}`;
        console.error(`[workflows] run ${run.id}: ${reason}`);
        await this.store.runEnded(run.id, { status: 'FAILURE', reason, at: nowIso(this.deps.clock.now()) });
      }
    }
    return runs.length;
  }

  /**
   * The app is quitting: runs are detached, never cancelled. They stay RUNNING with their steps' jobs; runner jobs go
   * on on their servers and the next start resumes the runs (resumeDetached). Waits a bounded time for pending writes.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const runs = [...this.active.values()].map((r) => r.handle.detach());
    this.active.clear();
    await Promise.race([Promise.allSettled(runs), sleep(this.deps.clock, STOP_WAIT_MS)]);
  }

  private async emitRun(runId: string): Promise<void> {
    try {
      this.deps.bus.emit('workflows/runChanged', { run: await this.store.runView(runId) });
    } catch (err) {
      if (!isAppError(err)) console.error(`[workflows] pushing run ${runId} failed:`, err);
    }
  }

  /** A schedule that does not compile (e.g. a zone this machine lacks) is reported and left out, never fatal to the save. */
  private updateSchedule(view: WorkflowView): void {
    try {
      if (!view.schedule || !view.enabled) {
        this.deps.schedules.remove('workflow', view.id);
        return;
      }
      this.deps.schedules.upsert({
        kind: 'workflow', id: view.id, spec: view.schedule, timeZone: view.timeZone, misfirePolicy: view.misfirePolicy,
        overlapPolicy: view.overlapPolicy, enabled: true, activeSince: new Date(view.updatedAt),
      });
    } catch (err) {
      console.error(`[workflows] the schedule of workflow ${view.id} was not loaded:`, err instanceof Error ? err.message : err);
    }
  }
}

/** The step and every step reachable from it. */
function downstreamOf(plan: WorkflowPlan, nodeId: string): Set<string> {
  const seen = new Set<string>([nodeId]);
  const queue = [nodeId];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const e of plan.edges) if (e.source === at && !seen.has(e.target)) {
      seen.add(e.target);
      queue.push(e.target);
    }
  }
  return seen;
}
