/**
 * LogRetention: applies the `logs` settings (days, total size, per-event overrides) to the log store on an interval
 * and once at start. It decides nothing about which rows go: LogStore.applyRetention removes whole blocks of finished
 * logs only. 0 in the settings means "no limit".
 */
import { every, type Clock } from '../clock';
import type { LogRetentionSettings } from '../../../src-shared/contract/settings';
import type { LogRetentionPolicy, LogStore } from './log-store';

export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const MB = 1024 * 1024;

/** Settings (0 = no limit) to the store's policy (null = no limit). */
export function retentionPolicy(s: LogRetentionSettings): LogRetentionPolicy {
  const days = (n: number | undefined) => (n === undefined ? undefined : n > 0 ? n : null);
  const bytes = (n: number | undefined) => (n === undefined ? undefined : n > 0 ? n * MB : null);
  const perEvent: NonNullable<LogRetentionPolicy['perEvent']> = {};
  for (const [eventId, o] of Object.entries(s.perEvent)) {
    perEvent[eventId] = {
      ...(o.retentionDays !== undefined ? { maxAgeDays: days(o.retentionDays) } : {}),
      ...(o.maxTotalMb !== undefined ? { maxTotalBytes: bytes(o.maxTotalMb) } : {}),
    };
  }
  return { maxAgeDays: days(s.retentionDays) ?? null, maxTotalBytes: bytes(s.maxTotalMb) ?? null, perEvent };
}

export class LogRetention {
  private timer: { cancel(): void } | undefined;

  constructor(
    private readonly store: LogStore,
    private readonly settings: () => LogRetentionSettings,
    private readonly clock: Clock,
  ) {}

  /** Applies the current settings now; returns what was removed. */
  runOnce(): { blocks: number; bytes: number } {
    return this.store.applyRetention(retentionPolicy(this.settings()));
  }

  start(intervalMs = RETENTION_INTERVAL_MS): void {
    if (this.timer) return;
    const run = () => {
      try {
        const removed = this.runOnce();
        if (removed.blocks > 0) console.log(`[log-retention] removed ${removed.blocks} log blocks (${(removed.bytes / MB).toFixed(1)} MB)`);
      } catch (err) {
        console.error('[log-retention] applying the retention settings failed:', err);
      }
    };
    run();
    this.timer = every(this.clock, intervalMs, run);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
