/**
 * Statements prepared once per SQL shape, for a store's hot writes (per job, per status change): built through
 * kysely, each call compiled and prepared its SQL again (bench/fleet-bench.ts profile at 40 hosts: about a tenth of
 * the app's main thread). Column names come from the store's own code, never from input; they are still checked
 * and quoted, so a slip cannot become SQL.
 */
import type BetterSqlite3 from 'better-sqlite3';

const COLUMN = /^[a-z_][a-z0-9_]*$/;

export class PreparedStatements {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(private readonly sqlite: BetterSqlite3.Database) {}

  /** The statement for `shape` (a key naming the SQL's form), prepared from sqlText() the first time. */
  get(shape: string, sqlText: () => string): BetterSqlite3.Statement {
    let statement = this.statements.get(shape);
    if (!statement) {
      statement = this.sqlite.prepare(sqlText());
      this.statements.set(shape, statement);
    }
    return statement;
  }

  /** `INSERT INTO table ("a", "b") VALUES (?, ?)` for these columns, prepared once per column set. */
  insert(table: string, columns: readonly string[]): BetterSqlite3.Statement {
    return this.get(`insert ${table}:${columns.join(',')}`, () => `INSERT INTO ${quoted(table)} (${columns.map(quoted).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  }

  /** `UPDATE table SET "a" = ?, "b" = ? WHERE <where>` for these columns, prepared once per column set. */
  update(table: string, columns: readonly string[], where: string): BetterSqlite3.Statement {
    return this.get(`update ${table}:${columns.join(',')} where ${where}`, () => `UPDATE ${quoted(table)} SET ${columns.map((c) => `${quoted(c)} = ?`).join(', ')} WHERE ${where}`);
  }
}

function quoted(name: string): string {
  if (!COLUMN.test(name)) throw new Error(`not a column or table name: ${JSON.stringify(name)}`);
  return `"${name}"`;
}
