/**
 * FireStore: the scheduler's memory of which scheduled times were handled (fired, queued, skipped), so a restart or a
 * second instance never runs the same time twice. claim() is the one gate: an insert on the UNIQUE idempotency key.
 * It records outcomes only; it never decides policy and never starts a job.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { FireOutcome, FireRecord } from '../../../src-shared/contract/schedule';
import { newId } from '../db/ids';
import type { AppDatabase } from '../db/database';
import { parseJsonColumn } from '../db/json-column';

export type OwnerKind = FireRecord['ownerKind'];

export interface FireStore {
  /** Records `rec` if its idempotency key is new; false means this scheduled time was already handled. Atomic. */
  claim(rec: FireRecord): Promise<boolean>;
  /** 'queued' -> 'fired' for a queued fire that may start now; false if it was no longer queued (another instance took it). */
  promoteQueued(idempotencyKey: string, firedAt: string, reason: string): Promise<boolean>;
  /** Completes a claimed fire with what the dispatch produced (job ids, or why it failed). */
  complete(idempotencyKey: string, jobIds: string[], reason?: string): Promise<void>;
  /** The latest scheduled time with any record for the owner: where catching up after downtime starts. */
  lastFire(kind: OwnerKind, id: string): Promise<Date | null>;
  /** How many runs were actually fired (what maxRuns counts). */
  countFired(kind: OwnerKind, id: string): Promise<number>;
  /** Fires still waiting in the overlap queue (outcome 'queued'), oldest first. */
  queued(kind: OwnerKind, id: string): Promise<FireRecord[]>;
  /** The owner's history, newest first. */
  history(kind: OwnerKind, id: string, limit: number): Promise<FireRecord[]>;
}

export function idempotencyKeyFor(kind: OwnerKind, id: string, scheduledForMs: number): string {
  return `${kind}:${id}:${new Date(scheduledForMs).toISOString()}`;
}

/** For unit tests of the scheduler's policies; the app uses SqliteFireStore. */
export class MemoryFireStore implements FireStore {
  private readonly byKey = new Map<string, FireRecord>();

  async claim(rec: FireRecord): Promise<boolean> {
    if (this.byKey.has(rec.idempotencyKey)) return false;
    this.byKey.set(rec.idempotencyKey, { ...rec, jobIds: [...rec.jobIds] });
    return true;
  }
  async promoteQueued(key: string, firedAt: string, reason: string): Promise<boolean> {
    const rec = this.byKey.get(key);
    if (!rec || rec.outcome !== 'queued') return false;
    this.byKey.set(key, { ...rec, outcome: 'fired', firedAt, reason });
    return true;
  }
  async complete(key: string, jobIds: string[], reason?: string): Promise<void> {
    const rec = this.byKey.get(key);
    if (rec) this.byKey.set(key, { ...rec, jobIds: [...jobIds], ...(reason === undefined ? {} : { reason }) });
  }
  async lastFire(kind: OwnerKind, id: string): Promise<Date | null> {
    let last: string | null = null;
    for (const r of this.of(kind, id)) if (last === null || r.scheduledFor > last) last = r.scheduledFor;
    return last === null ? null : new Date(last);
  }
  async countFired(kind: OwnerKind, id: string): Promise<number> {
    return this.of(kind, id).filter((r) => r.outcome === 'fired').length;
  }
  async queued(kind: OwnerKind, id: string): Promise<FireRecord[]> {
    return this.sorted(this.of(kind, id).filter((r) => r.outcome === 'queued'));
  }
  async history(kind: OwnerKind, id: string, limit: number): Promise<FireRecord[]> {
    return this.sorted(this.of(kind, id)).reverse().slice(0, limit);
  }
  /** Every record, oldest scheduled time first (tests read it). */
  all(): FireRecord[] {
    return this.sorted([...this.byKey.values()]);
  }

  private of(kind: OwnerKind, id: string): FireRecord[] {
    return [...this.byKey.values()].filter((r) => r.ownerKind === kind && r.ownerId === id);
  }
  private sorted(recs: FireRecord[]): FireRecord[] {
    return recs.sort((a, b) => (a.scheduledFor < b.scheduledFor ? -1 : a.scheduledFor > b.scheduledFor ? 1 : 0));
  }
}

interface FireRow {
  owner_kind: OwnerKind;
  owner_id: string;
  scheduled_for: string;
  idempotency_key: string;
  outcome: string;
  reason: string | null;
  job_ids: string | null;
  fired_at: string;
}

function toRecord(row: FireRow): FireRecord {
  const rec: FireRecord = {
    ownerKind: row.owner_kind,
    ownerId: row.owner_id,
    scheduledFor: row.scheduled_for,
    idempotencyKey: row.idempotency_key,
    outcome: row.outcome as FireOutcome,
    jobIds: row.job_ids ? (JSON.parse(row.job_ids) as string[]) : [],
    firedAt: row.fired_at,
  };
  if (row.reason !== null) rec.reason = row.reason;
  return rec;
}

/**
 * The schedule_fires table through prepared statements on the raw better-sqlite3 handle: the scheduler's hot path is
 * one insert per fire, and INSERT ... ON CONFLICT DO NOTHING on the UNIQUE key is what makes claim() atomic across
 * connections and processes.
 */
