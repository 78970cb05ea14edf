/**
 * The app's one SQLite database: opens (and creates) the file, sets the pragmas, runs the migrator, and hands out
 * a typed kysely instance plus the raw better-sqlite3 handle for batched hot paths (log lines).
 * It never runs schema SQL of its own; every table comes from migrations/.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { AppError } from '../errors';
import { migrate } from './migrator';
import type { DB } from './schema';

export interface AppDatabase {
  kysely: Kysely<DB>;
  sqlite: BetterSqlite3.Database;
  /** The file this database lives in. */
  file: string;
  close(): void;
}

/** How long a writer waits for another connection's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

export function openDatabase(file: string, migrationsDir: string): AppDatabase {
  let sqlite: BetterSqlite3.Database;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    sqlite = new Database(file);
  } catch (err) {
    throw new AppError('DATABASE_UNAVAILABLE', `The database ${file} cannot be opened: ${(err as Error).message}. Check that the data folder exists and is writable.`, {
      cause: err,
    });
  }
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(sqlite, migrationsDir);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const kysely = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  let closed = false;
  return {
    kysely,
    sqlite,
    file,
    close() {
      if (closed) return;
      closed = true;
      // kysely's destroy() would close the same handle asynchronously; closing the handle directly keeps close() sync.
      sqlite.close();
    },
  };
}
