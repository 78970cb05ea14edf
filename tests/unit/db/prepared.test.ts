// PreparedStatements (real SQLite): one statement per shape, column names quoted (a keyword works) and checked (a
// name that is not a plain identifier is refused before it reaches SQL).
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { PreparedStatements } from '../../../src-main/core/db/prepared';

it('inserts and updates by column set, reusing the statement of a shape, with keyword column names', () => {
  const sqlite = new Database(':memory:');
  sqlite.exec('CREATE TABLE t (id TEXT PRIMARY KEY, "order" INTEGER, note TEXT)');
  const prepared = new PreparedStatements(sqlite);
  prepared.insert('t', ['id', 'order']).run('a', 1);
  prepared.insert('t', ['id', 'order']).run('b', 2);
  expect(prepared.insert('t', ['id', 'order'])).toBe(prepared.insert('t', ['id', 'order']));
  prepared.update('t', ['order', 'note'], 'id = ?').run(5, null, 'a');
  expect(sqlite.prepare('SELECT id, "order", note FROM t ORDER BY id').all()).toEqual([
    { id: 'a', order: 5, note: null },
    { id: 'b', order: 2, note: null },
  ]);
});

it('refuses a column name that is not a plain identifier', () => {
  const prepared = new PreparedStatements(new Database(':memory:'));
  expect(() => prepared.update('t', ['note = 1; DROP TABLE t; --'], 'id = ?')).toThrow(/not a column or table name/);
  expect(() => prepared.insert('t', ['a"b'])).toThrow(/not a column or table name/);
});
