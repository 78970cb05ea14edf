/**
 * NotificationService: the one source of notifications in every mode. It listens to the event bus (job failed or
 * recovered, runner unhealthy, link lost, schedule missed), applies the user's per-kind preferences, records each
 * notification in the centre's history (the `notifications` table) and announces it as an alert on the bus
 * ('notifications/alert'), which serve mode shows as a browser notification and Electron as a native one.
 * Alerts of one kind that arrive within the group window become one ("40 jobs failed", listing them) while the centre
 * keeps every entry; during quiet hours entries are recorded and no alert is raised. Time comes from the Clock only.
 */
import type { EventName, EventPayload } from '../../../src-shared/contract';
import type { JobView } from '../../../src-shared/contract/jobs';
import type { NotificationKind, NotificationView } from '../../../src-shared/contract/notifications';
import type { Settings } from '../../../src-shared/contract/settings';
import type { Clock } from '../clock';
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import type { EventBus } from '../event-bus';
import { resolveTimeZone } from '../scheduler/schedule-math';
import {
  alertFor,
  inQuietHours,
  isFailedJob,
  jobCandidate,
  kindEnabled,
  linkLostCandidate,
  runnerHealthCandidate,
  scheduleMissedCandidate,
  type NotificationCandidate,
} from './notification-content';
import { NotificationStore } from './notification-store';

/** Dedupe keys remembered; the oldest are forgotten first. */
const MAX_REMEMBERED_KEYS = 5000;
/** The history is trimmed to its bound after this many new entries. */
const TRIM_EVERY = 100;

export interface NotificationServiceDeps {
  db: AppDatabase;
  bus: EventBus;
  clock: Clock;
  /** Read at each event, so a change in Settings applies at once. */
  preferences(): Settings['notifications'];
  /** Recent jobs of one event on one server, newest first (JobService.list): tells a recovery from a plain success. */
  jobs: { list(filter: { eventId?: string; serverId?: string; limit?: number }): Promise<JobView[]>; get(id: string): Promise<JobView> };
  /** The current name of an event or workflow, or null when it is gone. */
  ownerName(kind: 'event' | 'workflow', id: string): Promise<string | null>;
  /** The zone quiet hours are read in; the workstation's by default. */
  timeZone?: string;
}

interface PendingGroup {
  groupId: string;
  entries: NotificationView[];
  timer: { cancel(): void };
}

