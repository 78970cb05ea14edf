/**
 * Migrator: applies the numbered SQL files of migrations/ (NNNN_name.sql) in order, each in its own transaction,
 * and records name, time and checksum in the `migrations` table. It never edits a recorded migration and refuses
 * to open a database whose applied files changed or that was written by a newer app (a recorded name it does not know).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { AppError } from '../errors';
import { systemClock, type Clock } from '../clock';
import { nowIso } from './ids';
import { encodeLogBlock } from '../logs/log-block-codec';
import type { LogLine, LogStream } from '../../../src-shared/contract/logs';

const MIGRATION_FILE = /^(\d{4})_[A-Za-z0-9_-]+\.sql$/;
/** A migration's marker line asking to run with foreign keys off (table rebuilds); see migrate(). */
const FOREIGN_KEYS_OFF = /^-- migrator: foreign_keys off$/m;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: string[];
}

export function readMigrations(migrationsDir: string): MigrationFile[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(migrationsDir);
  } catch (err) {
    throw new AppError('MIGRATIONS_MISSING', `The database migrations folder ${migrationsDir} cannot be read; the app install is incomplete.`, {
      cause: err,
    });
  }
  const files = entries.filter((f) => MIGRATION_FILE.test(f)).sort();
  const seen = new Set<string>();
  for (const f of files) {
    const num = f.slice(0, 4);
    if (seen.has(num)) {
      throw new AppError('MIGRATIONS_INVALID', `Two migration files share the number ${num} in ${migrationsDir}; each number must be used once.`);
    }
    seen.add(num);
  }
  return files.map((name) => {
    const sql = fs.readFileSync(path.join(migrationsDir, name), 'utf8');
    return { name, sql, checksum: sha256(sql) };
  });
}

function sha256(text: string): string {
  // Line endings are normalised so a checkout with CRLF does not look like an edited migration.
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
}

/**
 * SQL functions that migrations may call for steps SQL cannot do alone: cronium_log_block(seq, stream, ts, text), an
 * aggregate packing a group of log lines into one sealed log block (0009_log_blocks.sql).
 */
function registerMigrationFunctions(sqlite: BetterSqlite3.Database): void {
  sqlite.aggregate('cronium_log_block', {
    start: () => [] as LogLine[],
    // Four SQL arguments: better-sqlite3 counts them from the function's declared parameters (typed as one in its d.ts).
    step: ((lines: LogLine[], seq: number | bigint, stream: string, ts: string, text: string) => {
      lines.push({ seq: Number(seq), stream: stream as LogStream, ts, text });
      return lines;
    }) as unknown as (lines: LogLine[], next: LogLine) => LogLine[],
    result: (lines: LogLine[]) => encodeLogBlock(lines.sort((a, b) => a.seq - b.seq), true).data,
  });
}

export function migrate(sqlite: BetterSqlite3.Database, migrationsDir: string, clock: Clock = systemClock): MigrationResult {
  const files = readMigrations(migrationsDir);
  registerMigrationFunctions(sqlite);
  sqlite.exec(`CREATE TABLE IF NOT EXISTS migrations (
    name TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL,
    checksum TEXT NOT NULL
  )`);
  const recorded = sqlite.prepare('SELECT name, checksum FROM migrations ORDER BY name').all() as { name: string; checksum: string }[];
  const byName = new Map(files.map((f) => [f.name, f]));

  for (const row of recorded) {
    const file = byName.get(row.name);
    if (!file) {
      throw new AppError(
        'DATABASE_TOO_NEW',
        `The database was upgraded by a newer version of the app (it has migration ${row.name}, which this version does not know). ` +
          'Install the newer version again, or open a different data folder.',
        { details: { migration: row.name } },
      );
    }
    if (file.checksum !== row.checksum) {
      throw new AppError(
        'MIGRATION_CHANGED',
        `Migration ${row.name} was changed after it was applied to this database (checksum ${row.checksum.slice(0, 12)}… recorded, ` +
          `${file.checksum.slice(0, 12)}… on disk). Restore the original file; schema changes go into a new numbered migration.`,
        { details: { migration: row.name, recorded: row.checksum, onDisk: file.checksum } },
      );
    }
  }

  const done = new Set(recorded.map((r) => r.name));
  const record = sqlite.prepare('INSERT INTO migrations (name, applied_at, checksum) VALUES (?, ?, ?)');
  const applied: string[] = [];
  for (const file of files) {
    if (done.has(file.name)) continue;
    // A migration that rebuilds a referenced table (SQLite's 12-step ALTER) asks for foreign keys off while it runs:
    // with them on, DROP TABLE would cascade into the child rows. The keys are checked before it commits.
    const keysOff = FOREIGN_KEYS_OFF.test(file.sql) && sqlite.pragma('foreign_keys', { simple: true }) === 1;
    const apply = sqlite.transaction(() => {
      sqlite.exec(file.sql);
      if (keysOff) {
        const broken = sqlite.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw new Error(`it would leave ${broken.length} rows pointing at missing rows (foreign_key_check)`);
      }
      record.run(file.name, nowIso(clock.now()), file.checksum);
    });
    if (keysOff) sqlite.pragma('foreign_keys = OFF');
    try {
      apply();
    } catch (err) {
      throw new AppError('MIGRATION_FAILED', `Migration ${file.name} could not be applied: ${(err as Error).message}. The database was left as it was before this migration.`, {
        cause: err,
        details: { migration: file.name },
      });
    } finally {
      if (keysOff) sqlite.pragma('foreign_keys = ON');
    }
    applied.push(file.name);
  }
  return { applied };
}
