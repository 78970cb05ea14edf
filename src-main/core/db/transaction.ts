/**
 * inTransaction: runs `work` with an AppDatabase whose kysely is one transaction, so several stores (each keeping its
 * own SQL) can be written all or nothing. A store method that opens its own transaction (EventStore.write,
 * WorkflowStore.write) joins the outer one instead: nested transaction() calls run on the same transaction. While it
 * runs, other kysely queries wait for the connection (kysely holds it), so nobody sees a half-applied change.
 * Used by the catalogue import; keep the work short and free of network waits.
 */
import type { Kysely, Transaction } from 'kysely';
import type { AppDatabase } from './database';
import type { DB } from './schema';

/** Thrown by `work` (or `rollback()`) to undo everything and rethrow. */
export async function inTransaction<T>(db: AppDatabase, work: (tx: AppDatabase) => Promise<T>): Promise<T> {
  return db.kysely.transaction().execute(async (trx) => work({ ...db, kysely: flatten(trx) }));
}

function flatten(trx: Transaction<DB>): Kysely<DB> {
  return new Proxy(trx, {
    get(target, prop, receiver) {
      if (prop === 'transaction') return () => ({ execute: <R>(fn: (t: Transaction<DB>) => Promise<R>) => fn(trx) });
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as Kysely<DB>;
}