export class NotificationService {
  readonly store: NotificationStore;
  private readonly pending = new Map<NotificationKind, PendingGroup>();
  private readonly seen = new Set<string>();
  private unsubscribe: (() => void) | null = null;
  private recordedSinceTrim = 0;
  /** Work started by bus events, so tests and stop() can wait for it. */
  private inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: NotificationServiceDeps) {
    this.store = new NotificationStore(deps.db);
  }

  /** Starts listening to the bus. Idempotent. */
  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.deps.bus.subscribe((name, payload) => this.onBusEvent(name, payload));
  }

  /** Stops listening; pending alerts are dropped (their entries are already in the centre). */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.idle();
    for (const group of this.pending.values()) group.timer.cancel();
    this.pending.clear();
  }

  /** Resolves once every bus event received so far has been recorded. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async list(q: { limit: number; unreadOnly: boolean; kind?: NotificationKind }): Promise<{ items: NotificationView[]; unread: number }> {
    const [items, unread] = await Promise.all([this.store.list(q), this.store.unreadCount()]);
    return { items, unread };
  }

  async markRead(ids?: string[]): Promise<{ unread: number }> {
    await this.store.markRead(ids, nowIso(this.deps.clock.now()));
    const unread = await this.store.unreadCount();
    this.deps.bus.emit('notifications/changed', { unread, added: [] });
    return { unread };
  }

  private onBusEvent<K extends EventName>(name: K, payload: EventPayload<K>): void {
    if (name !== 'jobs/changed' && name !== 'runners/healthChanged' && name !== 'jobs/unreachable' && name !== 'schedule/fired') return;
    const work = this.candidateFor(name, payload)
      .then((candidate) => (candidate ? this.record(candidate) : undefined))
      .catch((err: unknown) => console.error(`[notifications] could not record a notification for ${name}:`, err));
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async candidateFor(name: EventName, payload: unknown): Promise<NotificationCandidate | null> {
    const prefs = this.deps.preferences();
    switch (name) {
      case 'jobs/changed': {
        const { job } = payload as EventPayload<'jobs/changed'>;
        if (isFailedJob(job)) return jobCandidate(job, 'job_failed');
        if (job.status !== 'SUCCESS' || this.seen.has(`job:${job.id}:${job.status}`)) return null;
        if (prefs.onRecovered && (await this.previousRunFailed(job))) return jobCandidate(job, 'job_recovered');
        return prefs.onSuccess ? jobCandidate(job, 'job_succeeded') : null;
      }
      case 'runners/healthChanged':
        return runnerHealthCandidate(payload as EventPayload<'runners/healthChanged'>);
      case 'jobs/unreachable': {
        const p = payload as EventPayload<'jobs/unreachable'>;
        const logId = await this.deps.jobs.get(p.jobId).then((j) => j.logId, () => null);
        return linkLostCandidate(p, logId);
      }
      case 'schedule/fired': {
        const p = payload as EventPayload<'schedule/fired'>;
        if (p.outcome !== 'skipped_misfire' && p.outcome !== 'skipped_overlap') return null;
        return scheduleMissedCandidate(p, await this.deps.ownerName(p.ownerKind, p.ownerId).catch(() => null));
      }
      default:
        return null;
    }
  }

  /** Whether the run before this one, of the same event on the same server, failed. */
  private async previousRunFailed(job: JobView): Promise<boolean> {
    if (!job.eventId || !job.serverId) return false;
    const recent = await this.deps.jobs.list({ eventId: job.eventId, serverId: job.serverId, limit: 20 });
    const previous = recent.find((j) => j.id !== job.id && j.createdAt <= job.createdAt && j.finishedAt !== null);
    return previous !== undefined && isFailedJob(previous);
  }

  private async record(candidate: NotificationCandidate): Promise<void> {
    const prefs = this.deps.preferences();
    if (!kindEnabled(candidate.kind, prefs)) return;
    if (this.seen.has(candidate.dedupeKey)) return;
    this.remember(candidate.dedupeKey);

    const now = this.deps.clock.now();
    const quiet = inQuietHours(now, prefs.quietHours, this.deps.timeZone ?? resolveTimeZone(null));
    // The group is chosen synchronously, before any await, so concurrent events of one kind share it.
    const group = quiet ? null : this.groupFor(candidate.kind, prefs.groupWindowSeconds * 1000);
    const entry: NotificationView = {
      id: newId(),
      kind: candidate.kind,
      title: candidate.title,
      body: candidate.body,
      target: candidate.target,
      groupId: group?.groupId ?? null,
      createdAt: nowIso(now),
      readAt: null,
    };
    group?.entries.push(entry);
    await this.store.insert([entry]);
    const unread = await this.store.unreadCount();
    this.deps.bus.emit('notifications/changed', { unread, added: [entry] });
    if (++this.recordedSinceTrim >= TRIM_EVERY) {
      this.recordedSinceTrim = 0;
      await this.store.trim();
    }
  }

  private groupFor(kind: NotificationKind, windowMs: number): PendingGroup {
    const open = this.pending.get(kind);
    if (open) return open;
    const group: PendingGroup = {
      groupId: newId(),
      entries: [],
      timer: this.deps.clock.setTimeout(() => this.flush(kind), windowMs),
    };
    this.pending.set(kind, group);
    return group;
  }

  private flush(kind: NotificationKind): void {
    const group = this.pending.get(kind);
    this.pending.delete(kind);
    if (!group || group.entries.length === 0) return;
    this.deps.bus.emit('notifications/alert', alertFor(group.groupId, group.entries));
  }

  private remember(key: string): void {
    this.seen.add(key);
    if (this.seen.size > MAX_REMEMBERED_KEYS) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
