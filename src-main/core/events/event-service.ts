/**
 * EventService: the catalogue of events (CRUD over `events` and `event_servers`), their secret variables and the
 * snapshot a job runs (getForRun). Every edit increments `version`. Secret values live only in the keychain under
 * the event's accounts (secret_refs keeps { name, ref }); views say only whether a secret is set. It never runs
 * anything itself and never hands a secret to anyone but the JobService.
 */
import type { z } from 'zod';
import { sql } from 'kysely';
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import { parseJsonColumn } from '../db/json-column';
import type { Row } from '../db/schema';
import type { EventBus } from '../event-bus';
import type { Clock } from '../clock';
import { AppError, isAppError } from '../errors';
import type { SecretStore } from '../secrets/secret-store';
import { eventSecretRef } from '../secrets/secret-refs';
import { validateSchedule } from '../scheduler/schedule-math';
import type { ExecutionEvent } from '../jobs/executor';
import { workflowsUsing } from '../workflows/workflow-store';
import type { EventInput, EventView, RunnerRequirements, ScriptType } from '../../../src-shared/contract/events';
import type { MisfirePolicy, OverlapPolicy, ScheduleSpec } from '../../../src-shared/contract/schedule';
import type { ExecutionMode } from '../../../src-shared/contract/settings';

export type EventSaveInput = z.output<typeof EventInput>;

/** What the scheduler is told after a save, a duplicate or a delete. */
export type EventScheduleChange = EventView | { id: string; deleted: true };

/** Everything one run of an event needs, read at enqueue time. */
export interface EventRunSnapshot {
  event: ExecutionEvent;
  secrets: Record<string, string>;
  serverIds: string[];
  retries: number;
  retryBackoffSeconds: number;
  executionMode: ExecutionMode;
  enabled: boolean;
}

interface SecretRef {
  name: string;
  ref: string;
}

export interface EventServiceDeps {
  db: AppDatabase;
  secrets: SecretStore;
  bus: EventBus;
  clock: Clock;
}

export class EventService {
  /** Set by whoever wires the scheduler: told after every change that may move the event's schedule. */
  onScheduleChanged?: (event: EventScheduleChange) => void;
  /** Set by whoever wires the scheduler: the event's next fire, for views. */
  nextRunAt?: (eventId: string) => Date | null;

  constructor(private readonly deps: EventServiceDeps) {}

  async list(filter: { serverId?: string } = {}): Promise<EventView[]> {
    let q = this.deps.db.kysely.selectFrom('events').selectAll();
    if (filter.serverId) {
      q = q.where('id', 'in', this.deps.db.kysely.selectFrom('event_servers').select('event_id').where('server_id', '=', filter.serverId));
    }
    const rows = await q.orderBy('name').execute();
    return Promise.all(rows.map((r) => this.toView(r)));
  }

  async get(id: string): Promise<EventView> {
    return this.toView(await this.row(id));
  }

  async save(input: EventSaveInput): Promise<EventView> {
    const { db, secrets } = this.deps;
    const existing = input.id ? await this.row(input.id) : undefined;
    const id = existing?.id ?? newId();
    await this.checkServers(input.serverIds);
    if (input.schedule) {
      try {
        validateSchedule(input.schedule, input.timeZone);
      } catch (err) {
        if (isAppError(err) && err.extra.fields) {
          const fields: Record<string, string> = {};
          for (const [k, v] of Object.entries(err.extra.fields)) fields[k === 'timeZone' ? 'timeZone' : `schedule.${k}`] = v;
          throw new AppError(err.code, err.message, { fields });
        }
        throw err;
      }
    }
    const oldRefs = existing ? parseRefs(existing.secret_refs) : [];
    const names = new Set<string>();
    const fields: Record<string, string> = {};
    input.secrets.forEach((s, i) => {
      if (names.has(s.name)) fields[`secrets.${i}.name`] = `${s.name} is listed twice`;
      names.add(s.name);
      if (s.value === undefined && !oldRefs.some((r) => r.name === s.name)) fields[`secrets.${i}.value`] = 'enter a value for this secret';
      if (Object.prototype.hasOwnProperty.call(input.env, s.name)) fields[`secrets.${i}.name`] = `${s.name} is also a plain variable`;
    });
    if (Object.keys(fields).length) throw new AppError('INVALID_INPUT', `some secret variables need attention: ${Object.values(fields).join('; ')}`, { fields });

    // Keychain first: a failure there leaves the database as it was.
    const refs: SecretRef[] = [];
    for (const s of input.secrets) {
      const ref = eventSecretRef(id, s.name);
      if (s.value !== undefined) await secrets.set(ref, s.value);
      refs.push({ name: s.name, ref });
    }
    const at = nowIso(this.deps.clock.now());
    const columns = {
      name: input.name,
      description: input.description,
      script_type: input.scriptType,
      content: input.content,
      env: JSON.stringify(input.env),
      secret_refs: JSON.stringify(refs),
      timeout_seconds: input.timeoutSeconds,
      retries: input.retries,
      retry_backoff_seconds: input.retryBackoffSeconds,
      execution_mode: input.executionMode,
      runner_requirements: input.runnerRequirements ? JSON.stringify(input.runnerRequirements) : null,
      schedule: input.schedule ? JSON.stringify(input.schedule) : null,
      time_zone: input.timeZone,
      misfire_policy: input.misfirePolicy,
      overlap_policy: input.overlapPolicy,
      enabled: input.enabled ? 1 : 0,
      updated_at: at,
    };
    await db.kysely.transaction().execute(async (trx) => {
      if (existing) {
        await trx.updateTable('events').set({ ...columns, version: existing.version + 1 }).where('id', '=', id).execute();
        await trx.deleteFrom('event_servers').where('event_id', '=', id).execute();
      } else {
        await trx.insertInto('events').values({ id, ...columns, version: 1, created_at: at }).execute();
      }
      await trx.insertInto('event_servers').values([...new Set(input.serverIds)].map((server_id) => ({ event_id: id, server_id }))).execute();
    });
    // A name left out of `secrets` is removed from the keychain too.
    for (const old of oldRefs) {
      if (!names.has(old.name)) await secrets.delete(old.ref).catch(() => false);
    }
    return this.changed(id);
  }

