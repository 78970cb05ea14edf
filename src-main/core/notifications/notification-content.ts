/**
 * What the notification centre says about each bus event, as pure functions: which kind it is, its title and body,
 * what a click opens, and the key that makes a repeated event count once. It never puts script output or a secret
 * in an entry (job reasons are already masked by the job service) and never decides whether to notify.
 */
import type { EventName, EventPayload } from '../../../src-shared/contract';
import { isFailedJobStatus, type JobView } from '../../../src-shared/contract/jobs';
import {
  NOTIFICATION_KIND_LABELS,
  type NotificationAlert,
  type NotificationKind,
  type NotificationTarget,
  type NotificationView,
} from '../../../src-shared/contract/notifications';
import type { Settings } from '../../../src-shared/contract/settings';

/** A reason is one line from the core ("exit code 2", "connection lost"); notifications stay short. */
export const MAX_REASON_CHARS = 160;
/** A grouped alert lists this many entries, then "and N more". */
export const GROUP_LIST_LIMIT = 5;

export interface NotificationCandidate {
  kind: NotificationKind;
  title: string;
  body: string;
  target: NotificationTarget | null;
  /** The same key twice is one notification (a job reported FAILURE twice, a health change re-sent). */
  dedupeKey: string;
}

const JOB_WORDS: Partial<Record<JobView['status'], string>> = { SUCCESS: 'succeeded', FAILURE: 'failed', TIMEOUT: 'timed out' };

function clip(text: string): string {
  const t = text.trim();
  return t.length > MAX_REASON_CHARS ? `${t.slice(0, MAX_REASON_CHARS - 1)}…` : t;
}

/**
 * Whether a finished job gets a "job failed" entry: FAILED_JOB_STATUSES (contract/jobs.ts) less PARTIAL, on purpose.
 * A PARTIAL job's link or connection was cut mid-run, which the centre reports as link lost (jobs/unreachable), not
 * as a failed script; run summaries, "re-run failed only" and alerts do count it as failed.
 */
export function isFailedJob(job: Pick<JobView, 'status'>): boolean {
  return job.status !== 'PARTIAL' && isFailedJobStatus(job.status);
}

/** "db-1: failed (exit code 2)" for a finished job, titled by its event. */
export function jobCandidate(job: JobView, kind: 'job_failed' | 'job_succeeded' | 'job_recovered'): NotificationCandidate {
  const server = job.serverName ?? 'a deleted server';
  let body = `${server}: ${kind === 'job_recovered' ? 'succeeded again after a failure' : (JOB_WORDS[job.status] ?? job.status.toLowerCase())}`;
  const reason = job.reason?.trim() || (isFailedJob(job) && job.exitCode != null ? `exit code ${job.exitCode}` : '');
  if (reason && kind === 'job_failed') body += ` (${clip(reason)})`;
  return {
    kind,
    title: job.eventName ?? 'Deleted event',
    body,
    target: job.logId ? { kind: 'log', id: job.logId } : null,
    dedupeKey: `job:${job.id}:${job.status}`,
  };
}

/**
 * A runner whose health got worse (degraded / unhealthy); recoveries and repeats stay quiet. Wider than the alert
 * rules on purpose (AlertService.fromRunnerHealth: unhealthy only): the centre is a history, an alert pages someone.
 */
export function runnerHealthCandidate(p: EventPayload<'runners/healthChanged'>): NotificationCandidate | null {
  if (p.to !== 'degraded' && p.to !== 'unhealthy') return null;
  if (p.from === p.to) return null;
  const server = p.serverName ?? 'a server';
  const reason = p.reason?.trim() ? clip(p.reason) : 'no reason reported';
  return {
    kind: 'runner_unhealthy',
    title: `Runner ${p.to} on ${server}`,
    body: reason,
    target: p.serverId ? { kind: 'server', id: p.serverId } : null,
    dedupeKey: `runner:${p.deploymentId}:${p.from}->${p.to}:${reason}`,
  };
}

