/**
 * LogStreamService: live fan-out of stored log lines to renderers. It keeps a reference count per log id (one per
 * 'logs/subscribe' not yet matched by 'logs/unsubscribe') and pushes 'logs/lines' only for subscribed logs, coalesced
 * per stored batch and bounded per push. A push never carries more than MAX_LINES_PER_PUSH lines; when a batch is
 * larger than MAX_LINES_PER_BATCH only its newest lines are pushed and the viewer fills the gap from 'logs/lines'
 * (it sees the jump in sequence numbers), so a slow renderer cannot make the app hold millions of lines.
 */
import type { EventBus } from '../event-bus';
import type { LogLine } from '../../../src-shared/contract/logs';
import type { LogStore } from './log-store';

export const MAX_LINES_PER_PUSH = 2000;
export const MAX_LINES_PER_BATCH = 10_000;

export class LogStreamService {
  private readonly subscribers = new Map<string, number>();
  private readonly detach: () => void;

  constructor(
    store: LogStore,
    private readonly bus: EventBus,
  ) {
    this.detach = store.onStored((logId, lines) => this.publish(logId, lines));
  }

  subscribe(logId: string): void {
    this.subscribers.set(logId, (this.subscribers.get(logId) ?? 0) + 1);
  }

  unsubscribe(logId: string): void {
    const n = (this.subscribers.get(logId) ?? 0) - 1;
    if (n > 0) this.subscribers.set(logId, n);
    else this.subscribers.delete(logId);
  }

  private publish(logId: string, lines: LogLine[]): void {
    if (!this.subscribers.has(logId) || lines.length === 0) return;
    const newest = lines.length > MAX_LINES_PER_BATCH ? lines.slice(lines.length - MAX_LINES_PER_BATCH) : lines;
    for (let i = 0; i < newest.length; i += MAX_LINES_PER_PUSH) {
      this.bus.emit('logs/lines', { logId, lines: newest.slice(i, i + MAX_LINES_PER_PUSH) });
    }
  }

  close(): void {
    this.detach();
    this.subscribers.clear();
  }
}
