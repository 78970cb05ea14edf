/**
 * The app's one SQLite database: opens (and creates) the file, sets the pragmas, runs the migrator, and hands out
 * a typed kysely instance plus the raw better-sqlite3 handle for batched hot paths (log lines).
 * It never runs schema SQL of its own; every table comes from migrations/.
 * Files are private whatever the umask: the database is created 0600 before SQLite opens it (SQLite gives its -wal and
 * -shm files the database file's mode), and the three are put back to 0600 at every open. preparePrivateDataDir makes
 * the data folder 0700 (created so, repaired at each start).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { systemClock, type Clock } from '../clock';
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

const PRIVATE_FILE_MODE = 0o600;
const PRIVATE_DIR_MODE = 0o700;

/** The database file and the files SQLite keeps next to it. */
export function databaseFiles(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
}

/** Puts each existing file back to 0600; returns those it changed. */
function makeFilesPrivate(file: string): string[] {
  const changed: string[] = [];
  for (const f of databaseFiles(file)) {
    const st = fs.statSync(f, { throwIfNoEntry: false });
    if (st && (st.mode & 0o777) !== PRIVATE_FILE_MODE) {
      fs.chmodSync(f, PRIVATE_FILE_MODE);
      changed.push(f);
    }
  }
  return changed;
}

/**
 * Creates the data folder 0700, or puts an existing one back to 0700. Refuses a shared folder (sticky bit, as /tmp)
 * or one owned by another user, rather than change its mode: the data folder must be the app's own.
 */
export function preparePrivateDataDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const st = fs.statSync(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if ((st.mode & 0o1000) !== 0 || (uid !== undefined && st.uid !== uid)) {
    throw new AppError(
      'DATABASE_UNAVAILABLE',
      `The data folder ${dir} is shared (${(st.mode & 0o1000) !== 0 ? 'sticky bit set' : `owned by uid ${st.uid}`}); ` +
        'choose a folder of your own (--data-dir or CRONIUM_DATA_DIR).',
    );
  }
  if ((st.mode & 0o777) !== PRIVATE_DIR_MODE) {
    fs.chmodSync(dir, PRIVATE_DIR_MODE);
    if (process.platform !== 'win32') console.warn(`[database] the data folder ${dir} had mode 0${(st.mode & 0o777).toString(8)}: set to 0700`);
  }
}

/** `clock` stamps the migrations applied now (the core passes its own). */
export function openDatabase(file: string, migrationsDir: string, clock: Clock = systemClock): AppDatabase {
  let sqlite: BetterSqlite3.Database;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
    // Created 0600 here rather than by SQLite with the umask's mode; -wal and -shm then inherit 0600 from it.
    fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
    makeFilesPrivate(file);
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
    migrate(sqlite, migrationsDir, clock);
    // Files an older version (or another tool) left with looser modes are private again from here on.
    makeFilesPrivate(file);
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
