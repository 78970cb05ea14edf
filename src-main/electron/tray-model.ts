/**
 * What the tray shows, as a pure model fed by contract events: how many jobs are running, the last few results and
 * the notification centre's unread count (the same source as the notifications, 'notifications/changed').
 * It reads only the job fields it needs from 'jobs/changed' (parsed leniently, so new fields never break it) and
 * ignores every other event. It must never touch Electron: tray.ts turns its menu description into a real menu.
 */
import { TERMINAL_JOB_STATUSES, type JobStatus } from '../../src-shared/contract/jobs';
import { STATUS_WORDS, readJobChange } from './job-change';

export const RECENT_RESULTS_LIMIT = 5;
/** Statuses during which a job occupies a server: what "running" means in the tray. */
const ACTIVE_STATUSES: readonly JobStatus[] = ['DISPATCHING', 'RUNNING'];

export interface TrayResult {
  jobId: string;
  eventName: string;
  serverName: string;
  status: JobStatus;
  logId: string | null;
}

export interface TrayState {
  runningCount: number;
  /** Unread entries of the notification centre (from 'notifications/changed', the core's notification service). */
  unreadNotifications: number;
  /** Newest first, at most RECENT_RESULTS_LIMIT. */
  recent: readonly TrayResult[];
}

export type TrayAction = { type: 'open-window' } | { type: 'open-log'; logId: string } | { type: 'quit' };

export type TrayMenuItem =
  | { kind: 'item'; label: string; enabled: boolean; action?: TrayAction }
  | { kind: 'separator' };

export class TrayModel {
  private readonly active = new Set<string>();
  private recent: TrayResult[] = [];
  private unread = 0;

  /** Feeds one contract event; returns the state after it (unchanged for events the tray does not care about). */
  apply(eventName: string, payload: unknown): TrayState {
    if (eventName === 'notifications/changed') {
      const unread = (payload as { unread?: unknown } | null)?.unread;
      if (typeof unread === 'number' && Number.isInteger(unread) && unread >= 0) this.unread = unread;
      return this.state();
    }
    const job = readJobChange(eventName, payload);
    if (!job) return this.state();
    if (ACTIVE_STATUSES.includes(job.status)) this.active.add(job.id);
    else this.active.delete(job.id);
    if (TERMINAL_JOB_STATUSES.includes(job.status)) {
      const result: TrayResult = {
        jobId: job.id,
        eventName: job.eventName ?? 'Deleted event',
        serverName: job.serverName ?? 'deleted server',
        status: job.status,
        logId: job.logId ?? null,
      };
      // A job reported twice (PARTIAL, then completed after re-attach) shows once, with its latest status.
      this.recent = [result, ...this.recent.filter((r) => r.jobId !== job.id)].slice(0, RECENT_RESULTS_LIMIT);
    }
    return this.state();
  }

  state(): TrayState {
    return { runningCount: this.active.size, recent: [...this.recent], unreadNotifications: this.unread };
  }
}

export function runningLabel(count: number): string {
  if (count === 0) return 'No jobs running';
  return count === 1 ? '1 job running' : `${count} jobs running`;
}

export function unreadLabel(count: number): string {
  return count === 1 ? '1 unread notification' : `${count} unread notifications`;
}

export function trayTooltip(state: TrayState): string {
  const unread = state.unreadNotifications > 0 ? `, ${unreadLabel(state.unreadNotifications)}` : '';
  return `Cronium Desktop: ${runningLabel(state.runningCount).toLowerCase()}${unread}`;
}

export function buildTrayMenuTemplate(state: TrayState): TrayMenuItem[] {
  const items: TrayMenuItem[] = [{ kind: 'item', label: runningLabel(state.runningCount), enabled: false }];
  if (state.unreadNotifications > 0) items.push({ kind: 'item', label: unreadLabel(state.unreadNotifications), enabled: true, action: { type: 'open-window' } });
  items.push({ kind: 'separator' });
  if (state.recent.length === 0) {
    items.push({ kind: 'item', label: 'No results yet', enabled: false });
  } else {
    items.push({ kind: 'item', label: 'Recent results', enabled: false });
    for (const r of state.recent) {
      const label = `${r.eventName} on ${r.serverName}: ${STATUS_WORDS[r.status]}`;
      items.push(
        r.logId
          ? { kind: 'item', label, enabled: true, action: { type: 'open-log', logId: r.logId } }
          : { kind: 'item', label, enabled: false },
      );
    }
  }
  items.push(
    { kind: 'separator' },
    { kind: 'item', label: 'Open Cronium', enabled: true, action: { type: 'open-window' } },
    { kind: 'item', label: 'Quit', enabled: true, action: { type: 'quit' } },
  );
  return items;
}
