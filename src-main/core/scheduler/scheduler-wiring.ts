/**
 * SchedulerWiring: connects the Scheduler to the rest of the core. At start it loads every enabled event and workflow
 * that has a schedule (catching up on the time the app was closed, with each owner's misfire policy); after every save
 * or delete it updates that owner; a fire runs the event's jobs (trigger 'schedule', the fire's idempotency key) or
 * starts a workflow run; overlap asks whether the owner is still running. It also notices the machine waking up (the
 * clock jumped past its own check timer, or the shell calls notifyWake on a power 'resume') and makes the scheduler
 * catch up at once, through the same misfire path as a start-up.
 * It never decides when to fire (the Scheduler does) and never runs a script (the JobService does).
 */
import type { AppDatabase } from '../db/database';
import { parseJsonColumn } from '../db/json-column';
import type { Clock } from '../clock';
import type { EventBus } from '../event-bus';
import type { EventService, EventScheduleChange } from '../events/event-service';
import type { JobService } from '../jobs/job-service';
import type { WorkflowScheduleChange, WorkflowService } from '../workflows/workflow-service';
import { TERMINAL_JOB_STATUSES, type JobView } from '../../../src-shared/contract/jobs';
import type { MisfirePolicy, OverlapPolicy, ScheduleSpec } from '../../../src-shared/contract/schedule';
import { SqliteFireStore, type FireStore } from './fire-store';
import { Scheduler, type Fire, type ScheduleOwner } from './scheduler';

/** How often the wake watch looks at the clock. */
export const WAKE_CHECK_MS = 5_000;
/** A check that comes this much later than planned means the machine slept (or the wall clock was moved forward). */
export const WAKE_JUMP_MS = 20_000;

export interface SchedulerWiringDeps {
  db: AppDatabase;
  clock: Clock;
  bus: EventBus;
  events: EventService;
  jobs: JobService;
  workflows: WorkflowService;
  store?: FireStore;
  /** A due time handled later than this counts as missed (default: the Scheduler's 60 s). */
  graceMs?: number;
}