export class SqliteFireStore implements FireStore {
  private readonly insert: BetterSqlite3.Statement;
  private readonly promote: BetterSqlite3.Statement;
  private readonly completeStmt: BetterSqlite3.Statement;
  private readonly lastStmt: BetterSqlite3.Statement;
  private readonly countStmt: BetterSqlite3.Statement;
  private readonly queuedStmt: BetterSqlite3.Statement;
  private readonly historyStmt: BetterSqlite3.Statement;
  private readonly jobIdsStmt: BetterSqlite3.Statement;

  constructor(db: { sqlite: BetterSqlite3.Database }) {
    const sqlite = db.sqlite;
    this.insert = sqlite.prepare(
      `INSERT INTO schedule_fires (id, owner_kind, owner_id, scheduled_for, idempotency_key, outcome, reason, job_ids, fired_at)
       VALUES (@id, @owner_kind, @owner_id, @scheduled_for, @idempotency_key, @outcome, @reason, @job_ids, @fired_at)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    );
    this.promote = sqlite.prepare(
      `UPDATE schedule_fires SET outcome = 'fired', fired_at = ?, reason = ? WHERE idempotency_key = ? AND outcome = 'queued'`,
    );
    this.completeStmt = sqlite.prepare(
      `UPDATE schedule_fires SET job_ids = ?, reason = COALESCE(?, reason) WHERE idempotency_key = ?`,
    );
    this.lastStmt = sqlite.prepare(
      `SELECT MAX(scheduled_for) AS last FROM schedule_fires WHERE owner_kind = ? AND owner_id = ?`,
    );
    this.countStmt = sqlite.prepare(
      `SELECT COUNT(*) AS n FROM schedule_fires WHERE owner_kind = ? AND owner_id = ? AND outcome = 'fired'`,
    );
    this.queuedStmt = sqlite.prepare(
      `SELECT * FROM schedule_fires WHERE owner_kind = ? AND owner_id = ? AND outcome = 'queued' ORDER BY scheduled_for`,
    );
    this.jobIdsStmt = sqlite.prepare(`SELECT job_ids FROM schedule_fires WHERE idempotency_key = ?`);
    this.historyStmt = sqlite.prepare(
      `SELECT * FROM schedule_fires WHERE owner_kind = ? AND owner_id = ? ORDER BY scheduled_for DESC, fired_at DESC LIMIT ?`,
    );
  }

  async claim(rec: FireRecord): Promise<boolean> {
    const info = this.insert.run({
      id: newId(),
      owner_kind: rec.ownerKind,
      owner_id: rec.ownerId,
      scheduled_for: rec.scheduledFor,
      idempotency_key: rec.idempotencyKey,
      outcome: rec.outcome,
      reason: rec.reason ?? null,
      job_ids: JSON.stringify(rec.jobIds),
      fired_at: rec.firedAt,
    });
    return info.changes === 1;
  }
  async promoteQueued(key: string, firedAt: string, reason: string): Promise<boolean> {
    return this.promote.run(firedAt, reason, key).changes === 1;
  }
  async complete(key: string, jobIds: string[], reason?: string): Promise<void> {
    this.completeStmt.run(JSON.stringify(jobIds), reason ?? null, key);
  }
  /** Adds a job to a fire (a server-held fire collected from a second server: one fire key, one job per server). */
  async appendJob(key: string, jobId: string): Promise<void> {
    const row = this.jobIdsStmt.get(key) as { job_ids: string } | undefined;
    const ids = row ? parseJsonColumn<string[]>(row.job_ids, []) : [];
    if (!ids.includes(jobId)) this.completeStmt.run(JSON.stringify([...ids, jobId]), null, key);
  }
  async lastFire(kind: OwnerKind, id: string): Promise<Date | null> {
    const row = this.lastStmt.get(kind, id) as { last: string | null } | undefined;
    return row?.last ? new Date(row.last) : null;
  }
  async countFired(kind: OwnerKind, id: string): Promise<number> {
    return (this.countStmt.get(kind, id) as { n: number }).n;
  }
  async queued(kind: OwnerKind, id: string): Promise<FireRecord[]> {
    return (this.queuedStmt.all(kind, id) as FireRow[]).map(toRecord);
  }
  async history(kind: OwnerKind, id: string, limit: number): Promise<FireRecord[]> {
    return (this.historyStmt.all(kind, id, limit) as FireRow[]).map(toRecord);
  }
}

/** An owner's handled times for the history views, newest first, with their row ids. */
export async function fireHistory(db: AppDatabase, kind: OwnerKind, id: string, limit: number) {
  const rows = await db.kysely
    .selectFrom('schedule_fires')
    .selectAll()
    .where('owner_kind', '=', kind)
    .where('owner_id', '=', id)
    .orderBy('scheduled_for', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id, scheduledFor: r.scheduled_for, outcome: r.outcome, reason: r.reason,
    jobIds: parseJsonColumn<string[]>(r.job_ids, []), firedAt: r.fired_at,
  }));
}
