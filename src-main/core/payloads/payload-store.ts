/**
 * PayloadStore: the one holder of the `execution_payloads` table's SQL. register() is the payload get-or-create: one
 * INSERT ... ON CONFLICT (event_id, event_version, checksum) DO UPDATE ... RETURNING, so however many jobs register the
 * same payload at once, every one of them gets the id of the one row that exists (never an id that was not stored).
 */
import type { AppDatabase } from '../db/database';
import type { Row } from '../db/schema';
import { JobStore } from '../jobs/job-store';

export type PayloadRow = Row<'execution_payloads'>;

export class PayloadStore {
  private readonly jobs: JobStore;

  constructor(
    private readonly db: AppDatabase,
    now: () => number,
  ) {
    this.jobs = new JobStore(db, now);
  }

  /** Inserts the payload, or marks the stored one used at `usedAt`; returns the stored row either way. */
  async register(p: { id: string; eventId: string; eventVersion: number; checksum: string; path: string; sizeBytes: number; createdAt: string; usedAt: string }): Promise<PayloadRow> {
    return this.db.kysely
      .insertInto('execution_payloads')
      .values({
        id: p.id, event_id: p.eventId, event_version: p.eventVersion, checksum: p.checksum, payload_path: p.path,
        created_at: p.createdAt, last_used: p.usedAt, size_bytes: p.sizeBytes,
      })
      .onConflict((oc) => oc.columns(['event_id', 'event_version', 'checksum']).doUpdateSet({ last_used: p.usedAt, payload_path: p.path }))
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** An event version's payloads, newest first. */
  ofEventVersion(eventId: string, version: number): Promise<PayloadRow[]> {
    return this.db.kysely.selectFrom('execution_payloads').selectAll().where('event_id', '=', eventId).where('event_version', '=', version).orderBy('created_at', 'desc').execute();
  }

  byId(id: string): Promise<PayloadRow | undefined> {
    return this.db.kysely.selectFrom('execution_payloads').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Payloads last used before `cutoff` (or never used and created before it). */
  unusedSince(cutoff: string): Promise<PayloadRow[]> {
    return this.db.kysely
      .selectFrom('execution_payloads').selectAll()
      .where((eb) => eb.or([eb('last_used', '<', cutoff), eb.and([eb('last_used', 'is', null), eb('created_at', '<', cutoff)])]))
      .execute();
  }

  /** Removes a payload row; jobs that ran it keep their history with the reference cleared (through the JobStore). */
  async remove(id: string): Promise<void> {
    await this.jobs.clearPayload(id);
    await this.db.kysely.deleteFrom('execution_payloads').where('id', '=', id).execute();
  }

  async checksumInUse(checksum: string): Promise<boolean> {
    return (await this.db.kysely.selectFrom('execution_payloads').select('id').where('checksum', '=', checksum).executeTakeFirst()) !== undefined;
  }
}
