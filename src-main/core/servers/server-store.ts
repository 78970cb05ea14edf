/**
 * ServerStore: the one holder of the SQL over `servers`. ServerService decides (credentials, host-key trust, audit);
 * other modules that need a server row or to know which servers exist come here or to ServerService.
 */
import type { AppDatabase } from '../db/database';
import type { NewRow, Row, RowUpdate } from '../db/schema';

export class ServerStore {
  constructor(private readonly db: AppDatabase) {}

  list(): Promise<Array<Row<'servers'>>> {
    return this.db.kysely.selectFrom('servers').selectAll().orderBy('name').execute();
  }

  find(id: string): Promise<Row<'servers'> | undefined> {
    return this.db.kysely.selectFrom('servers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async idByName(name: string): Promise<string | undefined> {
    return (await this.db.kysely.selectFrom('servers').select('id').where('name', '=', name).executeTakeFirst())?.id;
  }

  async insert(row: NewRow<'servers'>): Promise<void> {
    await this.db.kysely.insertInto('servers').values(row).execute();
  }

  async update(id: string, set: RowUpdate<'servers'>): Promise<void> {
    await this.db.kysely.updateTable('servers').set(set).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.kysely.deleteFrom('servers').where('id', '=', id).execute();
  }

  /** Inserts and updates several servers in one transaction: all of them are saved, or none (the SSH config import). */
  async saveMany(inserts: Array<NewRow<'servers'>>, updates: Array<{ id: string; set: RowUpdate<'servers'> }>): Promise<void> {
    await this.db.kysely.transaction().execute(async (trx) => {
      for (const row of inserts) await trx.insertInto('servers').values(row).execute();
      for (const u of updates) await trx.updateTable('servers').set(u.set).where('id', '=', u.id).execute();
    });
  }

  async ids(): Promise<string[]> {
    return (await this.db.kysely.selectFrom('servers').select('id').execute()).map((r) => r.id);
  }

  count(): Promise<number> {
    return countServers(this.db);
  }
}

/** The ids among `ids` that name an existing server. */
export async function existingServerIds(db: AppDatabase, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.kysely.selectFrom('servers').select('id').where('id', 'in', ids).execute();
  return new Set(rows.map((r) => r.id));
}

export async function countServers(db: AppDatabase): Promise<number> {
  const row = await db.kysely.selectFrom('servers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}
