/**
 * LogStreamService: live fan-out of stored log lines to renderers. Subscriptions are kept per client connection (the
 * router's connection id): a reference count per (log id, connection), one per 'logs/subscribe' not yet matched by
 * 'logs/unsubscribe', all released when the connection closes. Lines of a log go only to the connections subscribed to
 * it (through the sink the router registers); in-process subscribers without a connection get them on the bus.
 * Pushes are coalesced per stored batch and bounded per push. A push never carries more than MAX_LINES_PER_PUSH lines; when a batch is
 * larger than MAX_LINES_PER_BATCH only its newest lines are pushed and the viewer fills the gap from 'logs/lines'
 * (it sees the jump in sequence numbers), so a slow renderer cannot make the app hold millions of lines.
 */
import type { EventBus } from '../event-bus';
import type { LogLine } from '../../../src-shared/contract/logs';
import type { LogStore, StoredRuns } from './log-store';

export const MAX_LINES_PER_PUSH = 2000;
export const MAX_LINES_PER_BATCH = 10_000;

/** The connection id of in-process subscribers (tests, services): their lines go out on the bus. */
export const IN_PROCESS = 'in-process';

export type LogLinesPayload = { logId: string; lines: LogLine[] };

export class LogStreamService {
  readonly eventName = 'logs/lines' as const;
  /** logId -> connection id -> number of open subscriptions. */
  private readonly subscribers = new Map<string, Map<string, number>>();
  private readonly sinks = new Set<(connectionId: string, payload: LogLinesPayload) => void>();
  private readonly detach: () => void;

  constructor(
    store: LogStore,
    private readonly bus: EventBus,
  ) {
    this.detach = store.onStored((logId, runs) => this.publish(logId, runs));
  }

  subscribe(logId: string, connectionId: string = IN_PROCESS): void {
    let byConnection = this.subscribers.get(logId);
    if (!byConnection) this.subscribers.set(logId, (byConnection = new Map()));
    byConnection.set(connectionId, (byConnection.get(connectionId) ?? 0) + 1);
  }

  unsubscribe(logId: string, connectionId: string = IN_PROCESS): void {
    const byConnection = this.subscribers.get(logId);
    if (!byConnection) return;
    const n = (byConnection.get(connectionId) ?? 0) - 1;
    if (n > 0) byConnection.set(connectionId, n);
    else byConnection.delete(connectionId);
    if (byConnection.size === 0) this.subscribers.delete(logId);
  }

  /** Drops every subscription of a connection that went away. */
  releaseConnection(connectionId: string): void {
    for (const [logId, byConnection] of this.subscribers) {
      byConnection.delete(connectionId);
      if (byConnection.size === 0) this.subscribers.delete(logId);
    }
  }

  /** Where lines for a connection go (the router registers one); returns the function that removes it. */
  onDeliver(sink: (connectionId: string, payload: LogLinesPayload) => void): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  /** The connections subscribed to a log (for tests and diagnostics). */
  subscribersOf(logId: string): string[] {
    return [...(this.subscribers.get(logId)?.keys() ?? [])];
  }

  private publish(logId: string, runs: StoredRuns): void {
    const byConnection = this.subscribers.get(logId);
    if (!byConnection || runs.length === 0) return;
    const newest = newestLines(runs, MAX_LINES_PER_BATCH);
    for (let i = 0; i < newest.length; i += MAX_LINES_PER_PUSH) {
      const payload = { logId, lines: newest.slice(i, i + MAX_LINES_PER_PUSH) };
      for (const connectionId of byConnection.keys()) {
        if (connectionId === IN_PROCESS) this.bus.emit('logs/lines', payload);
        else for (const sink of this.sinks) sink(connectionId, payload);
      }
    }
  }

  close(): void {
    this.detach();
    this.subscribers.clear();
    this.sinks.clear();
  }
}

/** The newest `max` lines of the runs (all of them when fewer), oldest first. */
function newestLines(runs: StoredRuns, max: number): readonly LogLine[] {
  if (runs.length === 1) {
    const only = runs[0];
    return only.length > max ? only.slice(only.length - max) : only;
  }
  let first = runs.length - 1;
  let count = runs[first].length;
  while (first > 0 && count < max) count += runs[--first].length;
  const lines: LogLine[] = [];
  for (let r = first; r < runs.length; r++) {
    const run = runs[r];
    for (let i = r === first ? Math.max(0, count - max) : 0; i < run.length; i++) lines.push(run[i]);
  }
  return lines;
}
