/**
 * NotificationController: a native notification when a job fails or times out (and when it succeeds, if the user
 * asked for it in Settings), whose click opens that job's log. It owns the decision of what to say and whether to
 * say it; it must never notify twice for the same job outcome, nor put script output or secrets in a notification.
 */
import { Notification, type NativeImage } from 'electron';
import type { JobStatus } from '../../src-shared/contract/jobs';
import { STATUS_WORDS, readJobChange, type ShellJob } from './job-change';

export interface NotificationPreferences {
  onFailure: boolean;
  onSuccess: boolean;
}

export interface NotificationContent {
  title: string;
  body: string;
  logId: string | null;
}

const FAILURE_STATUSES: readonly JobStatus[] = ['FAILURE', 'TIMEOUT'];
/** A reason is one line from the core ("exit code 2", "connection lost"); keep notifications short. */
const MAX_REASON_CHARS = 160;
/** Outcomes remembered to avoid repeating a notification; old ones are forgotten. */
const MAX_REMEMBERED_OUTCOMES = 1000;

/** Pure: what to show for this job change under these preferences, or null for nothing. */
export function notificationFor(job: ShellJob, prefs: NotificationPreferences): NotificationContent | null {
  const isFailure = FAILURE_STATUSES.includes(job.status);
  const isSuccess = job.status === 'SUCCESS';
  if (!(isFailure && prefs.onFailure) && !(isSuccess && prefs.onSuccess)) return null;
  const server = job.serverName ?? 'a deleted server';
  let body = `${server}: ${STATUS_WORDS[job.status]}`;
  const reason = job.reason?.trim() || (isFailure && job.exitCode != null ? `exit code ${job.exitCode}` : '');
  if (reason) body += ` (${reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason})`;
  return { title: job.eventName ?? 'Deleted event', body, logId: job.logId ?? null };
}

/**
 * Pure: a notification for a runner whose health got worse (degraded / unhealthy), or null. Recoveries and first
 * checks of a healthy runner stay quiet; the Runners pane shows them.
 */
export function runnerHealthNotification(name: string, payload: unknown): NotificationContent | null {
  if (name !== 'runners/healthChanged' || typeof payload !== 'object' || payload === null) return null;
  const p = payload as { serverName?: unknown; to?: unknown; from?: unknown; reason?: unknown };
  if (p.to !== 'degraded' && p.to !== 'unhealthy') return null;
  if (p.from === p.to) return null;
  const server = typeof p.serverName === 'string' ? p.serverName : 'a server';
  const reason = typeof p.reason === 'string' && p.reason.trim() ? p.reason.trim() : '';
  const body = reason ? `${server}: ${reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason}` : server;
  return { title: `Runner ${p.to}`, body, logId: null };
}

/** Pure: a notification for a runner job unreachable longer than the setting ('jobs/unreachable'), or null. */
export function jobUnreachableNotification(name: string, payload: unknown): NotificationContent | null {
  if (name !== 'jobs/unreachable' || typeof payload !== 'object' || payload === null) return null;
  const p = payload as { eventName?: unknown; serverName?: unknown; seconds?: unknown };
  const server = typeof p.serverName === 'string' ? p.serverName : 'a server';
  const seconds = typeof p.seconds === 'number' ? p.seconds : null;
  return {
    title: typeof p.eventName === 'string' ? p.eventName : 'A runner job',
    body: `${server}: unreachable${seconds !== null ? ` for ${seconds} s` : ''}; the job keeps running there and Cronium keeps reconnecting`,
    logId: null,
  };
}

export interface NotificationControllerOptions {
  /** Read at each job change, so a change in Settings applies at once (core.settings.current().notifications). */
  preferences(): NotificationPreferences;
  /** Brings the window forward and shows the log. */
  onOpenLog(logId: string): void;
  /** A NativeImage rather than a path: Linux notification daemons cannot read a file inside app.asar. */
  icon?: NativeImage;
}

export class NotificationController {
  private readonly notified = new Set<string>();
  /** Shown notifications are kept referenced until closed: a collected one loses its click handler. */
  private readonly live = new Set<Notification>();

  constructor(private readonly options: NotificationControllerOptions) {}

  /** Feed every contract event here (core.bus); only 'jobs/changed' reaching an outcome can notify. */
  handleEvent(name: string, payload: unknown): void {
    const runner = runnerHealthNotification(name, payload) ?? jobUnreachableNotification(name, payload);
    if (runner) {
      this.show(runner);
      return;
    }
    const job = readJobChange(name, payload);
    if (!job) return;
    const key = `${job.id}:${job.status}`;
    if (this.notified.has(key)) return;
    const content = notificationFor(job, this.options.preferences());
    if (!content) return;
    this.remember(key);
    this.show(content);
  }

  private remember(key: string): void {
    this.notified.add(key);
    if (this.notified.size > MAX_REMEMBERED_OUTCOMES) {
      const oldest = this.notified.values().next().value;
      if (oldest !== undefined) this.notified.delete(oldest);
    }
  }

  private show(content: NotificationContent): void {
    if (!Notification.isSupported()) return;
    const n = new Notification({
      title: content.title,
      body: content.body,
      ...(this.options.icon ? { icon: this.options.icon } : {}),
    });
    this.live.add(n);
    const forget = () => this.live.delete(n);
    n.on('click', () => {
      forget();
      if (content.logId) this.options.onOpenLog(content.logId);
    });
    n.on('close', forget);
    n.show();
  }
}
