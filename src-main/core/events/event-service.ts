/**
 * EventService: the catalogue of events (CRUD over `events` and `event_servers`), their secret variables and the
 * snapshot a job runs (getForRun). Every edit increments `version`. Secret values live only in the keychain under
 * the event's accounts (secret_refs keeps { name, ref }); views say only whether a secret is set. It never runs
 * anything itself and never hands a secret to anyone but the JobService.
 */
import type { z } from 'zod';
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
import type { ScheduleBook } from '../scheduler/scheduler';
import { fireHistory } from '../scheduler/fire-store';
import { existingServerIds } from '../servers/server-store';
import { EventStore } from './event-store';
import { lastJobOfEvent } from '../jobs/job-store';
import type { ExecutionEvent } from '../jobs/executor';
import { workflowsUsing } from '../workflows/workflow-store';
import { recordAudit } from '../audit-log';
import type { EventInput, EventView, RunnerRequirements, ScriptType } from '../../../src-shared/contract/events';
import { checkParameters, duplicateOptionNames, type EventOption, type ParameterValue } from '../../../src-shared/contract/run-parameters';
import type { MisfirePolicy, OverlapPolicy, ScheduleSpec } from '../../../src-shared/contract/schedule';
import type { ExecutionMode } from '../../../src-shared/contract/settings';

export type EventSaveInput = z.output<typeof EventInput>;

/** Everything one run of an event needs, read at enqueue time. */
export interface EventRunSnapshot {
  event: ExecutionEvent;
  secrets: Record<string, string>;
  serverIds: string[];
  /** Tags whose servers the event targets (resolved when a run starts: execution/run-targets.ts). */
  targetTags: string[];
  /** Whole-run limit: at most this many of the run's servers at once (null: none). */
  maxParallel: number | null;
  /** Declared run-time parameters. */
  options: EventOption[];
  /** Values a scheduled run uses. */
  scheduleParameters: Record<string, ParameterValue>;
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
  /** The scheduler's book of schedules: told after every change that may move an event's schedule; gives nextRunAt. */
  schedules: ScheduleBook;
}

export class EventService {
  readonly store: EventStore;

  constructor(private readonly deps: EventServiceDeps) {
    this.store = new EventStore(deps.db);
  }

  async list(filter: { serverId?: string } = {}): Promise<EventView[]> {
    const rows = await this.store.list(filter);
    return Promise.all(rows.map((r) => this.toView(r)));
  }

  async get(id: string): Promise<EventView> {
    return this.toView(await this.row(id));
  }

