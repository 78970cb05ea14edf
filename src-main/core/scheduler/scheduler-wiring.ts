/**
 * SchedulerWiring: connects the Scheduler to the rest of the core. Built last in createCore, with everything it
 * fires into given to its constructor (no hook is set on another service). The Scheduler itself is built first: the
 * event and workflow catalogues hold it (as their ScheduleBook) from their constructors, so every save or delete
 * updates it directly and views carry its nextRunAt.
 * start() loads every enabled event and workflow that has a schedule (catching up on the time the app was closed,
 * with each owner's misfire policy) and gives the Scheduler its fire targets: a fire runs the event's jobs (trigger
 * 'schedule', the fire's idempotency key) or starts a workflow run; overlap asks whether the owner is still running.
 * It also notices the machine waking up (the clock jumped past its own check timer, or the shell calls notifyWake
 * on a power 'resume') and makes the scheduler catch up at once, through the same misfire path as a start-up.
 * It never decides when to fire (the Scheduler does) and never runs a script (the JobService does).
 */
import { parseJsonColumn } from '../db/json-column';
import type { Clock } from '../clock';
import type { EventBus } from '../event-bus';
import type { EventService } from '../events/event-service';
import type { JobService } from '../jobs/job-service';
import type { WorkflowService } from '../workflows/workflow-service';
import { TERMINAL_JOB_STATUSES, type JobView } from '../../../src-shared/contract/jobs';
import type { MisfirePolicy, OverlapPolicy, ScheduleSpec } from '../../../src-shared/contract/schedule';
import type { Fire, FireTargets, ScheduleOwner, ScheduleOwnerRef, Scheduler } from './scheduler';

/** How often the wake watch looks at the clock. */
export const WAKE_CHECK_MS = 5_000;
/** A check that comes this much later than planned means the machine slept (or the wall clock was moved forward). */
export const WAKE_JUMP_MS = 20_000;

export interface SchedulerWiringDeps {
  /** The one Scheduler, built before the catalogues (they keep it current). */
  scheduler: Scheduler;
  clock: Clock;
  bus: EventBus;
  events: EventService;
  jobs: JobService;
  workflows: WorkflowService;
}

export class SchedulerWiring {
  readonly scheduler: Scheduler;
  private readonly targets: FireTargets;
  private wakeTimer: { cancel(): void } | null = null;
  private lastCheck = 0;
  private running = false;
  private catchingUp: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: SchedulerWiringDeps) {
    this.scheduler = deps.scheduler;
    this.targets = {
      dispatch: (fire) => this.dispatch(fire),
      isRunning: (owner) => this.isRunning(owner),
    };
  }

  /** Loads every schedule, catches up on missed times (misfire policies) and starts firing. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.loadOwners();
    this.unsubscribe = this.deps.bus.subscribe((name, payload) => {
      if (name !== 'jobs/changed') return;
      const job = (payload as { job: JobView }).job;
      // isRunning reads the recorded job statuses, which already say this job ended: a queued fire may start now.
      if (job.eventId && TERMINAL_JOB_STATUSES.includes(job.status)) this.scheduler.runEnded('event', job.eventId);
    });
    await this.scheduler.start(this.targets);
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
        if (this.running) await this.scheduler.start(this.targets);
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
    for (const e of await this.deps.events.store.scheduled()) {
      const spec = parseJsonColumn<ScheduleSpec | null>(e.schedule, null);
      if (!spec) continue;
      this.upsert({
        kind: 'event', id: e.id, spec, timeZone: e.time_zone, misfirePolicy: e.misfire_policy as MisfirePolicy,
        overlapPolicy: e.overlap_policy as OverlapPolicy, enabled: true, activeSince: new Date(e.updated_at),
      });
    }
    for (const w of await this.deps.workflows.store.scheduled()) {
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

  /**
   * Overlap: a workflow asks its service; an event asks the recorded job statuses (not the JobService's in-memory set,
   * which forgets a job only after announcing its end, and which does not include runner jobs re-attached later).
   */
  private async isRunning(owner: ScheduleOwnerRef): Promise<boolean> {
    if (owner.kind === 'workflow') return this.deps.workflows.isRunActive(owner.id);
    const recent = await this.deps.jobs.list({ eventId: owner.id, limit: 100 });
    return recent.some((job) => !TERMINAL_JOB_STATUSES.includes(job.status));
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