/** A runner job unreachable longer than the setting; `logId` is looked up by the service. */
export function linkLostCandidate(p: EventPayload<'jobs/unreachable'>, logId: string | null): NotificationCandidate {
  return {
    kind: 'link_lost',
    title: p.eventName,
    body: `${p.serverName}: unreachable for ${p.seconds} s; the job keeps running there and Cronium keeps reconnecting`,
    target: logId ? { kind: 'log', id: logId } : null,
    dedupeKey: `link:${p.jobId}:${p.since}`,
  };
}

/**
 * A scheduled time that was skipped (missed while closed or asleep, or still running the previous fire). Wider than
 * the 'missed' alert trigger on purpose (AlertService.fromMissedSchedule: skipped_misfire only; an overlap is the
 * schedule working as configured).
 */
export function scheduleMissedCandidate(p: EventPayload<'schedule/fired'>, ownerName: string | null): NotificationCandidate | null {
  if (p.outcome !== 'skipped_misfire' && p.outcome !== 'skipped_overlap') return null;
  const why = p.reason?.trim() ? clip(p.reason) : p.outcome === 'skipped_overlap' ? 'the previous run was still going' : 'missed while the app was closed or asleep';
  return {
    kind: 'schedule_missed',
    title: ownerName ?? `Deleted ${p.ownerKind}`,
    body: `run for ${p.scheduledFor} skipped: ${why}`,
    target: { kind: p.ownerKind, id: p.ownerId },
    dedupeKey: `fire:${p.idempotencyKey}:${p.outcome}`,
  };
}

/** Whether the user wants this kind at all (neither an alert nor a centre entry when off). */
export function kindEnabled(kind: NotificationKind, prefs: Settings['notifications']): boolean {
  switch (kind) {
    case 'job_failed':
      return prefs.onFailure;
    case 'job_succeeded':
      return prefs.onSuccess;
    case 'job_recovered':
      return prefs.onRecovered;
    case 'runner_unhealthy':
      return prefs.onRunnerUnhealthy;
    case 'link_lost':
      return prefs.onLinkLost;
    case 'schedule_missed':
      return prefs.onScheduleMissed;
  }
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

const hourFormats = new Map<string, Intl.DateTimeFormat>();

/** Whether `ms` falls in the quiet hours, read on the wall clock of `timeZone`; an end before the start spans midnight. */
export function inQuietHours(ms: number, quiet: Settings['notifications']['quietHours'], timeZone: string): boolean {
  if (!quiet.enabled || quiet.start === quiet.end) return false;
  let f = hourFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    hourFormats.set(timeZone, f);
  }
  const parts = f.formatToParts(new Date(ms));
  const now = Number(parts.find((p) => p.type === 'hour')?.value ?? 0) * 60 + Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  return start < end ? now >= start && now < end : now >= start || now < end;
}

/** One alert for the entries of one kind announced together: the entry itself, or "40 jobs failed" with a list. */
export function alertFor(groupId: string, entries: readonly NotificationView[]): NotificationAlert {
  const first = entries[0];
  if (!first) throw new Error('an alert needs at least one entry');
  if (entries.length === 1) {
    return { groupId, kind: first.kind, title: first.title, body: first.body, count: 1, entryIds: [first.id], target: first.target };
  }
  const lines = entries.slice(0, GROUP_LIST_LIMIT).map((e) => `${e.title}: ${e.body}`);
  if (entries.length > GROUP_LIST_LIMIT) lines.push(`and ${entries.length - GROUP_LIST_LIMIT} more`);
  return {
    groupId,
    kind: first.kind,
    title: NOTIFICATION_KIND_LABELS[first.kind].many(entries.length),
    body: lines.join('\n'),
    count: entries.length,
    entryIds: entries.map((e) => e.id),
    target: null,
  };
}

/** The bus events the service listens to. */
export const NOTIFYING_EVENTS: readonly EventName[] = ['jobs/changed', 'runners/healthChanged', 'jobs/unreachable', 'schedule/fired'];