export class SchedulerWiring {
  readonly scheduler: Scheduler;
  private wakeTimer: { cancel(): void } | null = null;
  private lastCheck = 0;
  private running = false;
  private catchingUp: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: SchedulerWiringDeps) {
    this.scheduler = new Scheduler({
      clock: deps.clock,
      store: deps.store ?? new SqliteFireStore(deps.db),
      dispatch: (fire) => this.dispatch(fire),
      isRunning: (owner) => (owner.kind === 'event' ? deps.jobs.isEventActive(owner.id) : deps.workflows.isRunActive(owner.id)),
      onRecord: (rec) => deps.bus.emit('schedule/fired', rec),
      ...(deps.graceMs !== undefined ? { graceMs: deps.graceMs } : {}),
    });
    deps.events.onScheduleChanged = (change) => this.eventChanged(change);
    deps.events.nextRunAt = (id) => this.scheduler.nextFire('event', id);
    deps.workflows.onScheduleChanged = (change) => this.workflowChanged(change);
    deps.workflows.nextRunAt = (id) => this.scheduler.nextFire('workflow', id);
    deps.workflows.onRunEnded = (id) => this.scheduler.runEnded('workflow', id);
  }

  /** Loads every schedule, catches up on missed times (misfire policies) and starts firing. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.loadOwners();
    this.unsubscribe = this.deps.bus.subscribe((name, payload) => {
      if (name !== 'jobs/changed') return;
      const job = (payload as { job: JobView }).job;
      if (job.eventId && TERMINAL_JOB_STATUSES.includes(job.status)) {
        // The JobService forgets the job just after announcing its end; ask the scheduler a moment later.
        const eventId = job.eventId;
        setTimeout(() => this.scheduler.runEnded('event', eventId), 50).unref();
      }
    });
    await this.scheduler.start();
    this.lastCheck = this.deps.clock.now();
    this.armWakeWatch();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeTimer?.cancel();
    this.wakeTimer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.catchingUp) await this.catchingUp;
    await this.scheduler.stop();
  }

  /** The machine woke up (Electron powerMonitor 'resume'): apply the misfire policies to what was missed, now. */
  notifyWake(): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.catchingUp ??= (async () => {
      try {
        // A fresh start reads each owner's last recorded fire and runs the misfire policy over the gap; claims on the
        // idempotency key keep a time the running scheduler handled meanwhile from firing twice.
        await this.scheduler.stop();
        if (this.running) await this.scheduler.start();
      } finally {
        this.catchingUp = null;
      }
    })();
    return this.catchingUp;
  }

  private armWakeWatch(): void {
    if (!this.running) return;
    this.wakeTimer = this.deps.clock.setTimeout(() => {
      const now = this.deps.clock.now();
      const late = now - this.lastCheck - WAKE_CHECK_MS;
      this.lastCheck = now;
      if (late > WAKE_JUMP_MS) {
        console.info(`[scheduler] the clock jumped ${Math.round(late / 1000)} s (the computer slept or its time changed); catching up on missed schedules`);
        // A failed catch-up is reported, never left as an unhandled rejection (that would end serve mode).
        this.notifyWake()
          .catch((err) => console.error('[scheduler] catching up after the clock jump failed:', err instanceof Error ? err.message : err))
          .finally(() => this.armWakeWatch());
        return;
      }
      this.armWakeWatch();
    }, WAKE_CHECK_MS);
  }

  private async loadOwners(): Promise<void> {
    const events = await this.deps.db.kysely
      .selectFrom('events')
      .select(['id', 'schedule', 'time_zone', 'misfire_policy', 'overlap_policy', 'updated_at'])
      .where('schedule', 'is not', null)
      .where('enabled', '=', 1)
      .execute();
    for (const e of events) {
      const spec = parseJsonColumn<ScheduleSpec | null>(e.schedule, null);
      if (!spec) continue;
      this.upsert({
        kind: 'event', id: e.id, spec, timeZone: e.time_zone, misfirePolicy: e.misfire_policy as MisfirePolicy,
        overlapPolicy: e.overlap_policy as OverlapPolicy, enabled: true, activeSince: new Date(e.updated_at),
      });
    }
    const workflows = await this.deps.db.kysely
      .selectFrom('workflows')
      .select(['id', 'schedule', 'time_zone', 'updated_at'])
      .where('schedule', 'is not', null)
      .where('enabled', '=', 1)
      .execute();
    for (const w of workflows) {
      const stored = parseJsonColumn<{ spec: ScheduleSpec; misfirePolicy: MisfirePolicy; overlapPolicy: OverlapPolicy } | null>(w.schedule, null);
      if (!stored?.spec) continue;
      this.upsert({
        kind: 'workflow', id: w.id, spec: stored.spec, timeZone: w.time_zone, misfirePolicy: stored.misfirePolicy ?? 'run_once',
        overlapPolicy: stored.overlapPolicy ?? 'skip', enabled: true, activeSince: new Date(w.updated_at),
      });
    }
  }

  /** A stored schedule that no longer compiles (e.g. a zone this machine lacks) is reported and left out, not fatal. */
  private upsert(owner: ScheduleOwner): void {
    try {
      this.scheduler.upsert(owner);
    } catch (err) {
      console.error(`[scheduler] the schedule of ${owner.kind} ${owner.id} was not loaded:`, err instanceof Error ? err.message : err);
    }
  }

  private eventChanged(change: EventScheduleChange): void {
    if ('deleted' in change || !change.schedule || !change.enabled) {
      this.scheduler.remove('event', change.id);
      return;
    }
    this.upsert({
      kind: 'event', id: change.id, spec: change.schedule, timeZone: change.timeZone, misfirePolicy: change.misfirePolicy,
      overlapPolicy: change.overlapPolicy, enabled: true, activeSince: new Date(change.updatedAt),
    });
  }

  private workflowChanged(change: WorkflowScheduleChange): void {
    if ('deleted' in change || !change.schedule || !change.enabled) {
      this.scheduler.remove('workflow', change.id);
      return;
    }
    this.upsert({
      kind: 'workflow', id: change.id, spec: change.schedule, timeZone: change.timeZone, misfirePolicy: change.misfirePolicy,
      overlapPolicy: change.overlapPolicy, enabled: true, activeSince: new Date(change.updatedAt),
    });
  }

  private async dispatch(fire: Fire): Promise<{ jobIds: string[] }> {
    if (fire.kind === 'event') {
      const jobs = await this.deps.jobs.runEvent({ eventId: fire.id, trigger: 'schedule', idempotencyKey: fire.idempotencyKey });
      return { jobIds: jobs.map((j) => j.id) };
    }
    await this.deps.workflows.startRun(fire.id, { trigger: 'schedule', idempotencyKey: fire.idempotencyKey });
    return { jobIds: [] };
  }
}
