/**
 * Scheduler: turns the schedules of events and workflows into fires, applying the misfire policy to times missed
 * while the app was closed or the machine slept, and the overlap policy to times that come while a run is going.
 * It owns when and whether to fire; it never runs a job itself (dispatch does) and never fires a scheduled time
 * twice (FireStore.claim on the idempotency key `<kind>:<id>:<scheduledFor ISO>` comes before every dispatch).
 *
 * Cost: one timer for the earliest due fire across all owners (a min-heap), re-armed at least every
 * MAX_WAIT_MS so a wall-clock jump (sleep, clock change) is noticed: a due time older than graceMs when it is
 * handled counts as missed and goes through the misfire policy, exactly like downtime found at start().
 * Delivery is at most once: a crash between claim and dispatch loses that one fire rather than risking a double.
 */
import {
  DEFAULT_MISFIRE_WINDOW_SECONDS,
  MAX_CATCH_UP_FIRES,
  type FireOutcome,
  type FireRecord,
  type MisfirePolicy,
  type OverlapPolicy,
  type ScheduleSpec,
} from '../../../src-shared/contract/schedule';
import type { Clock } from '../clock';
import { compileSchedule, type CompiledSchedule } from './schedule-math';
import { idempotencyKeyFor, type FireStore, type OwnerKind } from './fire-store';
import { messageOf } from '../errors';

export interface ScheduleOwnerRef {
  kind: OwnerKind;
  id: string;
}

export interface ScheduleOwner extends ScheduleOwnerRef {
  spec: ScheduleSpec;
  /** IANA name; null/undefined = the workstation's zone. */
  timeZone?: string | null;
  misfirePolicy: MisfirePolicy;
  misfireWindowSeconds?: number;
  overlapPolicy: OverlapPolicy;
  enabled: boolean;
  /**
   * When this schedule took effect (e.g. the event's updated_at): where catching up starts at start() if the owner
   * has no fire recorded yet. Without it, an owner with no history catches nothing up.
   */
  activeSince?: Date;
}

export interface Fire extends ScheduleOwnerRef {
  scheduledFor: Date;
  idempotencyKey: string;
  /** schedule: on time; catch_up: a missed time run by the misfire policy; queued: waited for the previous run. */
  trigger: 'schedule' | 'catch_up' | 'queued';
}

/**
 * What a fire acts on, given to start(): the scheduler is built before the services it fires into (the event and
 * workflow catalogues hold it from their constructors to keep it up to date), so its targets come at start, in the
 * documented start order (core.ts), never through a hook set later.
 */
export interface FireTargets {
  /** Starts the run(s) for a fire (creates the jobs) and resolves once they exist; must not wait for them to finish. */
  dispatch: (fire: Fire) => Promise<{ jobIds: string[] }>;
  /** Whether a run of this owner is still going (for the overlap policy). */
  isRunning: (owner: ScheduleOwnerRef) => boolean | Promise<boolean>;
}

/** The part of the Scheduler the event and workflow catalogues use: keep an owner's schedule current, show its next run. */
export interface ScheduleBook {
  upsert(owner: ScheduleOwner): void;
  remove(kind: OwnerKind, id: string): void;
  nextFire(kind: OwnerKind, id: string): Date | null;
  /** An owner's run ended: a fire queued behind it may start. */
  runEnded(kind: OwnerKind, id: string): void;
}

export interface SchedulerDeps {
  clock: Clock;
  store: FireStore;
  /** Every record written (fired, queued, skipped), e.g. to push 'schedule/fired' to the UI. */
  onRecord?: (rec: FireRecord) => void;
  /** A due time handled later than this counts as missed (machine asleep, app closed). Default 60 s. */
  graceMs?: number;
  /** How often a queued fire re-checks isRunning when no runEnded() call came. Default 5 s. */
  queuePollMs?: number;
}

/** Longest single timer wait: bounds how late a wall-clock jump is noticed; far below setTimeout's 24.8-day limit. */
export const MAX_WAIT_MS = 30_000;

