/**
 * JobStore: the one holder of the `jobs` table's SQL (the job half of the job + log aggregate; the log rows and lines
 * are LogStore's). Every status change goes through move(), which checks the job state machine and writes only when
 * the row still has the status it was read with, so a bypass or a race is refused with JOB_STATE_INVALID.
 * It emits nothing and decides nothing: the JobService records through it, other modules read through it.
 */
import { sql } from 'kysely';
import type { AppDatabase } from '../db/database';
import { PreparedStatements } from '../db/prepared';
import { nowIso } from '../db/ids';
import type { Row } from '../db/schema';
import { AppError } from '../errors';
import { assertJobTransition } from './job-state-machine';
import type { JobStatus, JobView } from '../../../src-shared/contract/jobs';
import type { ExecutionMode } from '../../../src-shared/contract/settings';

export type JobRow = Row<'jobs'>;
export type JobRowPatch = Partial<Omit<JobRow, 'id' | 'status'>>;

export interface JobListFilter {
  status?: JobStatus;
  eventId?: string;
  serverId?: string;
  workflowRunId?: string;
  /** The jobs of one event run (event_runs). */
  runId?: string;
  limit?: number;
}

export class JobStore {
  /** The hot reads and writes (every status move reads the row, writes it, then reads the view it pushes). */
  private readonly prepared: PreparedStatements;

  constructor(
    private readonly db: AppDatabase,
    private readonly now: () => number,
  ) {
    this.prepared = new PreparedStatements(db.sqlite);
  }

  async row(jobId: string): Promise<JobRow> {
    const row = await this.find(jobId);
    if (!row) throw new AppError('JOB_NOT_FOUND', `there is no job ${jobId}`);
    return row;
  }

  find(jobId: string): Promise<JobRow | undefined> {
    return Promise.resolve(this.prepared.get('find', () => 'SELECT * FROM jobs WHERE id = ?').get(jobId) as JobRow | undefined);
  }

  async idByIdempotencyKey(key: string): Promise<string | undefined> {
    return (await this.db.kysely.selectFrom('jobs').select('id').where('idempotency_key', '=', key).executeTakeFirst())?.id;
  }

  /** A new job in QUEUED (the only status a job is created with). */
  async insertQueued(values: Omit<JobRow, 'status'>): Promise<void> {
    const row: Record<string, unknown> = { ...values, status: 'QUEUED' };
    const columns = Object.keys(row).filter((k) => row[k] !== undefined);
    this.prepared.insert('jobs', columns).run(...columns.map((k) => row[k]));
  }

  /** Jobs a crash may have left unfinished. */
  unfinished(): Promise<JobRow[]> {
    return this.db.kysely.selectFrom('jobs').selectAll().where('status', 'in', ['QUEUED', 'DISPATCHING', 'RUNNING']).execute();
  }

  /** The one writer of jobs.status: checks the state machine, writes only from the status read. Returns the old status. */
  async move(jobId: string, to: JobStatus, set: JobRowPatch): Promise<JobStatus> {
    const row = await this.row(jobId);
    const from = row.status as JobStatus;
    assertJobTransition(from, to, jobId);
    const values: Record<string, unknown> = { ...set, status: to, updated_at: nowIso(this.now()) };
    const columns = Object.keys(values).filter((k) => values[k] !== undefined);
    const result = this.prepared.update('jobs', columns, 'id = ? AND status = ?').run(...columns.map((k) => values[k]), jobId, from);
    if (result.changes !== 1) {
      const current = await this.row(jobId);
      throw new AppError('JOB_STATE_INVALID', `job ${jobId} changed to ${current.status} while it was being moved from ${from} to ${to}`);
    }
    return from;
  }

  /** The mode an attempt runs with, and why it is not the one asked for (the execution service decides both). */
  async recordMode(jobId: string, mode: 'direct-ssh' | 'runner-ssh', fallbackReason: string | null): Promise<void> {
    this.prepared.get('mode', () => 'UPDATE jobs SET execution_mode = ?, fallback_reason = ?, updated_at = ? WHERE id = ?').run(mode, fallbackReason, nowIso(this.now()), jobId);
  }

  async requestedMode(jobId: string): Promise<ExecutionMode | null> {
    const row = await this.db.kysely.selectFrom('jobs').select('requested_mode').where('id', '=', jobId).executeTakeFirst();
    return (row?.requested_mode as ExecutionMode | null | undefined) ?? null;
  }

  /** Jobs keep their payload_id for history; it is cleared when the payload row is removed. */
  async clearPayload(payloadId: string): Promise<void> {
    await this.db.kysely.updateTable('jobs').set({ payload_id: null }).where('payload_id', '=', payloadId).execute();
  }

  async view(jobId: string): Promise<JobView | undefined> {
    // viewQuery()'s SQL for one job (its only parameter is the id), compiled and prepared once (see find()).
    const row = this.prepared.get('view', () => this.viewQuery().where('jobs.id', '=', '').compile().sql).get(jobId) as JobViewRow | undefined;
    return row ? toJobView(row) : undefined;
  }