  async save(input: EventSaveInput): Promise<EventView> {
    const { secrets } = this.deps;
    const existing = input.id ? await this.row(input.id) : undefined;
    const id = existing?.id ?? newId();
    await this.checkServers(input.serverIds, input.targetTags);
    this.checkOptions(input);
    checkServerHeld(input);
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
      target_tags: JSON.stringify([...new Set(input.targetTags)]),
      max_parallel: input.maxParallel,
      options: JSON.stringify(input.options),
      schedule_parameters: JSON.stringify(input.scheduleParameters),
      schedule: input.schedule ? JSON.stringify(input.schedule) : null,
      time_zone: input.timeZone,
      misfire_policy: input.misfirePolicy,
      overlap_policy: input.overlapPolicy,
      enabled: input.enabled ? 1 : 0,
      fires_on: input.firesOn,
      updated_at: at,
    };
    await this.store.write(id, columns, input.serverIds, existing ? existing.version : null, at);
    await recordAudit(this.deps.db, {
      at: this.deps.clock.now(), actor: 'user', action: existing ? 'event.update' : 'event.create', subject: id,
      detail: { name: input.name, version: existing ? existing.version + 1 : 1, ...(existing && existing.content !== input.content ? { scriptChanged: true } : {}) },
    });
    // A name left out of `secrets` is removed from the keychain too.
    for (const old of oldRefs) {
      if (!names.has(old.name)) await secrets.delete(old.ref).catch(() => false);
    }
    return this.changed(id);
  }

  /**
   * Switches the event's execution mode alone (the rollout's migration wizard and its undo; a person's consent was
   * asked by the caller). Refuses with EVENT_CHANGED when `expectedVersion` is given and the event was edited since.
   */
  async setExecutionMode(id: string, mode: ExecutionMode, expectedVersion?: number): Promise<EventView> {
    await this.row(id);
    const version = await this.store.setExecutionMode(id, mode, nowIso(this.deps.clock.now()), expectedVersion);
    if (version === null) {
      throw new AppError('EVENT_CHANGED', 'the event was edited since it was checked; check it again before switching its mode', { details: { eventId: id } });
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
    const serverIds = await this.store.serverIds(id);
    const { id: _id, version: _v, created_at: _c, updated_at: _u, name, secret_refs: _s, ...rest } = src;
    await this.store.write(copyId, { ...rest, name: `${name} (copy)`.slice(0, 200), secret_refs: JSON.stringify(refs), updated_at: at }, serverIds, null, at);
    await recordAudit(this.deps.db, { at: this.deps.clock.now(), actor: 'user', action: 'event.duplicate', subject: copyId, detail: { name: `${name} (copy)`.slice(0, 200), from: id } });
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
    await this.store.delete(id);
    await recordAudit(this.deps.db, { at: this.deps.clock.now(), actor: 'user', action: 'event.delete', subject: id, detail: { name: row.name, version: row.version } });
    for (const r of parseRefs(row.secret_refs)) await this.deps.secrets.delete(r.ref).catch(() => false);
    this.deps.bus.emit('events/changed', { event: null, deletedId: id });
    this.deps.schedules.remove('event', id);
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
      serverIds: await this.store.serverIds(id),
      targetTags: parseJsonColumn<string[]>(row.target_tags, []),
      maxParallel: row.max_parallel,
      options: parseJsonColumn<EventOption[]>(row.options, []),
      scheduleParameters: parseJsonColumn<Record<string, ParameterValue>>(row.schedule_parameters, {}),
      retries: row.retries,
      retryBackoffSeconds: row.retry_backoff_seconds,
      executionMode: row.execution_mode as ExecutionMode,
      enabled: row.enabled === 1,
    };
  }

  /** Every saved version of the event's script, newest first (EVENT_NOT_FOUND for an unknown event). */
  async scriptVersions(id: string) {
    await this.row(id);
    return this.store.scriptVersions(id);
  }

  /** One saved version of the event's script; EVENT_VERSION_NOT_FOUND when that version was never kept. */
  async scriptVersion(id: string, version: number) {
    const row = await this.row(id);
    const saved = await this.store.scriptVersion(id, version);
    if (!saved) throw new AppError('EVENT_VERSION_NOT_FOUND', `version ${version} of ${row.name} was not kept (versions saved before this app version are not available)`);
    return { version: saved.version, scriptType: saved.script_type, savedAt: saved.saved_at, content: saved.content };
  }

  /** Scheduled fires and skips of an event, newest first. */
  history(id: string, limit: number) {
    return fireHistory(this.deps.db, 'event', id, limit);
  }

  async row(id: string): Promise<Row<'events'>> {
    const row = await this.store.find(id);
    if (!row) throw new AppError('EVENT_NOT_FOUND', `there is no event ${id}; it may have been deleted`);
    return row;
  }

  private async checkServers(ids: string[], tags: string[]): Promise<void> {
    if (ids.length === 0 && tags.length === 0) {
      throw new AppError('INVALID_INPUT', 'choose at least one server or tag', { fields: { serverIds: 'choose at least one server or tag' } });
    }
    if (ids.length === 0) return;
    const known = await existingServerIds(this.deps.db, ids);
    const missing = ids.filter((i) => !known.has(i));
    if (missing.length) {
      throw new AppError('INVALID_INPUT', `unknown server${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}; it may have been deleted`, {
        fields: { serverIds: `unknown server ${missing[0]}` },
      });
    }
  }

  /** Option names are unique (case-insensitively: they share CRONIUM_OPT_<NAME>); schedule values fit their options. */
  private checkOptions(input: EventSaveInput): void {
    const fields: Record<string, string> = {};
    for (const name of duplicateOptionNames(input.options)) {
      fields[`options.${input.options.findIndex((o) => o.name === name)}.name`] = `${name.toUpperCase()} is declared twice (names are compared without case)`;
    }
    const secret = new Set(input.options.filter((o) => o.secret).map((o) => o.name));
    for (const name of Object.keys(input.scheduleParameters)) {
      if (secret.has(name)) fields[`scheduleParameters.${name}`] = 'a secret option cannot be given a stored schedule value';
    }
    if (input.schedule) {
      // A scheduled run has nobody to ask: its values (and defaults) must satisfy every non-secret option now.
      const check = checkParameters(input.options.filter((o) => !o.secret), input.scheduleParameters);
      for (const [k, v] of Object.entries(check.errors)) fields[k.replace(/^parameters\./, 'scheduleParameters.')] = v;
    }
    if (Object.keys(fields).length) throw new AppError('INVALID_INPUT', `some options need attention: ${Object.values(fields).join('; ')}`, { fields });
  }

  /** After a write: the scheduler is told first, so the view pushed and returned carries the new nextRunAt. */
  private async changed(id: string): Promise<EventView> {
    const before = await this.get(id);
    this.updateSchedule(before);
    const view = { ...before, nextRunAt: this.nextRunAtOf(id) };
    this.deps.bus.emit('events/changed', { event: view });
    return view;
  }

  private nextRunAtOf(id: string): string | null {
    try {
      return this.deps.schedules.nextFire('event', id)?.toISOString() ?? null;
    } catch {
      return null;
    }
  }

  /** A schedule that does not compile (e.g. a zone this machine lacks) is reported and left out, never fatal to the save. */
  private updateSchedule(view: EventView): void {
    try {
      // A server-held schedule fires on its servers only (core/server-schedules): the app's scheduler never owns it.
      if (!view.schedule || !view.enabled || view.firesOn === 'server') {
        this.deps.schedules.remove('event', view.id);
        return;
      }
      this.deps.schedules.upsert({
        kind: 'event', id: view.id, spec: view.schedule, timeZone: view.timeZone, misfirePolicy: view.misfirePolicy,
        overlapPolicy: view.overlapPolicy, enabled: true, activeSince: new Date(view.updatedAt),
      });
    } catch (err) {
      console.error(`[events] the schedule of event ${view.id} was not loaded:`, err instanceof Error ? err.message : err);
    }
  }

  private async toView(r: Row<'events'>): Promise<EventView> {
    const servers = await this.store.servers(r.id);
    const last = await lastJobOfEvent(this.deps.db, r.id);
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
      targetTags: parseJsonColumn<string[]>(r.target_tags, []),
      maxParallel: r.max_parallel,
      options: parseJsonColumn<EventOption[]>(r.options, []),
      scheduleParameters: parseJsonColumn<Record<string, ParameterValue>>(r.schedule_parameters, {}),
      schedule: parseJsonColumn<ScheduleSpec | null>(r.schedule, null),
      timeZone: r.time_zone,
      misfirePolicy: r.misfire_policy as MisfirePolicy,
      overlapPolicy: r.overlap_policy as OverlapPolicy,
      enabled: r.enabled === 1,
      firesOn: r.fires_on === 'server' ? 'server' : 'app',
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

/**
 * A schedule held by the server (issue 15) needs a schedule, a runner (not direct-ssh: the resident runner fires it)
 * and no secrets: secrets never go to a server (docs/security.md, "Server-held schedules"), and a server-fired job
 * runs while the app, which holds them, may be away. Refused with the reason rather than run without them.
 */
export function checkServerHeld(input: Pick<EventSaveInput, 'firesOn' | 'schedule' | 'executionMode' | 'secrets' | 'options'>): void {
  if (input.firesOn !== 'server') return;
  const fields: Record<string, string> = {};
  if (!input.schedule) fields.firesOn = 'only a scheduled event can fire on the server; give it a schedule first';
  if (input.executionMode === 'direct-ssh') fields.executionMode = 'a schedule held by the server runs through the runner; choose auto or runner-ssh';
  if (input.secrets.length > 0) fields.firesOn = 'this event uses secrets, which never go to a server; it can only fire from this app';
  if (input.options.some((o) => o.secret)) fields.firesOn = 'this event has a secret option, which never goes to a server; it can only fire from this app';
  if (Object.keys(fields).length) throw new AppError('INVALID_INPUT', `this event cannot fire on the server: ${Object.values(fields).join('; ')}`, { fields });
}