interface Entry {
  owner: ScheduleOwner;
  compiled: CompiledSchedule;
  /** Every scheduled time <= cursor has been handled. */
  cursor: number;
  nextAt: number | null;
  /** Bumped on every change so stale heap items are ignored. */
  version: number;
  /** Dispatches started and not yet resolved: a run is under way even before isRunning knows of it. */
  inFlight: number;
  /** The one fire waiting for the current run to end (overlap 'queue'). */
  pending: Fire | null;
}

interface HeapItem {
  at: number;
  key: string;
  version: number;
}

/** A binary min-heap on `at`: the earliest due fire in O(1), insert and removal in O(log n). */
class FireHeap {
  private items: HeapItem[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): HeapItem | undefined {
    return this.items[0];
  }
  push(item: HeapItem): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].at <= a[i].at) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): HeapItem | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].at < a[m].at) m = l;
        if (r < a.length && a[r].at < a[m].at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
  clear(): void {
    this.items = [];
  }
}

const ownerKey = (kind: OwnerKind, id: string): string => `${kind}:${id}`;
const iso = (ms: number): string => new Date(ms).toISOString();

export class Scheduler implements ScheduleBook {
  private readonly entries = new Map<string, Entry>();
  private readonly heap = new FireHeap();
  private readonly graceMs: number;
  private readonly queuePollMs: number;
  private timer: { cancel(): void } | null = null;
  private started = false;
  private targets: FireTargets | null = null;
  private ticking: Promise<void> | null = null;
  private tickAgain = false;
  private readonly dispatches = new Set<Promise<void>>();

  constructor(private readonly deps: SchedulerDeps) {
    this.graceMs = deps.graceMs ?? 60_000;
    this.queuePollMs = deps.queuePollMs ?? 5_000;
  }

  /**
   * Adds or replaces an owner's schedule (throws INVALID_SCHEDULE). While running, a new or changed schedule starts
   * from now: times before the edit are not caught up. A disabled owner is removed.
   */
  upsert(owner: ScheduleOwner): void {
    const key = ownerKey(owner.kind, owner.id);
    if (!owner.enabled) {
      this.remove(owner.kind, owner.id);
      return;
    }
    const compiled = compileSchedule(owner.spec, owner.timeZone);
    const prev = this.entries.get(key);
    const sameSchedule =
      prev !== undefined &&
      prev.compiled.timeZone === compiled.timeZone &&
      JSON.stringify(prev.owner.spec) === JSON.stringify(owner.spec);
    if (prev && sameSchedule) {
      prev.owner = owner; // policies changed only: keep the cursor and the pending fire
      return;
    }
    const now = this.deps.clock.now();
    const entry: Entry = {
      owner,
      compiled,
      cursor: now,
      nextAt: null,
      version: (prev?.version ?? 0) + 1,
      inFlight: prev?.inFlight ?? 0,
      pending: prev?.pending ?? null,
    };
    this.entries.set(key, entry);
    if (this.started) {
      this.schedule(entry);
      this.arm();
    }
  }

  remove(kind: OwnerKind, id: string): void {
    const entry = this.entries.get(ownerKey(kind, id));
    if (!entry) return;
    entry.version++;
    this.entries.delete(ownerKey(kind, id));
    if (this.started) this.arm();
  }

  /** The next time this owner will fire (before overlap/maxRuns checks), or null. */
  nextFire(kind: OwnerKind, id: string): Date | null {
    const at = this.entries.get(ownerKey(kind, id))?.nextAt;
    return at === null || at === undefined ? null : new Date(at);
  }