  /**
   * Jobs by filter, newest first. Each filter shape's SQL (viewQuery() with its conditions) is compiled and prepared
   * once: the notifications ask for an event's recent jobs on every success of a fleet run.
   */
  async list(filter: JobListFilter = {}): Promise<JobView[]> {
    const conditions: Array<[ListColumn, string]> = [];
    if (filter.status) conditions.push(['jobs.status', filter.status]);
    if (filter.eventId) conditions.push(['jobs.event_id', filter.eventId]);
    if (filter.serverId) conditions.push(['jobs.server_id', filter.serverId]);
    if (filter.workflowRunId) conditions.push(['jobs.workflow_run_id', filter.workflowRunId]);
    if (filter.runId) conditions.push(['jobs.run_id', filter.runId]);
    const shape = conditions.map(([column]) => column).join(',');
    const statement = this.prepared.get(`list:${shape}`, () => {
      let q = this.viewQuery();
      for (const [column] of conditions) q = q.where(column, '=', '');
      // Parameters: the conditions' values in this order, then the limit.
      return q.orderBy('jobs.created_at', 'desc').orderBy('jobs.id').limit(0).compile().sql;
    });
    const rows = statement.all(...conditions.map(([, value]) => value), filter.limit ?? 100) as JobViewRow[];
    return rows.map(toJobView);
  }

  private viewQuery() {
    return this.db.kysely
      .selectFrom('jobs')
      .leftJoin('events', 'events.id', 'jobs.event_id')
      .leftJoin('servers', 'servers.id', 'jobs.server_id')
      .selectAll('jobs')
      .select([
        'events.name as event_name',
        'servers.name as server_name',
        sql<string | null>`(SELECT l.id FROM logs l WHERE l.job_id = jobs.id ORDER BY l.created_at DESC, l.rowid DESC LIMIT 1)`.as('log_id'),
      ]);
  }
}

type ListColumn = 'jobs.status' | 'jobs.event_id' | 'jobs.server_id' | 'jobs.workflow_run_id' | 'jobs.run_id';
type JobViewRow = JobRow & { event_name: string | null; server_name: string | null; log_id: string | null };

function toJobView(r: JobViewRow): JobView {
  let output: unknown = undefined;
  if (r.output !== null) {
    try {
      output = JSON.parse(r.output);
    } catch {
      output = r.output;
    }
  }
  const started = r.started_at ? Date.parse(r.started_at) : null;
  const finished = r.finished_at ? Date.parse(r.finished_at) : null;
  return {
    id: r.id,
    eventId: r.event_id,
    eventName: r.event_name,
    eventVersion: r.event_version,
    serverId: r.server_id,
    serverName: r.server_name,
    workflowRunId: r.workflow_run_id,
    runId: r.run_id ?? null,
    status: r.status as JobStatus,
    trigger: r.trigger as JobView['trigger'],
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    exitCode: r.exit_code,
    signal: r.signal,
    reason: r.reason,
    requestedMode: (r.requested_mode as ExecutionMode | null) ?? null,
    executionMode: (r.execution_mode as ExecutionMode | null) ?? null,
    fallbackReason: r.fallback_reason,
    logId: r.log_id,
    ...(output !== undefined ? { output } : {}),
    condition: r.condition === null ? null : r.condition === 1,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: started !== null && finished !== null ? Math.max(0, finished - started) : null,
    ...(r.fired_on_server === 1 ? { firedOnServer: true } : {}),
  };
}

// --- reads for other modules' views (added by "flow" for the no-SQL-outside-stores rule) --------------------------

/** An event's newest job, for its view; jobs of one run (one per server) share created_at, so the last inserted wins. */
export function lastJobOfEvent(db: AppDatabase, eventId: string): Promise<{ id: string; status: string; created_at: string } | undefined> {
  return db.kysely
    .selectFrom('jobs')
    .select(['id', 'status', 'created_at'])
    .where('event_id', '=', eventId)
    .orderBy('created_at', 'desc')
    .orderBy(sql`rowid`, 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** The Dashboard's job counts: jobs not yet ended by status, and jobs that finished at or after `sinceIso` by status. */
export async function jobCountsByStatus(db: AppDatabase, sinceIso: string): Promise<{ live: Map<string, number>; finished: Map<string, number> }> {
  const count = (rows: Array<{ key: string; n: number | string | bigint }>) => new Map(rows.map((r) => [r.key, Number(r.n)]));
  const [live, finished] = await Promise.all([
    db.kysely.selectFrom('jobs')
      .select(['status as key', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', ['QUEUED', 'DISPATCHING', 'RUNNING'])
      .groupBy('status')
      .execute(),
    db.kysely.selectFrom('jobs')
      .select(['status as key', (eb) => eb.fn.countAll<number>().as('n')])
      .where('finished_at', '>=', sinceIso)
      .groupBy('status')
      .execute(),
  ]);
  return { live: count(live), finished: count(finished) };
}
