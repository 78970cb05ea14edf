/**
 * The reference the log benchmarks compare against, measured in the same run: raw better-sqlite3 inserts of one row
 * per line into a table shaped like the first log schema (log_lines: log id, seq, stream, ts, text; WITHOUT ROWID),
 * prepared multi-row statements of 100 rows, 10,000 rows per transaction, WAL with synchronous=NORMAL as the app
 * opens its database. The fastest one-row-per-line way this project knows; nothing of the app's is on the path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';

const PER_STATEMENT = 100;
const PER_TRANSACTION = 10_000;

export interface RowPerLineResult {
  linesPerSecond: number;
  /** Database file size (after a WAL checkpoint) per line. */
  bytesPerLine: number;
}

/** Inserts `lines` lines whose text is text(i) (i from 1) into a fresh database in `dir`. */
export function rowPerLineInserts(dir: string, lines: number, text: (i: number) => string): RowPerLineResult {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'row-per-line.sqlite');
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE log_lines (log_id TEXT NOT NULL, seq INTEGER NOT NULL, stream TEXT NOT NULL, ts TEXT NOT NULL, text TEXT NOT NULL,
      PRIMARY KEY (log_id, seq)) WITHOUT ROWID`);
    const logId = '00000000-0000-4000-8000-000000000000';
    const ts = new Date().toISOString();
    const insert = db.prepare(`INSERT INTO log_lines (log_id, seq, stream, ts, text) VALUES ${new Array(PER_STATEMENT).fill('(?, ?, ?, ?, ?)').join(', ')}`);
    const one = db.prepare('INSERT INTO log_lines (log_id, seq, stream, ts, text) VALUES (?, ?, ?, ?, ?)');
    const batch = db.transaction((from: number, to: number) => {
      let i = from;
      const args: unknown[] = new Array(PER_STATEMENT * 5);
      for (; i + PER_STATEMENT - 1 <= to; i += PER_STATEMENT) {
        for (let k = 0; k < PER_STATEMENT; k++) {
          const o = k * 5;
          args[o] = logId;
          args[o + 1] = i + k;
          args[o + 2] = 'stdout';
          args[o + 3] = ts;
          args[o + 4] = text(i + k);
        }
        insert.run(args);
      }
      for (; i <= to; i++) one.run(logId, i, 'stdout', ts, text(i));
    });
    const t0 = performance.now();
    for (let i = 1; i <= lines; i += PER_TRANSACTION) batch(i, Math.min(lines, i + PER_TRANSACTION - 1));
    const ms = performance.now() - t0;
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { linesPerSecond: (lines / ms) * 1000, bytesPerLine: fs.statSync(file).size / lines };
  } finally {
    db.close();
  }
}
