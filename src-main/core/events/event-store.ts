/**
 * EventStore: the one holder of the SQL over `events` and `event_servers` (an event and its server list are one
 * aggregate, written together in one transaction). EventService decides (validation, secrets, schedule); this only
 * reads and writes rows. Every write bumps `version` and keeps that version's script in `event_script_versions`.
 */
import type { AppDatabase } from '../db/database';
import type { Row } from '../db/schema';

/** The columns an edit sets (everything but id, version and created_at). */
export type EventColumns = Omit<Row<'events'>, 'id' | 'version' | 'created_at'>;

export class EventStore {
  constructor(private readonly db: AppDatabase) {}

  async list(filter: { serverId?: string } = {}): Promise<Array<Row<'events'>>> {
    let q = this.db.kysely.selectFrom('events').selectAll();
    if (filter.serverId) {
      q = q.where('id', 'in', this.db.kysely.selectFrom('event_servers').select('event_id').where('server_id', '=', filter.serverId));
    }
    return q.orderBy('name').execute();
  }

  find(id: string): Promise<Row<'events'> | undefined> {
    return this.db.kysely.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Names by id of the events that exist among `ids`. */
  async names(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.kysely.selectFrom('events').select(['id', 'name']).where('id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /** Enabled events that have a schedule (what the scheduler loads at start). */
  /** Ids of the events whose schedule the servers hold (enabled or not: a paused one is removed from its servers). */
  async serverHeldIds(): Promise<string[]> {
    return (await this.db.kysely.selectFrom('events').select('id').where('fires_on', '=', 'server').execute()).map((r) => r.id);
  }

  scheduled(): Promise<Array<Pick<Row<'events'>, 'id' | 'schedule' | 'time_zone' | 'misfire_policy' | 'overlap_policy' | 'updated_at'>>> {
    return this.db.kysely
      .selectFrom('events')
      .select(['id', 'schedule', 'time_zone', 'misfire_policy', 'overlap_policy', 'updated_at'])
      .where('schedule', 'is not', null)
      .where('enabled', '=', 1)
      // Server-held schedules fire on their servers (core/server-schedules), never from the app's scheduler.
      .where('fires_on', '=', 'app')
      .execute();
  }

  /** Creates (previousVersion null) or replaces an event and its server list, in one transaction. */
  async write(id: string, columns: EventColumns, serverIds: string[], previousVersion: number | null, createdAt: string): Promise<void> {
    await this.db.kysely.transaction().execute(async (trx) => {
      if (previousVersion !== null) {
        await trx.updateTable('events').set({ ...columns, version: previousVersion + 1 }).where('id', '=', id).execute();
        await trx.deleteFrom('event_servers').where('event_id', '=', id).execute();
      } else {
        await trx.insertInto('events').values({ id, ...columns, version: 1, created_at: createdAt }).execute();
      }
      // Every version's script is kept for the diff between two versions (removed with the event).
      await trx
        .insertInto('event_script_versions')
        .values({ event_id: id, version: previousVersion === null ? 1 : previousVersion + 1, script_type: columns.script_type, content: columns.content, saved_at: columns.updated_at })
        .onConflict((oc) => oc.columns(['event_id', 'version']).doUpdateSet({ script_type: columns.script_type, content: columns.content, saved_at: columns.updated_at }))
        .execute();
      const unique = [...new Set(serverIds)];
      if (unique.length) await trx.insertInto('event_servers').values(unique.map((server_id) => ({ event_id: id, server_id }))).execute();
    });
  }

  /**
   * Switches only the execution mode (the migration wizard and its undo), bumping `version` like every edit. With
   * `expectedVersion`, refuses (returns null) when the event was edited since it was read.
   */
  async setExecutionMode(id: string, mode: string, at: string, expectedVersion?: number): Promise<number | null> {
    let query = this.db.kysely
      .updateTable('events')
      .set((eb) => ({ execution_mode: mode, updated_at: at, version: eb('version', '+', 1) }))
      .where('id', '=', id);
    if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
    const row = await query.returning('version').executeTakeFirst();
    return row?.version ?? null;
  }

  /**
   * Catalogue import only (core/catalogue): keeps the version the file carries and the secret names it lists (their
   * values are never in a file; the keychain accounts stay empty until the user enters them).
   */
  async restoreImported(id: string, version: number, secretRefsJson: string): Promise<void> {
    await this.db.kysely.updateTable('events').set({ version, secret_refs: secretRefsJson }).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.kysely.deleteFrom('events').where('id', '=', id).execute();
  }

  /** The saved versions of an event's script, newest first, without their content. */
  async scriptVersions(eventId: string): Promise<Array<{ version: number; scriptType: 'bash' | 'python' | 'node'; savedAt: string; lines: number }>> {
    const rows = await this.db.kysely
      .selectFrom('event_script_versions')
      .select(['version', 'script_type', 'saved_at', 'content'])
      .where('event_id', '=', eventId)
      .orderBy('version', 'desc')
      .execute();
    return rows.map((r) => ({ version: r.version, scriptType: r.script_type, savedAt: r.saved_at, lines: r.content.split('\n').length }));
  }

  scriptVersion(eventId: string, version: number): Promise<Row<'event_script_versions'> | undefined> {
    return this.db.kysely.selectFrom('event_script_versions').selectAll().where('event_id', '=', eventId).where('version', '=', version).executeTakeFirst();
  }

  async serverIds(eventId: string): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('event_servers').select('server_id').where('event_id', '=', eventId).execute();
    return rows.map((r) => r.server_id);
  }

  /** The event's servers with their names, sorted by name. */
  servers(eventId: string): Promise<Array<{ id: string; name: string }>> {
    return this.db.kysely
      .selectFrom('event_servers')
      .innerJoin('servers', 'servers.id', 'event_servers.server_id')
      .select(['servers.id', 'servers.name'])
      .where('event_servers.event_id', '=', eventId)
      .orderBy('servers.name')
      .execute();
  }

  /** For each event, its first server by name (a workflow step without a chosen server runs there). */
  async firstServers(eventIds: string[]): Promise<Map<string, string>> {
    const first = new Map<string, string>();
    if (eventIds.length === 0) return first;
    const rows = await this.db.kysely
      .selectFrom('event_servers')
      .innerJoin('servers', 'servers.id', 'event_servers.server_id')
      .select(['event_servers.event_id', 'servers.id'])
      .where('event_servers.event_id', 'in', eventIds)
      .orderBy('servers.name')
      .execute();
    for (const r of rows) if (!first.has(r.event_id)) first.set(r.event_id, r.id);
    return first;
  }
}

/** The Dashboard's event counts: all events, and the enabled ones with a schedule. */
export async function eventCounts(db: AppDatabase): Promise<{ events: number; scheduled: number }> {
  const [all, scheduled] = await Promise.all([
    db.kysely.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst(),
    db.kysely.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('schedule', 'is not', null).where('enabled', '=', 1).executeTakeFirst(),
  ]);
  return { events: Number(all?.n ?? 0), scheduled: Number(scheduled?.n ?? 0) };
}
