/**
 * ResidentStore: the one holder of the SQL of server_residents (the resident runner on each server: what manifest was
 * installed, how it runs, the clock skew, the last collection) and server_schedule_copies (each server's installed
 * copy of each server-held schedule: its version, next fire, last collected fire). It decides nothing.
 */
import type { AppDatabase } from '../db/database';
import { nowIso } from '../db/ids';
import type { Row } from '../db/schema';

export type ResidentRow = Row<'server_residents'>;
export type CopyRow = Row<'server_schedule_copies'>;

export class ResidentStore {
  constructor(
    private readonly db: AppDatabase,
    private readonly now: () => number,
  ) {}

  resident(serverId: string): Promise<ResidentRow | undefined> {
    return this.db.kysely.selectFrom('server_residents').selectAll().where('server_id', '=', serverId).executeTakeFirst();
  }

  residents(): Promise<ResidentRow[]> {
    return this.db.kysely.selectFrom('server_residents').selectAll().execute();
  }

  async saveResident(serverId: string, patch: Partial<Omit<ResidentRow, 'server_id' | 'updated_at'>>): Promise<void> {
    const at = nowIso(this.now());
    await this.db.kysely
      .insertInto('server_residents')
      .values({ server_id: serverId, updated_at: at, ...patch })
      .onConflict((oc) => oc.column('server_id').doUpdateSet({ ...patch, updated_at: at }))
      .execute();
  }

  async removeResident(serverId: string): Promise<void> {
    await this.db.kysely.deleteFrom('server_residents').where('server_id', '=', serverId).execute();
    await this.db.kysely.deleteFrom('server_schedule_copies').where('server_id', '=', serverId).execute();
  }

  copies(filter: { serverId?: string; eventId?: string } = {}): Promise<CopyRow[]> {
    let q = this.db.kysely.selectFrom('server_schedule_copies').selectAll();
    if (filter.serverId) q = q.where('server_id', '=', filter.serverId);
    if (filter.eventId) q = q.where('event_id', '=', filter.eventId);
    return q.execute();
  }

  /** The copies now on a server after an install: these rows, and no others for it. */
  async replaceCopies(serverId: string, copies: Array<{ eventId: string; version: number; nextFire: string | null }>): Promise<void> {
    const at = nowIso(this.now());
    const keep = new Set(copies.map((c) => c.eventId));
    const existing = await this.copies({ serverId });
    for (const row of existing) {
      if (!keep.has(row.event_id)) await this.db.kysely.deleteFrom('server_schedule_copies').where('server_id', '=', serverId).where('event_id', '=', row.event_id).execute();
    }
    for (const c of copies) {
      await this.db.kysely
        .insertInto('server_schedule_copies')
        .values({ event_id: c.eventId, server_id: serverId, installed_version: c.version, installed_at: at, next_fire: c.nextFire, last_collected_fire: null, updated_at: at })
        .onConflict((oc) => oc.columns(['event_id', 'server_id']).doUpdateSet({ installed_version: c.version, installed_at: at, next_fire: c.nextFire, updated_at: at }))
        .execute();
    }
  }

  async setNextFire(serverId: string, eventId: string, nextFire: string | null): Promise<void> {
    await this.db.kysely.updateTable('server_schedule_copies').set({ next_fire: nextFire }).where('server_id', '=', serverId).where('event_id', '=', eventId).execute();
  }

  /** Moves last_collected_fire forward (never back). */
  async noteCollected(serverId: string, eventId: string, scheduledFor: string): Promise<void> {
    await this.db.kysely
      .updateTable('server_schedule_copies')
      .set({ last_collected_fire: scheduledFor })
      .where('server_id', '=', serverId)
      .where('event_id', '=', eventId)
      .where((eb) => eb.or([eb('last_collected_fire', 'is', null), eb('last_collected_fire', '<', scheduledFor)]))
      .execute();
  }

  /** Servers whose resident runner holds or held something: each gets swept. */
  async serversToSweep(): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('server_residents').select('server_id').execute();
    return rows.map((r) => r.server_id);
  }
}