  /** A copy named "<name> (copy)" with its own secret accounts (values copied), version 1, the same servers. */
  async duplicate(id: string): Promise<EventView> {
    const src = await this.row(id);
    const copyId = newId();
    const refs: SecretRef[] = [];
    for (const r of parseRefs(src.secret_refs)) {
      const value = await this.deps.secrets.get(r.ref);
      if (value === null) continue;
      const ref = eventSecretRef(copyId, r.name);
      await this.deps.secrets.set(ref, value);
      refs.push({ name: r.name, ref });
    }
    const at = nowIso(this.deps.clock.now());
    const serverIds = await this.serverIdsOf(id);
    await this.deps.db.kysely.transaction().execute(async (trx) => {
      const { id: _id, version: _v, created_at: _c, updated_at: _u, name, secret_refs: _s, ...rest } = src;
      await trx
        .insertInto('events')
        .values({ ...rest, id: copyId, name: `${name} (copy)`.slice(0, 200), secret_refs: JSON.stringify(refs), version: 1, created_at: at, updated_at: at })
        .execute();
      if (serverIds.length) await trx.insertInto('event_servers').values(serverIds.map((server_id) => ({ event_id: copyId, server_id }))).execute();
    });
    return this.changed(copyId);
  }

  /** Refused (EVENT_IN_USE) while a workflow has the event as a step: the workflow would lose a node silently. */
  async delete(id: string): Promise<void> {
    const row = await this.row(id);
    const users = await workflowsUsing(this.deps.db, { eventId: id });
    if (users.length > 0) {
      throw new AppError(
        'EVENT_IN_USE',
        `“${row.name}” is a step of workflow${users.length > 1 ? 's' : ''} ${users.map((u) => `“${u}”`).join(', ')}; remove it from them first`,
        { details: { workflows: users } },
      );
    }
    await this.deps.db.kysely.deleteFrom('events').where('id', '=', id).execute();
    for (const r of parseRefs(row.secret_refs)) await this.deps.secrets.delete(r.ref).catch(() => false);
    this.deps.bus.emit('events/changed', { event: null, deletedId: id });
    this.notifySchedule({ id, deleted: true });
  }

  /** The snapshot a run needs: the event as an ExecutionEvent, its secret values, its servers and retry policy. */
  async getForRun(id: string): Promise<EventRunSnapshot> {
    const row = await this.row(id);
    const values: Record<string, string> = {};
    for (const r of parseRefs(row.secret_refs)) {
      const value = await this.deps.secrets.get(r.ref);
      if (value === null) {
        throw new AppError('SECRET_MISSING', `the secret ${r.name} of ${row.name} is no longer in the keychain; edit the event and enter it again`);
      }
      values[r.name] = value;
    }
    return {
      event: {
        id: row.id,
        version: row.version,
        name: row.name,
        scriptType: row.script_type as ScriptType,
        content: row.content,
        env: parseJsonColumn<Record<string, string>>(row.env, {}),
        timeoutSeconds: row.timeout_seconds,
        runnerRequirements: parseJsonColumn<RunnerRequirements | null>(row.runner_requirements, null),
      },
      secrets: values,
      serverIds: await this.serverIdsOf(id),
      retries: row.retries,
      retryBackoffSeconds: row.retry_backoff_seconds,
      executionMode: row.execution_mode as ExecutionMode,
      enabled: row.enabled === 1,
    };
  }

