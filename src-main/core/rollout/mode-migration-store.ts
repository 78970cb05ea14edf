/**
 * ModeMigrationStore: the one holder of the SQL over `mode_migrations` (migration 0008): each execution-mode switch
 * the migration wizard made with consent, grouped in batches, and when it was undone. It never changes an event
 * itself (EventService does) and holds nothing secret.
 */
import type { AppDatabase } from '../db/database';
import type { Row } from '../db/schema';

export type ModeMigrationRow = Row<'mode_migrations'>;

export class ModeMigrationStore {
  constructor(private readonly db: AppDatabase) {}

  async insert(row: ModeMigrationRow): Promise<void> {
    await this.db.kysely.insertInto('mode_migrations').values(row).execute();
  }

  async batch(batchId: string): Promise<ModeMigrationRow[]> {
    return this.db.kysely.selectFrom('mode_migrations').selectAll().where('batch_id', '=', batchId).orderBy('migrated_at').execute();
  }

  /** Batches newest first, with how many switches each holds and how many are still in effect. */
  async batches(limit = 20): Promise<Array<{ batch_id: string; migrated_at: string; total: number; active: number }>> {
    const rows = await this.db.kysely
      .selectFrom('mode_migrations')
      .select((eb) => [
        'batch_id',
        eb.fn.min('migrated_at').as('migrated_at'),
        eb.fn.countAll<number>().as('total'),
        eb.fn.sum<number>(eb.case().when('undone_at', 'is', null).then(1).else(0).end()).as('active'),
      ])
      .groupBy('batch_id')
      .orderBy('migrated_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ batch_id: r.batch_id, migrated_at: String(r.migrated_at), total: Number(r.total), active: Number(r.active ?? 0) }));
  }

  async markUndone(id: string, at: string): Promise<void> {
    await this.db.kysely.updateTable('mode_migrations').set({ undone_at: at }).where('id', '=', id).where('undone_at', 'is', null).execute();
  }
}
