/**
 * LogStore: owns the `logs` and `log_lines` rows. Lines are buffered and written in batches (one prepared statement
 * inside one transaction, every FLUSH_INTERVAL_MS or when the buffer is full), together with the log's counters and
 * its bounded `partial_output` tail. A full buffer is flushed synchronously, which blocks the event loop until the
 * batch is on disk: that is the backpressure that keeps memory bounded however fast a job prints (the SSH channel's
 * window is not replenished meanwhile). It never masks or interprets text (LogSinkImpl does) and moves a log's
 * status only through the job state machine.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { expressionBuilder, sql } from 'kysely';
import { systemClock, type Clock } from '../clock';
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import type { DB, Row } from '../db/schema';
import type { EventBus } from '../event-bus';
import { AppError } from '../errors';
import { assertLogTransition } from '../jobs/job-state-machine';
import type { LogLine, LogStatus, LogView } from '../../../src-shared/contract/logs';
import type { ExecutionMode } from '../../../src-shared/contract/settings';

export const FLUSH_INTERVAL_MS = 50;
/** Lines buffered (across all logs) before a synchronous flush. */
export const MAX_BUFFERED_LINES = 5000;
/** Characters of the newest output kept in logs.partial_output. */
export const PARTIAL_TAIL_CHARS = 64 * 1024;
/** Rows per INSERT statement: one native call per row costs about twice as much as one per ROWS_PER_INSERT rows. */
const ROWS_PER_INSERT = 100;

export interface LogListFilter {
  status?: LogStatus;
  eventId?: string;
  serverId?: string;
  from?: string;
  to?: string;
  limit: number;
  offset: number;
}

interface OpenLog {
  lastSequence: number;
  lineCount: number;
  byteCount: number;
  buffer: LogLine[];
  tail: string[];
  tailStart: number;
  tailChars: number;
  status: LogStatus;
}

type StoredListener = (logId: string, lines: LogLine[]) => void;

export class LogStore {
  private readonly open = new Map<string, OpenLog>();
  private buffered = 0;
  private timer: { cancel(): void } | undefined;
  /** When the last batch was written (clock ms); the first line after a quiet spell is written at once. */
  private lastFlushAt = 0;
  private readonly insertLine: BetterSqlite3.Statement;
  private readonly insertLines: BetterSqlite3.Statement;
  private readonly updateCounters: BetterSqlite3.Statement;
  private readonly listeners = new Set<StoredListener>();
  private closed = false;

  constructor(
    private readonly db: AppDatabase,
    private readonly bus: EventBus,
    /** Stamps rows and paces the write batches (the LogAggregators of its logs use it too). */
    readonly clock: Clock = systemClock,
  ) {
    this.insertLine = db.sqlite.prepare('INSERT INTO log_lines (log_id, seq, stream, ts, text) VALUES (?, ?, ?, ?, ?)');
    this.insertLines = db.sqlite.prepare(
      `INSERT INTO log_lines (log_id, seq, stream, ts, text) VALUES ${new Array(ROWS_PER_INSERT).fill('(?, ?, ?, ?, ?)').join(', ')}`,
    );
    this.updateCounters = db.sqlite.prepare(
      'UPDATE logs SET line_count = ?, last_sequence = ?, byte_count = ?, partial_output = ?, updated_at = ? WHERE id = ?',
    );
  }