  /** Scheduled fires and skips of an event, newest first. */
  async history(id: string, limit: number) {
    const rows = await this.deps.db.kysely
      .selectFrom('schedule_fires')
      .selectAll()
      .where('owner_kind', '=', 'event')
      .where('owner_id', '=', id)
      .orderBy('scheduled_for', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id, scheduledFor: r.scheduled_for, outcome: r.outcome, reason: r.reason,
      jobIds: parseJsonColumn<string[]>(r.job_ids, []), firedAt: r.fired_at,
    }));
  }

  async row(id: string): Promise<Row<'events'>> {
    const row = await this.deps.db.kysely.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('EVENT_NOT_FOUND', `there is no event ${id}; it may have been deleted`);
    return row;
  }

  private async serverIdsOf(id: string): Promise<string[]> {
    const rows = await this.deps.db.kysely.selectFrom('event_servers').select('server_id').where('event_id', '=', id).execute();
    return rows.map((r) => r.server_id);
  }

  private async checkServers(ids: string[]): Promise<void> {
    if (ids.length === 0) throw new AppError('INVALID_INPUT', 'choose at least one server', { fields: { serverIds: 'choose at least one server' } });
    const found = await this.deps.db.kysely.selectFrom('servers').select('id').where('id', 'in', ids).execute();
    const known = new Set(found.map((r) => r.id));
    const missing = ids.filter((i) => !known.has(i));
    if (missing.length) {
      throw new AppError('INVALID_INPUT', `unknown server${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}; it may have been deleted`, {
        fields: { serverIds: `unknown server ${missing[0]}` },
      });
    }
  }

  /** After a write: the scheduler is told first, so the view pushed and returned carries the new nextRunAt. */
  private async changed(id: string): Promise<EventView> {
    const before = await this.get(id);
    this.notifySchedule(before);
    const view = { ...before, nextRunAt: this.nextRunAtOf(id) };
    this.deps.bus.emit('events/changed', { event: view });
    return view;
  }

  private nextRunAtOf(id: string): string | null {
    try {
      return this.nextRunAt?.(id)?.toISOString() ?? null;
    } catch {
      return null;
    }
  }

  private notifySchedule(change: EventScheduleChange): void {
    try {
      this.onScheduleChanged?.(change);
    } catch (err) {
      console.error('[events] the schedule hook failed:', err);
    }
  }

  private async toView(r: Row<'events'>): Promise<EventView> {
    const servers = await this.deps.db.kysely
      .selectFrom('event_servers')
      .innerJoin('servers', 'servers.id', 'event_servers.server_id')
      .select(['servers.id', 'servers.name'])
      .where('event_servers.event_id', '=', r.id)
      .orderBy('servers.name')
      .execute();
    // The newest job of the event; jobs of one run (one per server) share created_at, so the last inserted wins.
    const last = await this.deps.db.kysely
      .selectFrom('jobs')
      .select(['id', 'status', 'created_at'])
      .where('event_id', '=', r.id)
      .orderBy('created_at', 'desc')
      .orderBy(sql`rowid`, 'desc')
      .limit(1)
      .executeTakeFirst();
    const nextRunAt = this.nextRunAtOf(r.id);
    return {
      id: r.id,
      name: r.name,
      description: r.description,
      scriptType: r.script_type as ScriptType,
      content: r.content,
      env: parseJsonColumn<Record<string, string>>(r.env, {}),
      secrets: parseRefs(r.secret_refs).map((s) => ({ name: s.name, isSet: true })),
      timeoutSeconds: r.timeout_seconds,
      retries: r.retries,
      retryBackoffSeconds: r.retry_backoff_seconds,
      executionMode: r.execution_mode as EventView['executionMode'],
      runnerRequirements: parseJsonColumn<RunnerRequirements | null>(r.runner_requirements, null),
      servers,
      schedule: parseJsonColumn<ScheduleSpec | null>(r.schedule, null),
      timeZone: r.time_zone,
      misfirePolicy: r.misfire_policy as MisfirePolicy,
      overlapPolicy: r.overlap_policy as OverlapPolicy,
      enabled: r.enabled === 1,
      version: r.version,
      nextRunAt,
      lastRun: last ? { jobId: last.id, status: last.status, at: last.created_at } : null,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }
}

function parseRefs(text: string): SecretRef[] {
  return parseJsonColumn<SecretRef[]>(text, []).filter((r) => r && typeof r.name === 'string' && typeof r.ref === 'string');
}