  /**
   * Catches up on the time the app was closed (from each owner's last recorded fire, or activeSince, to now) with
   * each owner's misfire policy, restores fires still queued, and starts the timer. Fires go to `targets`.
   */
  async start(targets: FireTargets): Promise<void> {
    if (this.started) return;
    this.targets = targets;
    const now = this.deps.clock.now();
    for (const entry of this.entries.values()) {
      const { kind, id } = entry.owner;
      const last = await this.deps.store.lastFire(kind, id);
      entry.cursor = last?.getTime() ?? entry.owner.activeSince?.getTime() ?? now;
      if (entry.owner.overlapPolicy === 'queue' && !entry.pending) {
        const waiting = await this.deps.store.queued(kind, id);
        const rec = waiting[waiting.length - 1];
        if (rec) {
          entry.pending = { kind, id, scheduledFor: new Date(rec.scheduledFor), idempotencyKey: rec.idempotencyKey, trigger: 'queued' };
        }
      }
    }
    this.started = true;
    this.heap.clear();
    for (const entry of this.entries.values()) this.schedule(entry);
    await this.tick();
  }

  /** Stops the timer; resolves when the fire being handled and the dispatches under way have settled. */
  async stop(): Promise<void> {
    this.started = false;
    this.timer?.cancel();
    this.timer = null;
    await this.whenIdle();
  }

  /** The jobs service calls this when an owner's run ends, so a queued fire starts without waiting for the poll. */
  runEnded(kind: OwnerKind, id: string): void {
    const entry = this.entries.get(ownerKey(kind, id));
    if (entry?.pending && this.started) this.tickInBackground();
  }

  /** Resolves when no tick and no dispatch is in progress (tests and shutdown). */
  async whenIdle(): Promise<void> {
    while (this.ticking || this.dispatches.size > 0) {
      if (this.ticking) await this.ticking;
      if (this.dispatches.size > 0) await Promise.allSettled([...this.dispatches]);
    }
  }

  private target(): FireTargets {
    if (!this.targets) throw new Error('the scheduler fired before start() gave it its targets');
    return this.targets;
  }

  private schedule(entry: Entry): void {
    entry.version++;
    entry.nextAt = Number.isFinite(entry.cursor) ? entry.compiled.next(entry.cursor) : null;
    if (entry.nextAt !== null) {
      this.heap.push({ at: entry.nextAt, key: ownerKey(entry.owner.kind, entry.owner.id), version: entry.version });
    }
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = null;
    if (!this.started) return;
    const now = this.deps.clock.now();
    let wakeAt = now + MAX_WAIT_MS;
    for (let top = this.heap.peek(); top; top = this.heap.peek()) {
      const entry = this.entries.get(top.key);
      if (entry && entry.version === top.version) {
        wakeAt = Math.min(wakeAt, top.at);
        break;
      }
      this.heap.pop(); // stale: the owner was removed or rescheduled
    }
    if (this.hasPending()) wakeAt = Math.min(wakeAt, now + this.queuePollMs);
    this.timer = this.deps.clock.setTimeout(() => this.tickInBackground(), Math.max(0, wakeAt - now));
  }

  private hasPending(): boolean {
    for (const e of this.entries.values()) if (e.pending) return true;
    return false;
  }

  /** A tick nobody awaits: a failure (e.g. the database closing under it) is logged, never an unhandled rejection. */
  private tickInBackground(): void {
    this.tick().catch((err) => console.error('[scheduler] checking due schedules failed:', err instanceof Error ? err.message : err));
  }