  /** Called after every committed batch with the lines just stored, in sequence order. */
  onStored(listener: StoredListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A new log for one attempt of a job, in PENDING. */
  async create(opts: { jobId: string; eventId: string | null; serverId: string | null }): Promise<string> {
    const id = newId();
    const at = nowIso(this.clock.now());
    await this.db.kysely
      .insertInto('logs')
      .values({ id, job_id: opts.jobId, event_id: opts.eventId, server_id: opts.serverId, status: 'PENDING', created_at: at, updated_at: at })
      .execute();
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
    if (this.closed) return;
    const state = this.state(logId);
    if (line.seq <= state.lastSequence) {
      throw new AppError('LOG_SEQUENCE_INVALID', `line ${line.seq} of log ${logId} comes after ${state.lastSequence}; lines must be appended in order`);
    }
    state.buffer.push(line);
    state.lastSequence = line.seq;
    state.lineCount++;
    state.byteCount += line.text.length + 1;
    state.tail.push(line.text);
    state.tailChars += line.text.length + 1;
    while (state.tailChars > PARTIAL_TAIL_CHARS && state.tail.length - state.tailStart > 1) {
      state.tailChars -= state.tail[state.tailStart].length + 1;
      state.tail[state.tailStart++] = '';
    }
    if (state.tailStart > 4096) {
      state.tail = state.tail.slice(state.tailStart);
      state.tailStart = 0;
    }
    if (++this.buffered >= MAX_BUFFERED_LINES) this.flushAll();
    else if (!this.timer) this.scheduleFlush();
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

  /** Writes the buffered lines of every log (or just `logId`) now. */
  flushAll(logId?: string): void {
    if (this.closed) return;
    const batches: Array<[string, LogLine[]]> = [];
    const at = nowIso(this.clock.now());
    const write = this.db.sqlite.transaction(() => {
      for (const [id, state] of this.open) {
        if (logId !== undefined && id !== logId) continue;
        if (state.buffer.length === 0) continue;
        const lines = state.buffer;
        state.buffer = [];
        let i = 0;
        const args: unknown[] = new Array(ROWS_PER_INSERT * 5);
        for (; i + ROWS_PER_INSERT <= lines.length; i += ROWS_PER_INSERT) {
          for (let k = 0; k < ROWS_PER_INSERT; k++) {
            const l = lines[i + k];
            const o = k * 5;
            args[o] = id;
            args[o + 1] = l.seq;
            args[o + 2] = l.stream;
            args[o + 3] = l.ts;
            args[o + 4] = l.text;
          }
          this.insertLines.run(args);
        }
        for (; i < lines.length; i++) this.insertLine.run(id, lines[i].seq, lines[i].stream, lines[i].ts, lines[i].text);
        const tail = state.tail.slice(state.tailStart).join('\n');
        this.updateCounters.run(state.lineCount, state.lastSequence, state.byteCount, tail, at, id);
        this.buffered -= lines.length;
        batches.push([id, lines]);
      }
    });
    write();
    if (batches.length > 0) this.lastFlushAt = this.clock.now();
    if (this.buffered <= 0 && this.timer) {
      this.timer.cancel();
      this.timer = undefined;
    }
    for (const [id, lines] of batches) {
      for (const listener of this.listeners) {
        try {
          listener(id, lines);
        } catch (err) {
          console.error('[log-store] a line listener failed:', err);
        }
      }
    }
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
    const row = await this.db.kysely.selectFrom('logs').selectAll().where('id', '=', logId).executeTakeFirst();
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
    await this.db.kysely.updateTable('logs').set(update).where('id', '=', logId).execute();
    const state = this.open.get(logId);
    if (state) state.status = status;
    // A log that ended, or went PARTIAL (its link was lost and may never come back), is released from memory; a
    // re-attaching runner's next line re-creates its state from the stored row (see state()).
    if (status === 'SUCCESS' || status === 'FAILURE' || status === 'TIMEOUT' || status === 'CANCELLED' || status === 'PARTIAL') this.release(logId);
    await this.emitChanged(logId);
  }

  /** How many logs hold state in memory (being written, or re-attached): bounded by the logs in progress. */
  get openLogCount(): number {
    return this.open.size;
  }

  /** Writes what the log still has buffered (lines may arrive while setStatus awaits) and forgets its state. */
  private release(logId: string): void {
    if (!this.open.has(logId)) return;
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
    const row = await this.db.kysely.selectFrom('logs').select('status').where('id', '=', logId).executeTakeFirst();
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
    return (this.db.sqlite.prepare("SELECT count(*) AS n FROM log_lines WHERE log_id = ? AND stream != 'system'").get(logId) as { n: number }).n;
  }

  /** Whether the log holds any stdout or stderr line (its buffered lines are flushed first); 'system' lines do not count. */
  hasOutput(logId: string): boolean {
    this.flushAll(logId);
    return this.db.sqlite.prepare("SELECT 1 FROM log_lines WHERE log_id = ? AND stream <> 'system' LIMIT 1").get(logId) !== undefined;
  }

  /** Stored lines with seq > afterSeq (buffered lines are flushed first so a reader never misses any). */
  async lines(logId: string, afterSeq: number, limit: number): Promise<{ lines: LogLine[]; lastSequence: number }> {
    this.flushAll(logId);
    const row = await this.db.kysely.selectFrom('logs').select('last_sequence').where('id', '=', logId).executeTakeFirst();
    if (!row) throw new AppError('LOG_NOT_FOUND', `there is no log ${logId}`);
    const lines = this.db.sqlite
      .prepare('SELECT seq, stream, ts, text FROM log_lines WHERE log_id = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(logId, afterSeq, limit) as LogLine[];
    return { lines, lastSequence: row.last_sequence };
  }

  async search(logId: string, query: string, limit: number): Promise<{ seqs: number[]; truncated: boolean }> {
    this.flushAll(logId);
    const rows = this.db.sqlite
      .prepare('SELECT seq FROM log_lines WHERE log_id = ? AND instr(lower(text), lower(?)) > 0 ORDER BY seq LIMIT ?')
      .all(logId, query, limit + 1) as Array<{ seq: number }>;
    const truncated = rows.length > limit;
    return { seqs: rows.slice(0, limit).map((r) => r.seq), truncated };
  }

  async emitChanged(logId: string): Promise<void> {
    this.bus.emit('logs/changed', { log: await this.get(logId) });
  }

  /** Flushes everything and stops accepting lines (core stop). */
  close(): void {
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
        .prepare('SELECT status, line_count, last_sequence, byte_count, partial_output FROM logs WHERE id = ?')
        .get(logId) as Pick<Row<'logs'>, 'status' | 'line_count' | 'last_sequence' | 'byte_count' | 'partial_output'> | undefined;
      if (!row) throw new AppError('LOG_NOT_FOUND', `there is no log ${logId}`);
      state = emptyOpenLog(row.status as LogStatus);
      state.lineCount = row.line_count;
      state.lastSequence = row.last_sequence;
      state.byteCount = row.byte_count;
      if (row.partial_output) {
        state.tail = [row.partial_output];
        state.tailChars = row.partial_output.length + 1;
      }
      this.open.set(logId, state);
    }
    return state;
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

function emptyOpenLog(status: LogStatus): OpenLog {
  return { lastSequence: 0, lineCount: 0, byteCount: 0, buffer: [], tail: [], tailStart: 0, tailChars: 0, status };
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
