/**
 * LogStore: owns the `logs` and `log_blocks` rows. A log's lines are kept in compressed blocks (up to BLOCK_MAX_LINES
 * lines or BLOCK_MAX_CHARS characters a row, deflated, with the block's sequence range, line index and text offset
 * indexed) instead of one row per line: a typical log takes less space than its text, and writing is bound by the
 * link, not by SQLite. The block being filled (the open block) is readable live: every flush (each FLUSH_INTERVAL_MS,
 * or before any read of the log) writes its new lines as an uncompressed chunk row (sealed = 0), and sealing the block
 * replaces those chunks by one compressed row in the same transaction. Counters are written with each batch and only
 * count lines that are on disk (a re-attaching runner resumes from them); the bounded `partial_output` tail with each
 * batch that leaves nothing unwritten (a re-attached log rebuilds its tail from its newest blocks).
 * Too many lines not yet on disk flushes synchronously, blocking the event loop until the batch is written: that is
 * the backpressure that keeps memory bounded however fast a job prints. It never masks or interprets text (LogSinkImpl
 * does) and moves a log's status only through the job state machine. Retention removes whole blocks.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { expressionBuilder, sql } from 'kysely';
import { systemClock, type Clock } from '../clock';
import type { AppDatabase } from '../db/database';
import { PreparedStatements } from '../db/prepared';
import { newId, nowIso } from '../db/ids';
import type { DB, Row } from '../db/schema';
import type { EventBus } from '../event-bus';
import { AppError } from '../errors';
import { assertLogTransition } from '../jobs/job-state-machine';
import type { LogLine, LogStatus, LogView } from '../../../src-shared/contract/logs';
import type { ExecutionMode } from '../../../src-shared/contract/settings';
import { blockLine, decodeLogBlock, encodeLogBlock, searchBlock, type DecodedBlock, type EncodedBlock } from './log-block-codec';

export const FLUSH_INTERVAL_MS = 50;
/** Lines not yet on disk (across all logs) before a synchronous flush. */
export const MAX_BUFFERED_LINES = 20_000;
/** Characters of the newest output kept in logs.partial_output. */
export const PARTIAL_TAIL_CHARS = 64 * 1024;
/**
 * A block is sealed (compressed and written as one row) at this many lines or characters, whichever comes first. The
 * character limit bounds what a reader decodes; the line limit only matters for short lines (8192 lines of `seq`: one
 * deflate, one row and one index entry where 2048 lines took four).
 */
export const BLOCK_MAX_LINES = 8192;
export const BLOCK_MAX_CHARS = 64 * 1024;
/** Decoded blocks kept for readers paging through a log (the viewer asks for neighbouring ranges). */
const DECODED_CACHE_BLOCKS = 16;

export interface LogListFilter {
  status?: LogStatus;
  eventId?: string;
  serverId?: string;
  from?: string;
  to?: string;
  limit: number;
  offset: number;
}

/** Retention limits; null means no limit. Per-event limits replace the defaults for that event's logs. */
export interface LogRetentionLimits {
  maxAgeDays: number | null;
  maxTotalBytes: number | null;
}
export interface LogRetentionPolicy extends LogRetentionLimits {
  perEvent?: Record<string, Partial<LogRetentionLimits>>;
}

interface OpenLog {
  status: LogStatus;
  /** Appended (on disk or not). */
  lastSequence: number;
  lineCount: number;
  byteCount: number;
  /** On disk (what the logs row says). */
  durableLastSequence: number;
  durableLineCount: number;
  durableByteCount: number;
  /**
   * The open block's lines; the first `openWritten` of them are on disk as chunk rows. The lines not yet on disk (handed
   * to listeners once written) are those of `sealed` past each one's `from`, then the open block's past openWritten.
   */
  openLines: LogLine[];
  openChars: number;
  openWritten: number;
  openWrittenChars: number;
  /** Line index and text offset (in the log) of the open block's first line. */
  openFirstLine: number;
  openByteStart: number;
  /**
   * Sealed blocks waiting for the next flush, with their line index and text offset, their lines and how many of those
   * (and their characters) were on disk already as chunk rows.
   */
  sealed: Array<{ block: EncodedBlock; firstLine: number; byteStart: number; lines: LogLine[]; from: number; fromChars: number }>;
  /** Whether chunk rows of this log are on disk (sealing must delete them). */
  chunkRows: boolean;
  /** The newest lines, at least PARTIAL_TAIL_CHARS of them when there are (tailText() cuts them to size). */
  tail: TailRun[];
  tailChars: number;
}

/**
 * The lines just stored, as runs in sequence order (a sealed block's lines, the open block's new ones; none empty).
 * Runs, not one array: joining them cost as much as a tenth of a fast job's time (a per-line store into a large array).
 */
export type StoredRuns = readonly (readonly LogLine[])[];
type StoredListener = (logId: string, runs: StoredRuns) => void;