  /** Handles every due owner, then re-arms. One tick at a time; a request during a tick runs another after it. */
  private tick(): Promise<void> {
    if (this.ticking) {
      this.tickAgain = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      try {
        do {
          this.tickAgain = false;
          await this.handleDue();
          await this.startQueued();
        } while (this.tickAgain && this.started);
      } finally {
        this.ticking = null;
        this.arm();
      }
    })();
    return this.ticking;
  }

  /** Fires everything due first and computes the owners' next times afterwards, so many owners due at once fire early. */
  private async handleDue(): Promise<void> {
    for (;;) {
      if (!this.started) return;
      const now = this.deps.clock.now();
      const due: Entry[] = [];
      for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) {
        this.heap.pop();
        const entry = this.entries.get(top.key);
        if (entry && entry.version === top.version) due.push(entry);
      }
      if (due.length === 0) return;
      for (const entry of due) {
        if (this.entries.get(ownerKey(entry.owner.kind, entry.owner.id)) !== entry) continue; // removed meanwhile
        try {
          await this.handleEntry(entry, now);
        } catch (err) {
          console.error(`[scheduler] ${entry.owner.kind}:${entry.owner.id}: handling the due fire failed:`, err);
          entry.cursor = now;
        }
      }
      for (const entry of due) {
        if (this.entries.get(ownerKey(entry.owner.kind, entry.owner.id)) === entry) this.schedule(entry);
      }
    }
  }

  /** Every scheduled time in (cursor, now]: recent ones fire, older ones go through the misfire policy. */
  private async handleEntry(entry: Entry, now: number): Promise<void> {
    let times: number[];
    let more = false;
    // The usual case costs no cron evaluation before the fire: fires are whole seconds apart at least, so a due time
    // less than a second old is the only one in (cursor, now].
    if (entry.nextAt !== null && entry.nextAt > entry.cursor && now - entry.nextAt < 1000) {
      times = [entry.nextAt];
    } else {
      ({ times, more } = entry.compiled.between(entry.cursor, now, MAX_CATCH_UP_FIRES));
    }
    const from = entry.cursor;
    entry.cursor = now;
    const onTime = times.filter((t) => now - t <= this.graceMs);
    const missed = times.filter((t) => now - t > this.graceMs);
    if (missed.length > 0) await this.applyMisfire(entry, from, missed, more, now);
    for (const t of onTime) await this.fireOrOverlap(entry, t, 'schedule');
  }

  private async applyMisfire(entry: Entry, from: number, missed: number[], more: boolean, now: number): Promise<void> {
    const policy = entry.owner.misfirePolicy;
    const windowMs = (entry.owner.misfireWindowSeconds ?? DEFAULT_MISFIRE_WINDOW_SECONDS) * 1000;
    let toRun: number[] = [];
    if (policy === 'run_once' || policy === 'run_each') {
      const inWindow = missed.filter((t) => now - t <= windowMs);
      toRun = policy === 'run_once' ? inWindow.slice(-1) : inWindow.slice(-MAX_CATCH_UP_FIRES);
    }
    const skipped = missed.filter((t) => !toRun.includes(t));
    // With `more`, times older than missed[0] were not even listed: the summary reaches back to the latest of them.
    const olderUnlisted = more ? entry.compiled.between(from, missed[0] - 1, 1).times[0] : undefined;
    const latestSkipped = skipped.length > 0 ? skipped[skipped.length - 1] : olderUnlisted;
    if (latestSkipped !== undefined) {
      const count = more ? `more than ${missed.length}` : String(skipped.length);
      const window = `${windowMs / 1000} s`;
      const outcome =
        policy === 'skip'
          ? "none was run (misfire policy 'skip')"
          : policy === 'run_once'
            ? toRun.length > 0
              ? `only the latest (${iso(toRun[0])}) was run (misfire policy 'run_once')`
              : `none was run: all are older than the misfire window (${window})`
            : `${toRun.length} within the misfire window (${window}) were run, at most ${MAX_CATCH_UP_FIRES} at once; the rest were not`;
      await this.record(entry, latestSkipped, 'skipped_misfire',
        `${count} scheduled time(s) between ${iso(from)} and ${iso(missed[missed.length - 1])} were missed while the app was not running or the computer slept; ${outcome}`);
    }
    for (const t of toRun) await this.fireOrOverlap(entry, t, 'catch_up');
  }

  private async fireOrOverlap(entry: Entry, t: number, trigger: Fire['trigger']): Promise<void> {
    const { owner } = entry;
    if (owner.spec.maxRuns !== undefined && (await this.deps.store.countFired(owner.kind, owner.id)) >= owner.spec.maxRuns) {
      entry.cursor = Number.POSITIVE_INFINITY; // done for good; a changed schedule (upsert) starts it again
      return;
    }
    if (owner.overlapPolicy !== 'allow' && (entry.inFlight > 0 || (await this.target().isRunning(owner)))) {
      if (owner.overlapPolicy === 'skip') {
        await this.record(entry, t, 'skipped_overlap', 'the previous run was still running (overlap policy skip)');
        return;
      }
      if (entry.pending) {
        await this.record(entry, t, 'skipped_overlap', `a run (for ${entry.pending.scheduledFor.toISOString()}) is already queued behind the running one`);
        return;
      }
      const fire = this.fireFor(entry, t, 'queued');
      if (await this.record(entry, t, 'queued', 'waiting for the previous run to end (overlap policy queue)')) entry.pending = fire;
      return;
    }
    const fire = this.fireFor(entry, t, trigger);
    const rec = this.recordFor(entry, t, 'fired', trigger === 'catch_up' ? 'missed while the app was not running; run by the misfire policy' : undefined);
    // Another instance (or an earlier life of this one) may have handled this time already: then nothing runs.
    if (await this.deps.store.claim(rec)) this.startDispatch(entry, fire, rec);
  }

  /** Starts fires that waited for the previous run, once it has ended. */
  private async startQueued(): Promise<void> {
    for (const entry of this.entries.values()) {
      const fire = entry.pending;
      if (!fire || !this.started) continue;
      if (entry.inFlight > 0 || (await this.target().isRunning(entry.owner))) continue;
      entry.pending = null;
      const reason = `queued behind the previous run; started at ${iso(this.deps.clock.now())}`;
      if (!(await this.deps.store.promoteQueued(fire.idempotencyKey, iso(this.deps.clock.now()), reason))) continue;
      this.startDispatch(entry, fire, this.recordFor(entry, fire.scheduledFor.getTime(), 'fired', reason));
    }
  }

  /** Runs the dispatch without holding up other owners' fires; the record is announced once its job ids are known. */
  private startDispatch(entry: Entry, fire: Fire, rec: FireRecord): void {
    entry.inFlight++;
    const done = (async () => {
      try {
        const { jobIds } = await this.target().dispatch(fire);
        await this.deps.store.complete(fire.idempotencyKey, jobIds);
        this.deps.onRecord?.({ ...rec, jobIds });
      } catch (err) {
        const reason = `could not start the run: ${messageOf(err)}`;
        await this.deps.store.complete(fire.idempotencyKey, [], reason).catch(() => undefined);
        this.deps.onRecord?.({ ...rec, reason });
      } finally {
        entry.inFlight--;
      }
    })();
    this.dispatches.add(done);
    void done.finally(() => this.dispatches.delete(done));
  }

  private fireFor(entry: Entry, t: number, trigger: Fire['trigger']): Fire {
    const { kind, id } = entry.owner;
    return { kind, id, scheduledFor: new Date(t), idempotencyKey: idempotencyKeyFor(kind, id, t), trigger };
  }

  /** Claims the scheduled time with its outcome; false when it had been handled already. */
  private async record(entry: Entry, t: number, outcome: FireOutcome, reason?: string): Promise<boolean> {
    const rec = this.recordFor(entry, t, outcome, reason);
    const claimed = await this.deps.store.claim(rec);
    if (claimed) this.deps.onRecord?.(rec);
    return claimed;
  }

  private recordFor(entry: Entry, t: number, outcome: FireOutcome, reason?: string): FireRecord {
    const { kind, id } = entry.owner;
    const rec: FireRecord = {
      ownerKind: kind,
      ownerId: id,
      scheduledFor: iso(t),
      idempotencyKey: idempotencyKeyFor(kind, id, t),
      outcome,
      jobIds: [],
      firedAt: iso(this.deps.clock.now()),
    };
    if (reason !== undefined) rec.reason = reason;
    return rec;
  }
}
