/**
 * LogAggregator: puts one runner job's numbered lines into its log, exactly once and in order. Runner sequence
 * numbers (1, 2, 3 ... per job) are mapped onto the log's own sequence, which the app's 'system' lines share; a
 * runner line at or below the last one taken is a duplicate and is dropped; one beyond the next expected is a gap:
 * nothing after it is taken until the runner has replayed from the last line taken. It reports, through onDurable,
 * the highest runner sequence whose line is committed to SQLite: the only point the runner may be acknowledged.
 * Lines are committed within COMMIT_WITHIN_MS of arriving (rather than the store's general flush interval), so a
 * line reaches a watching client quickly, with at most one transaction per log per interval. While lines pour in (the
 * last commit carried BUSY_COMMIT_LINES or more), commits are BUSY_COMMIT_MS apart instead: fewer, larger writes of
 * the open block, and a wait that is short beside the time such a batch takes to arrive.
 * It never changes a log's status (the executor's session does) and never stores a line unmasked (the sink masks).
 */
import type { Clock } from '../clock';
import type { LogSink } from '../jobs/executor';
import type { Metrics } from '../metrics/metrics';
import type { LogStore } from './log-store';
import type { WireLine } from '../../../src-shared/protocol/runner-wire';

export const COMMIT_WITHIN_MS = 10;
/** Lines in one commit (100,000 lines/s at COMMIT_WITHIN_MS) from which the next commit waits BUSY_COMMIT_MS. */
export const BUSY_COMMIT_LINES = 1_000;
export const BUSY_COMMIT_MS = 50;

export interface AcceptResult {
  accepted: number;
  duplicates: number;
  /** A line beyond the next expected one arrived: ask the runner to replay from lastRunnerSeq. */
  gap: boolean;
}

export class LogAggregator {
  private runnerSeq: number;
  private durable: number;
  /** (log seq, runner seq) at the end of each accepted batch, waiting for the store to commit that log seq. */
  private readonly inFlight: Array<{ logSeq: number; runnerSeq: number }> = [];
  private readonly listeners = new Set<(runnerSeq: number) => void>();
  private readonly detach: () => void;
  private lastCommit = 0;
  /** Lines accepted since the last commit, and how many the last commit carried. */
  private sinceCommit = 0;
  private lastCommitLines = 0;
  private commitTimer: { cancel(): void } | undefined;

  constructor(
    private readonly sink: LogSink,
    private readonly store: LogStore,
    private readonly metrics: Metrics,
    /** Runner lines already stored in this log (0 for a new attempt; counted from the database on resume). */
    initialRunnerSeq: number,
    /** Paces commits and measures latency; the store's clock unless told otherwise. */
    private readonly clock: Clock = store.clock,
  ) {
    this.runnerSeq = initialRunnerSeq;
    this.durable = initialRunnerSeq;
    this.detach = store.onStored((logId, runs) => {
      if (logId !== this.sink.logId || runs.length === 0) return;
      const newest = runs[runs.length - 1];
      const committed = newest[newest.length - 1].seq;
      let advanced = false;
      while (this.inFlight.length > 0 && this.inFlight[0].logSeq <= committed) {
        this.durable = this.inFlight.shift()!.runnerSeq;
        advanced = true;
      }
      if (advanced) for (const l of this.listeners) l(this.durable);
    });
  }

  /** The last runner sequence taken into the log (stored or about to be). */
  get lastRunnerSeq(): number {
    return this.runnerSeq;
  }

  /** The last runner sequence committed to the database. */
  get durableRunnerSeq(): number {
    return this.durable;
  }

  onDurable(listener: (runnerSeq: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Takes a batch of runner lines. The batch's line objects become the log's: the taken ones are renumbered in place
   * into the log's sequence and kept by the store (as parseRunnerMessage makes them, fresh and with just the four
   * fields), so the caller must not use them afterwards.
   */
  accept(lines: WireLine[]): AcceptResult {
    let start = 0;
    while (start < lines.length && lines[start].seq <= this.runnerSeq) start++;
    const duplicates = start;
    if (start === lines.length) return { accepted: 0, duplicates, gap: false };
    if (lines[start].seq !== this.runnerSeq + 1) return { accepted: 0, duplicates, gap: true };
    // Take the contiguous run; a jump inside the batch is a gap too.
    let end = start + 1;
    while (end < lines.length && lines[end].seq === lines[end - 1].seq + 1) end++;
    const lastRunnerSeq = lines[end - 1].seq;
    const gap = end < lines.length && lines[end].seq > lastRunnerSeq + 1;
    const batch = start === 0 && end === lines.length ? lines : lines.slice(start, end);
    const base = this.sink.lastSequence + 1;
    let lastTs = '';
    const nowMs = this.clock.now();
    for (let i = 0; i < batch.length; i++) {
      const l = batch[i];
      l.seq = base + i;
      // One observation per distinct runner timestamp: lines of one read share it.
      if (l.ts !== lastTs) {
        lastTs = l.ts;
        const at = Date.parse(l.ts);
        if (Number.isFinite(at)) this.metrics.streamingLogLatency.observe(Math.max(0, nowMs - at) / 1000);
      }
    }
    const r = this.sink.appendSequenced(batch);
    this.runnerSeq = lastRunnerSeq;
    this.inFlight.push({ logSeq: base + batch.length - 1, runnerSeq: this.runnerSeq });
    this.sinceCommit += batch.length;
    this.commitSoon();
    return { accepted: r.accepted, duplicates: duplicates + r.duplicates, gap };
  }

  /** Commits now if the last commit is COMMIT_WITHIN_MS (BUSY_COMMIT_MS while busy) old, else once it is. */
  private commitSoon(): void {
    if (this.commitTimer) return;
    const interval = this.lastCommitLines >= BUSY_COMMIT_LINES ? BUSY_COMMIT_MS : COMMIT_WITHIN_MS;
    const wait = this.lastCommit + interval - this.clock.now();
    const commit = () => {
      this.commitTimer = undefined;
      this.lastCommit = this.clock.now();
      this.lastCommitLines = this.sinceCommit;
      this.sinceCommit = 0;
      this.store.flushAll(this.sink.logId);
    };
    if (wait <= 0) commit();
    else this.commitTimer = this.clock.setTimeout(commit, wait);
  }

  close(): void {
    this.commitTimer?.cancel();
    this.commitTimer = undefined;
    this.detach();
    this.listeners.clear();
  }
}