interface BlockRow {
  id: number;
  first_seq: number;
  last_seq: number;
  sealed: number;
  data: Buffer;
}

export class LogStore {
  private readonly open = new Map<string, OpenLog>();
  /** Lines appended and not yet on disk, across logs. */
  private buffered = 0;
  private timer: { cancel(): void } | undefined;
  /** When the last batch was written (clock ms); the first line after a quiet spell is written at once. */
  private lastFlushAt = 0;
  private readonly insertBlock: BetterSqlite3.Statement;
  /** The status path's statements (create, setStatus, statusOf, the pushed view): per job, at fleet scale. */
  private readonly statusStatements: PreparedStatements;
  private readonly deleteChunks: BetterSqlite3.Statement;
  private readonly updateCounters: BetterSqlite3.Statement;
  private readonly updateCountersOnly: BetterSqlite3.Statement;
  private readonly newestBlocks: BetterSqlite3.Statement;
  private readonly blocksFrom: BetterSqlite3.Statement;
  private readonly decoded = new Map<string, DecodedBlock>();
  private readonly listeners = new Set<StoredListener>();
  private closed = false;

  constructor(
    private readonly db: AppDatabase,
    private readonly bus: EventBus,
    /** Stamps rows and paces the write batches (the LogAggregators of its logs use it too). */
    readonly clock: Clock = systemClock,
  ) {
    this.statusStatements = new PreparedStatements(db.sqlite);
    this.insertBlock = db.sqlite.prepare(
      `INSERT INTO log_blocks (log_id, first_seq, last_seq, line_count, output_count, first_line, byte_start, byte_count, stored_bytes, sealed, created_at, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.deleteChunks = db.sqlite.prepare('DELETE FROM log_blocks WHERE log_id = ? AND sealed = 0 AND last_seq <= ?');
    this.updateCounters = db.sqlite.prepare(
      'UPDATE logs SET line_count = ?, last_sequence = ?, byte_count = ?, partial_output = ?, updated_at = ? WHERE id = ?',
    );
    this.updateCountersOnly = db.sqlite.prepare('UPDATE logs SET line_count = ?, last_sequence = ?, byte_count = ?, updated_at = ? WHERE id = ?');
    this.newestBlocks = db.sqlite.prepare('SELECT id, first_seq, last_seq, sealed, data FROM log_blocks WHERE log_id = ? ORDER BY last_seq DESC');
    this.blocksFrom = db.sqlite.prepare(
      'SELECT id, first_seq, last_seq, sealed, data FROM log_blocks WHERE log_id = ? AND last_seq > ? ORDER BY last_seq',
    );
  }

  /** Called after every commit, once per log written, with its lines just stored (runs in sequence order). */
  onStored(listener: StoredListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A new log for one attempt of a job, in PENDING. */
  async create(opts: { jobId: string; eventId: string | null; serverId: string | null }): Promise<string> {
    const id = newId();
    const at = nowIso(this.clock.now());
    this.statusStatements.get('create', () => "INSERT INTO logs (id, job_id, event_id, server_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'PENDING', ?, ?)")
      .run(id, opts.jobId, opts.eventId, opts.serverId, at, at);
    this.open.set(id, emptyOpenLog('PENDING'));
    await this.emitChanged(id);
    return id;
  }

  /** The last stored-or-buffered sequence number of a log (0 when it has none). */
  lastSequence(logId: string): number {
    return this.state(logId).lastSequence;
  }

  lineCount(logId: string): number {
    return this.state(logId).lineCount;
  }

  /** Buffers one line; its seq must be greater than every earlier one of the log. */
  append(logId: string, line: LogLine): void {
    this.appendBatch(logId, [line]);
  }

  /**
   * Buffers a run of lines at once (a runner batch, the lines of a direct job's chunk): the same as append() line by
   * line, with one order check, one tail update and one backpressure check per MAX_BUFFERED_LINES lines instead of per
   * line. Seqs must
   * ascend and follow the log's last one; otherwise nothing is taken. The store keeps the line objects as they are.
   */
  appendBatch(logId: string, lines: readonly LogLine[]): void {
    if (this.closed || lines.length === 0) return;
    const state = this.state(logId);
    let last = state.lastSequence;
    for (let i = 0; i < lines.length; i++) {
      const seq = lines[i].seq;
      if (seq <= last) throw new AppError('LOG_SEQUENCE_INVALID', `line ${seq} of log ${logId} comes after ${last}; lines must be appended in order`);
      last = seq;
    }
    for (let from = 0; from < lines.length; ) {
      const to = Math.min(lines.length, from + Math.max(1, MAX_BUFFERED_LINES - this.buffered));
      let chars = 0;
      for (let i = from; i < to; i++) {
        const line = lines[i];
        state.openLines.push(line);
        state.openChars += line.text.length;
        chars += line.text.length;
        if (state.openLines.length >= BLOCK_MAX_LINES || state.openChars >= BLOCK_MAX_CHARS) this.seal(state);
      }
      state.lastSequence = lines[to - 1].seq;
      state.lineCount += to - from;
      state.byteCount += chars + (to - from);
      tailAdd(state, lines, from, to, chars + (to - from));
      this.buffered += to - from;
      from = to;
      if (this.buffered >= MAX_BUFFERED_LINES) {
        this.flushAll(undefined, true);
        if (this.buffered >= MAX_BUFFERED_LINES / 2) this.flushAll();
      }
    }
    if (this.buffered > 0 && !this.timer) this.scheduleFlush();
  }

  /** Compresses the open block into a sealed one (written at the next flush) and starts a new open block. */
  private seal(state: OpenLog): void {
    if (state.openLines.length === 0) return;
    const block = encodeLogBlock(state.openLines, true);
    state.sealed.push({ block, firstLine: state.openFirstLine, byteStart: state.openByteStart, lines: state.openLines, from: state.openWritten, fromChars: state.openWrittenChars });
    state.openFirstLine += block.lineCount;
    state.openByteStart += block.textBytes;
    state.openLines = [];
    state.openChars = 0;
    state.openWritten = 0;
    state.openWrittenChars = 0;
  }

  /**
   * Latency first, then throughput: after a quiet spell the next batch is written at the end of this event-loop turn
   * (all chunks that arrived in it together); while output keeps coming, at most one batch per FLUSH_INTERVAL_MS.
   */
  private scheduleFlush(): void {
    const wait = this.lastFlushAt + FLUSH_INTERVAL_MS - this.clock.now();
    const run = () => {
      this.timer = undefined;
      this.flushAll();
    };
    if (wait <= 0) {
      const handle = setImmediate(run);
      this.timer = { cancel: () => clearImmediate(handle) };
    } else {
      this.timer = this.clock.setTimeout(run, wait);
    }
  }

  /**
   * Writes the pending lines of every log (or just `logId`) now: sealed blocks, then the open block's new lines as a
   * chunk row (unless `sealedOnly`, the backpressure path, which leaves open blocks to fill up).
   */
  flushAll(logId?: string, sealedOnly = false): void {
    if (this.closed) return;
    const batches: Array<[string, StoredRuns]> = [];
    const at = nowIso(this.clock.now());
    const write = this.db.sqlite.transaction(() => {
      for (const [id, state] of this.open) {
        if (logId !== undefined && id !== logId) continue;
        if (state.openLines.length === state.openWritten && state.sealed.length === 0) continue;
        const before = state.durableLineCount;
        const runs = this.writePending(id, state, at, sealedOnly);
        if (runs.length === 0) continue;
        // The tail is written when the log has nothing left unwritten, so it is exactly its newest stored lines. A
        // backpressure flush (sealed blocks only, many a second in a flood) skips it: rewriting 64 KB each time was
        // twice the blocks' own bytes in the database's write-ahead log.
        if (state.openLines.length === state.openWritten && state.sealed.length === 0) {
          this.updateCounters.run(state.durableLineCount, state.durableLastSequence, state.durableByteCount, tailText(state), at, id);
        } else this.updateCountersOnly.run(state.durableLineCount, state.durableLastSequence, state.durableByteCount, at, id);
        this.buffered -= state.durableLineCount - before;
        batches.push([id, runs]);
      }
    });
    write();
    if (batches.length > 0) this.lastFlushAt = this.clock.now();
    if (this.buffered <= 0 && this.timer) {
      this.timer.cancel();
      this.timer = undefined;
    }
    for (const [id, runs] of batches) {
      for (const listener of this.listeners) {
        try {
          listener(id, runs);
        } catch (err) {
          console.error('[log-store] a line listener failed:', err);
        }
      }
    }
  }

  /** Inside the flush transaction: writes one log's sealed blocks and open chunk; returns the lines now on disk. */
  private writePending(id: string, state: OpenLog, at: string, sealedOnly: boolean): StoredRuns {
    const parts: LogLine[][] = [];
    let chars = 0;
    if (state.sealed.length > 0) {
      let frontier = state.durableLastSequence;
      for (const { block, firstLine, byteStart, lines, from, fromChars } of state.sealed) {
        this.insertBlock.run(id, block.firstSeq, block.lastSeq, block.lineCount, block.outputCount, firstLine, byteStart, block.textBytes, block.data.length, 1, at, block.data);
        frontier = block.lastSeq;
        // Lines of the block already on disk as chunk rows were handed out then.
        if (from < lines.length) parts.push(from === 0 ? lines : lines.slice(from));
        chars += block.textBytes - (fromChars + from);
      }
      if (state.chunkRows) this.deleteChunks.run(id, frontier);
      state.chunkRows = false;
      state.sealed = [];
    }
    if (!sealedOnly && state.openLines.length > state.openWritten) {
      const fresh = state.openLines.slice(state.openWritten);
      const chunk = encodeLogBlock(fresh, false);
      this.insertBlock.run(
        id, chunk.firstSeq, chunk.lastSeq, chunk.lineCount, chunk.outputCount, state.openFirstLine + state.openWritten,
        state.openByteStart + state.openWrittenChars + state.openWritten, chunk.textBytes, chunk.data.length, 0, at, chunk.data,
      );
      state.openWritten = state.openLines.length;
      state.openWrittenChars = state.openChars;
      state.chunkRows = true;
      parts.push(fresh);
      chars += chunk.textBytes;
    }
    if (parts.length === 0) return parts;
    // In sequence order: the sealed blocks' lines, then the open block's.
    for (const part of parts) state.durableLineCount += part.length;
    state.durableByteCount += chars;
    const newest = parts[parts.length - 1];
    state.durableLastSequence = newest[newest.length - 1].seq;
    return parts;
  }


  /**
   * Moves a log to `status` (checked by the state machine), flushing its lines first. Final statuses record the end
   * time and duration. `reason` is why the attempt ended so (the JobService's finish path sets it, also on a log a
   * runner already moved to that status). Emits 'logs/changed'.
   */
  async setStatus(
    logId: string,
    status: LogStatus,
    extra: {
      exitCode?: number | null;
      reason?: string | null;
      runnerVersion?: string;
      streamStartedAt?: string;
      runnerMetadata?: Record<string, unknown>;
    } = {},
  ): Promise<void> {
    this.flushAll(logId);
    const row = this.statusStatements.get('row', () => 'SELECT * FROM logs WHERE id = ?').get(logId) as Row<'logs'> | undefined;
    if (!row) throw new AppError('LOG_NOT_FOUND', `there is no log ${logId}`);
    const from = row.status as LogStatus;
    if (from === status && extra.runnerMetadata === undefined && extra.runnerVersion === undefined && extra.reason === undefined) return;
    if (from !== status) assertLogTransition(from, status, logId);
    const nowMs = this.clock.now();
    const at = nowIso(nowMs);
    const update: Record<string, unknown> = { status, updated_at: at };
    if ((status === 'RUNNING' || status === 'STREAMING') && !row.started_at) update.started_at = at;
    if (status === 'STREAMING' && !row.stream_started_at) update.stream_started_at = extra.streamStartedAt ?? at;
    if (extra.runnerVersion !== undefined) update.runner_version = extra.runnerVersion;
    if (extra.runnerMetadata !== undefined) update.runner_metadata = JSON.stringify(extra.runnerMetadata);
    if (extra.exitCode !== undefined) update.exit_code = extra.exitCode;
    if (extra.reason !== undefined) update.reason = extra.reason;
    // A same-status update (metadata, reason) keeps the end time the move to that status recorded.
    if (status !== 'RUNNING' && status !== 'STREAMING' && status !== 'PENDING' && (from !== status || !row.finished_at)) {
      update.finished_at = at;
      const started = row.started_at ?? row.created_at;
      update.duration_ms = Math.max(0, nowMs - Date.parse(started));
    }
    const columns = Object.keys(update);
    this.statusStatements.update('logs', columns, 'id = ?').run(...columns.map((c) => update[c]), logId);
    const state = this.open.get(logId);
    const ending = status === 'SUCCESS' || status === 'FAILURE' || status === 'TIMEOUT' || status === 'CANCELLED' || status === 'PARTIAL';
    if (state) state.status = status;
    // A log ended without being in memory (an app restart's reconciliation): its tail may lag its counters by the lines
    // of backpressure flushes before the stop, so it is rebuilt from the stored lines.
    else if (ending && row.line_count > 0) this.rewriteTail(logId);
    // A log that ended, or went PARTIAL (its link was lost and may never come back), is released from memory; a
    // re-attaching runner's next line re-creates its state from the stored row (see state()).
    if (ending) this.release(logId);
    await this.emitChanged(logId);
  }


  /** How many logs hold state in memory (being written, or re-attached): bounded by the logs in progress. */
  get openLogCount(): number {
    return this.open.size;
  }
  /** Writes what the log still has buffered (lines may arrive while setStatus awaits), seals it, and forgets its state. */
  private release(logId: string): void {
    const state = this.open.get(logId);
    if (!state) return;
    this.seal(state);
    this.flushAll(logId);
    this.open.delete(logId);
  }


  async get(logId: string): Promise<LogView> {
    const row = await this.viewQuery().where('logs.id', '=', logId).executeTakeFirst();
    if (!row) throw new AppError('LOG_NOT_FOUND', `there is no log ${logId}; it may have been deleted with its job`);
    return toLogView(row);
  }

  async list(filter: LogListFilter): Promise<{ items: LogView[]; total: number }> {
    // One condition for the page and its total, so the two can never disagree.
    const eb = expressionBuilder<DB, 'logs'>();
    const matches = eb.and([
      ...(filter.status ? [eb('logs.status', '=', filter.status)] : []),
      ...(filter.eventId ? [eb('logs.event_id', '=', filter.eventId)] : []),
      ...(filter.serverId ? [eb('logs.server_id', '=', filter.serverId)] : []),
      ...(filter.from ? [eb('logs.created_at', '>=', filter.from)] : []),
      ...(filter.to ? [eb('logs.created_at', '<=', filter.to)] : []),
    ]);
    const q = this.viewQuery().where(matches);
    const count = this.db.kysely.selectFrom('logs').select(sql<number>`count(*)`.as('n')).where(matches);
    const rows = await q.orderBy('logs.created_at', 'desc').orderBy('logs.id').limit(filter.limit).offset(filter.offset).execute();
    const total = (await count.executeTakeFirst())?.n ?? 0;
    return { items: rows.map(toLogView), total: Number(total) };
  }

  /** The stored status of a log, or undefined when there is no such log. */
  async statusOf(logId: string): Promise<LogStatus | undefined> {
    const row = this.statusStatements.get('status', () => 'SELECT status FROM logs WHERE id = ?').get(logId) as { status: string } | undefined;
    return row?.status as LogStatus | undefined;
  }

  /** The job a log belongs to, or undefined when there is no such log. */
  async jobIdOf(logId: string): Promise<string | undefined> {
    return (await this.db.kysely.selectFrom('logs').select('job_id').where('id', '=', logId).executeTakeFirst())?.job_id;
  }

  /** A job's newest log (its current attempt's), or undefined. */
  latestOfJob(jobId: string): Promise<Row<'logs'> | undefined> {
    return this.db.kysely.selectFrom('logs').selectAll().where('job_id', '=', jobId).orderBy('created_at', 'desc').orderBy(sql`rowid`, 'desc').limit(1).executeTakeFirst();
  }

  /** How many runner lines (stdout and stderr, not the app's own 'system' lines) a log holds; buffered lines count. */
  runnerLineCount(logId: string): number {
    this.flushAll(logId);
    return (this.db.sqlite.prepare('SELECT coalesce(sum(output_count), 0) AS n FROM log_blocks WHERE log_id = ?').get(logId) as { n: number }).n;
  }

  /** Whether the log holds any stdout or stderr line (its buffered lines are flushed first); 'system' lines do not count. */
  hasOutput(logId: string): boolean {
    this.flushAll(logId);
    return this.db.sqlite.prepare('SELECT 1 FROM log_blocks WHERE log_id = ? AND output_count > 0 LIMIT 1').get(logId) !== undefined;
  }

  /** Stored lines with seq > afterSeq (buffered lines are flushed first so a reader never misses any). */
  async lines(logId: string, afterSeq: number, limit: number): Promise<{ lines: LogLine[]; lastSequence: number }> {
    this.flushAll(logId);
    const row = await this.db.kysely.selectFrom('logs').select('last_sequence').where('id', '=', logId).executeTakeFirst();
    if (!row) throw new AppError('LOG_NOT_FOUND', `there is no log ${logId}`);
    const lines: LogLine[] = [];
    for (const block of this.blocksFrom.iterate(logId, afterSeq) as IterableIterator<BlockRow>) {
      const b = this.decode(logId, block);
      // First line of the block after afterSeq (seqs ascend).
      let lo = 0;
      let hi = b.lineCount;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (b.seqs[mid] <= afterSeq) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < b.lineCount && lines.length < limit; i++) lines.push(blockLine(b, i));
      if (lines.length >= limit) break;
    }
    return { lines, lastSequence: row.last_sequence };
  }

  /**
   * Sequence numbers of the lines containing `query`, case-insensitively, in order: a scan of the log's blocks (each
   * decompressed and searched as one string), stopping at `limit` matches.
   */
  async search(logId: string, query: string, limit: number): Promise<{ seqs: number[]; truncated: boolean }> {
    this.flushAll(logId);
    const needle = query.toLowerCase();
    const seqs: number[] = [];
    for (const block of this.blocksFrom.iterate(logId, 0) as IterableIterator<BlockRow>) {
      const b = block.sealed ? decodeLogBlock(block.data) : this.decode(logId, block);
      for (const i of searchBlock(b, needle)) {
        seqs.push(b.seqs[i]);
        if (seqs.length > limit) return { seqs: seqs.slice(0, limit), truncated: true };
      }
    }
    return { seqs, truncated: false };
  }

  /**
   * Removes whole blocks of finished logs (never of a log being written): those older than maxAgeDays, then the
   * oldest until the logs' blocks total at most maxTotalBytes (stored size). An event's own limits replace the
   * defaults for its logs (and its logs then do not count toward the default total). Returns what was removed.
   */
  applyRetention(policy: LogRetentionPolicy): { blocks: number; bytes: number } {
    const now = this.clock.now();
    const perEvent = policy.perEvent ?? {};
    const overridden = Object.keys(perEvent);
    const busy = [...this.open.keys()];
    const removed = { blocks: 0, bytes: 0 };
    const scopes: Array<{ eventId: string | null; limits: LogRetentionLimits }> = [
      { eventId: null, limits: { maxAgeDays: policy.maxAgeDays, maxTotalBytes: policy.maxTotalBytes } },
      ...overridden.map((eventId) => ({
        eventId,
        limits: {
          maxAgeDays: perEvent[eventId].maxAgeDays !== undefined ? perEvent[eventId].maxAgeDays! : policy.maxAgeDays,
          maxTotalBytes: perEvent[eventId].maxTotalBytes !== undefined ? perEvent[eventId].maxTotalBytes! : policy.maxTotalBytes,
        },
      })),
    ];
    const json = (a: string[]) => JSON.stringify(a);
    // Blocks in a scope: those of one event, or (the defaults) those of every event without limits of its own.
    const scopeWhere =
      'log_id IN (SELECT id FROM logs WHERE (CASE WHEN ? IS NULL THEN (event_id IS NULL OR event_id NOT IN (SELECT value FROM json_each(?))) ELSE event_id = ? END))' +
      ' AND log_id NOT IN (SELECT value FROM json_each(?))';
    const run = this.db.sqlite.transaction(() => {
      for (const { eventId, limits } of scopes) {
        const scopeArgs = [eventId, json(overridden), eventId, json(busy)];
        if (limits.maxAgeDays !== null) {
          const cutoff = nowIso(now - limits.maxAgeDays * 86_400_000);
          const r = this.db.sqlite
            .prepare(`SELECT count(*) AS n, coalesce(sum(stored_bytes), 0) AS b FROM log_blocks WHERE created_at < ? AND ${scopeWhere}`)
            .get(cutoff, ...scopeArgs) as { n: number; b: number };
          this.db.sqlite.prepare(`DELETE FROM log_blocks WHERE created_at < ? AND ${scopeWhere}`).run(cutoff, ...scopeArgs);
          removed.blocks += r.n;
          removed.bytes += r.b;
        }
        if (limits.maxTotalBytes !== null) {
          const total = (this.db.sqlite.prepare(`SELECT coalesce(sum(stored_bytes), 0) AS b FROM log_blocks WHERE ${scopeWhere}`).get(...scopeArgs) as { b: number }).b;
          let excess = total - limits.maxTotalBytes;
          if (excess <= 0) continue;
          const oldest = this.db.sqlite.prepare(`SELECT id, stored_bytes FROM log_blocks WHERE ${scopeWhere} ORDER BY created_at, id`);
          const victims: number[] = [];
          for (const r of oldest.iterate(...scopeArgs) as IterableIterator<{ id: number; stored_bytes: number }>) {
            if (excess <= 0) break;
            victims.push(r.id);
            excess -= r.stored_bytes;
            removed.bytes += r.stored_bytes;
          }
          const del = this.db.sqlite.prepare('DELETE FROM log_blocks WHERE id = ?');
          for (const v of victims) del.run(v);
          removed.blocks += victims.length;
        }
      }
    });
    run();
    if (removed.blocks > 0) this.decoded.clear();
    return removed;
  }

  /** Stored size of every log's blocks (what retention's total counts). */
  storedBytes(): number {
    return (this.db.sqlite.prepare('SELECT coalesce(sum(stored_bytes), 0) AS b FROM log_blocks').get() as { b: number }).b;
  }

  /** A decoded block, from a small cache for sealed blocks (they never change; chunk rows are replaced on sealing). */
  private decode(logId: string, row: BlockRow): DecodedBlock {
    if (!row.sealed) return decodeLogBlock(row.data);
    const key = `${row.id}:${logId}:${row.first_seq}`;
    const hit = this.decoded.get(key);
    if (hit) {
      this.decoded.delete(key);
      this.decoded.set(key, hit);
      return hit;
    }
    const b = decodeLogBlock(row.data);
    this.decoded.set(key, b);
    if (this.decoded.size > DECODED_CACHE_BLOCKS) this.decoded.delete(this.decoded.keys().next().value!);
    return b;
  }

  async emitChanged(logId: string): Promise<void> {
    // get()'s SQL for one log (its only parameter is the id), compiled and prepared once.
    const row = this.statusStatements.get('view', () => this.viewQuery().where('logs.id', '=', '').compile().sql).get(logId) as Parameters<typeof toLogView>[0] | undefined;
    if (!row) throw new AppError('LOG_NOT_FOUND', `there is no log ${logId}; it may have been deleted with its job`);
    this.bus.emit('logs/changed', { log: toLogView(row) });
  }

  /** Flushes and seals everything and stops accepting lines (core stop). */
  close(): void {
    for (const state of this.open.values()) this.seal(state);
    this.flushAll();
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private state(logId: string): OpenLog {
    let state = this.open.get(logId);
    if (!state) {
      // A log written by an earlier run of the app (a runner re-attaching): continue from what is stored.
      const row = this.db.sqlite
        .prepare('SELECT status, line_count, last_sequence, byte_count FROM logs WHERE id = ?')
        .get(logId) as Pick<Row<'logs'>, 'status' | 'line_count' | 'last_sequence' | 'byte_count'> | undefined;
      if (!row) throw new AppError('LOG_NOT_FOUND', `there is no log ${logId}`);
      state = emptyOpenLog(row.status as LogStatus);
      state.lineCount = state.durableLineCount = row.line_count;
      state.lastSequence = state.durableLastSequence = row.last_sequence;
      state.byteCount = state.durableByteCount = row.byte_count;
      this.seedTail(logId, state);
      // Chunk rows left by an open block that was never sealed (the app stopped abruptly) stay its open block.
      const chunks = this.db.sqlite
        .prepare('SELECT id, first_seq, last_seq, sealed, data FROM log_blocks WHERE log_id = ? AND sealed = 0 ORDER BY last_seq')
        .all(logId) as BlockRow[];
      for (const chunk of chunks) {
        const b = decodeLogBlock(chunk.data);
        for (let i = 0; i < b.lineCount; i++) {
          const line = blockLine(b, i);
          state.openLines.push(line);
          state.openChars += line.text.length;
        }
      }
      state.openWritten = state.openLines.length;
      state.openWrittenChars = state.openChars;
      state.chunkRows = chunks.length > 0;
      state.openFirstLine = state.lineCount - state.openLines.length;
      state.openByteStart = state.byteCount - state.openChars - state.openLines.length;
      this.open.set(logId, state);
    }
    return state;
  }


  /** Writes partial_output from a log's stored lines (a log not in memory: state() reads them), leaving it out of memory. */
  private rewriteTail(logId: string): void {
    const tail = tailText(this.state(logId));
    this.open.delete(logId);
    this.statusStatements.get('tail', () => 'UPDATE logs SET partial_output = ? WHERE id = ?').run(tail, logId);
  }

  /**
   * A re-attached log's tail: its newest stored lines (partial_output may lag the counters by the lines of backpressure
   * flushes, if the app stopped between two full flushes), read from the newest blocks back.
   */
  private seedTail(logId: string, state: OpenLog): void {
    const newestFirst: Array<{ lines: LogLine[]; chars: number }> = [];
    let total = 0;
    for (const block of this.newestBlocks.iterate(logId) as IterableIterator<BlockRow>) {
      const b = decodeLogBlock(block.data);
      const lines: LogLine[] = new Array(b.lineCount);
      let chars = 0;
      for (let i = 0; i < b.lineCount; i++) {
        lines[i] = blockLine(b, i);
        chars += lines[i].text.length + 1;
      }
      newestFirst.push({ lines, chars });
      total += chars;
      if (total >= PARTIAL_TAIL_CHARS) break;
    }
    for (let r = newestFirst.length - 1; r >= 0; r--) tailAdd(state, newestFirst[r].lines, 0, newestFirst[r].lines.length, newestFirst[r].chars);
  }

  private viewQuery() {
    return this.db.kysely
      .selectFrom('logs')
      .leftJoin('jobs', 'jobs.id', 'logs.job_id')
      .leftJoin('events', 'events.id', 'logs.event_id')
      .leftJoin('servers', 'servers.id', 'logs.server_id')
      .select([
        'logs.id', 'logs.job_id', 'logs.event_id', 'logs.server_id', 'logs.status', 'logs.line_count', 'logs.last_sequence',
        'logs.exit_code', 'logs.started_at', 'logs.finished_at', 'logs.duration_ms', 'logs.runner_version',
        'logs.stream_started_at', 'logs.runner_metadata', 'logs.reason', 'logs.created_at',
        'events.name as event_name', 'servers.name as server_name', 'jobs.execution_mode as job_mode',
      ]);
  }
}

/**
 * The partial_output tail is kept as runs of lines: a long batch's lines by reference (no per-line work), the lines of
 * short batches (SHORT_TAIL_BATCH lines or fewer: live output often comes a line a chunk) copied into an array of the
 * store's own, so a run object is never made per line. Whole runs drop out once the newer ones hold
 * PARTIAL_TAIL_CHARS; an own run also drops its oldest lines one by one. tailText() then cuts exactly what append()
 * line by line always kept: the longest run of newest lines within PARTIAL_TAIL_CHARS (at least one line).
 */
const SHORT_TAIL_BATCH = 16;

interface TailRun {
  lines: readonly LogLine[];
  from: number;
  to: number;
  /** Characters of lines[from, to) plus one newline each. */
  chars: number;
  own: boolean;
}

function tailAdd(state: OpenLog, lines: readonly LogLine[], from: number, to: number, chars: number): void {
  if (to - from <= SHORT_TAIL_BATCH) {
    for (let i = from; i < to; i++) tailAddOne(state, lines[i]);
    return;
  }
  state.tail.push({ lines, from, to, chars, own: false });
  state.tailChars += chars;
  trimTail(state);
}

function tailAddOne(state: OpenLog, line: LogLine): void {
  const size = line.text.length + 1;
  const last = state.tail[state.tail.length - 1];
  if (last?.own && last.to === last.lines.length) {
    (last.lines as LogLine[]).push(line);
    last.to++;
    last.chars += size;
  } else state.tail.push({ lines: [line], from: 0, to: 1, chars: size, own: true });
  state.tailChars += size;
  trimTail(state);
}

function trimTail(state: OpenLog): void {
  const runs = state.tail;
  while (runs.length > 1 && state.tailChars - runs[0].chars >= PARTIAL_TAIL_CHARS) state.tailChars -= runs.shift()!.chars;
  const first = runs[0];
  if (!first?.own) return;
  while (first.to - first.from > 1) {
    const size = first.lines[first.from].text.length + 1;
    if (state.tailChars - size < PARTIAL_TAIL_CHARS) break;
    state.tailChars -= size;
    first.chars -= size;
    first.from++;
  }
  if (first.from > 4096) {
    first.lines = first.lines.slice(first.from, first.to);
    first.to -= first.from;
    first.from = 0;
  }
}

/** The newest lines within PARTIAL_TAIL_CHARS (at least one), joined by newlines. */
function tailText(state: OpenLog): string {
  const runs = state.tail;
  if (runs.length === 0) return '';
  // Where the tail starts (run r, line i), walking back from the newest line; then its texts, oldest first.
  let r = runs.length - 1;
  let i = runs[r].to - 1;
  let chars = runs[r].lines[i].text.length + 1;
  for (;;) {
    if (i > runs[r].from) {
      const size = runs[r].lines[i - 1].text.length + 1;
      if (chars + size > PARTIAL_TAIL_CHARS) break;
      chars += size;
      i--;
    } else if (r > 0 && runs[r - 1].to > runs[r - 1].from) {
      const prev = runs[r - 1];
      const size = prev.lines[prev.to - 1].text.length + 1;
      if (chars + size > PARTIAL_TAIL_CHARS) break;
      chars += size;
      r--;
      i = prev.to - 1;
    } else break;
  }
  const texts: string[] = [];
  for (let k = r; k < runs.length; k++) {
    const run = runs[k];
    for (let j = k === r ? i : run.from; j < run.to; j++) texts.push(run.lines[j].text);
  }
  return texts.join('\n');
}

function emptyOpenLog(status: LogStatus): OpenLog {
  return {
    status,
    lastSequence: 0,
    lineCount: 0,
    byteCount: 0,
    durableLastSequence: 0,
    durableLineCount: 0,
    durableByteCount: 0,
    openLines: [],
    openChars: 0,
    openWritten: 0,
    openWrittenChars: 0,
    openFirstLine: 0,
    openByteStart: 0,
    sealed: [],
    chunkRows: false,
    tail: [],
    tailChars: 0,
  };
}

interface LogViewRow {
  id: string;
  job_id: string;
  event_id: string | null;
  server_id: string | null;
  status: string;
  line_count: number;
  last_sequence: number;
  exit_code: number | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  runner_version: string | null;
  stream_started_at: string | null;
  runner_metadata: string | null;
  reason: string | null;
  created_at: string;
  event_name: string | null;
  server_name: string | null;
  job_mode: string | null;
}

function toLogView(r: LogViewRow): LogView {
  let metadata: Record<string, unknown> | null = null;
  if (r.runner_metadata) {
    try {
      metadata = JSON.parse(r.runner_metadata) as Record<string, unknown>;
    } catch {
      metadata = null;
    }
  }
  return {
    id: r.id,
    jobId: r.job_id,
    eventId: r.event_id,
    eventName: r.event_name,
    serverId: r.server_id,
    serverName: r.server_name,
    status: r.status as LogStatus,
    executionMode: (r.job_mode as ExecutionMode | null) ?? null,
    lineCount: r.line_count,
    lastSequence: r.last_sequence,
    exitCode: r.exit_code,
    reason: r.reason,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.duration_ms,
    runnerVersion: r.runner_version,
    streamStartedAt: r.stream_started_at,
    runnerMetadata: metadata,
    createdAt: r.created_at,
  };
}
