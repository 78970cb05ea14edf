import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import Database from 'better-sqlite3';
function run(label: string, ddl: string, row: (i: number) => unknown[], tmp = os.tmpdir()) {
  const dir = fs.mkdtempSync(path.join(tmp, 'prof-'));
  const db = new Database(path.join(dir, 'x.sqlite')); db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL');
  db.exec(ddl);
  const cols = row(0).length;
  const st = db.prepare(`INSERT INTO t VALUES (${Array(cols).fill('?').join(',')})`);
  const tx = db.transaction((a: number, b: number) => { for (let i = a; i < b; i++) st.run(...row(i)); });
  const t = performance.now(); for (let i = 1; i <= 300000; i += 10000) tx(i, i + 10000);
  console.log(label, Math.round(300000 / ((performance.now() - t) / 1000)), 'rows/s');
  db.close(); fs.rmSync(dir, { recursive: true });
}
const now = new Date().toISOString(); const lid = '0f8fad5b-d9cb-469f-a165-70867728950e';
run('plain (a,b)', 'CREATE TABLE t(a INTEGER, b TEXT)', (i) => [i, String(i)]);
run('log_lines shape, rowid', 'CREATE TABLE t(log_id TEXT, seq INTEGER, stream TEXT, ts TEXT, text TEXT)', (i) => [lid, i, 'stdout', now, String(i)]);
run('log_lines shape, WITHOUT ROWID pk', 'CREATE TABLE t(log_id TEXT NOT NULL, seq INTEGER NOT NULL, stream TEXT, ts TEXT, text TEXT, PRIMARY KEY (log_id, seq)) WITHOUT ROWID', (i) => [lid, i, 'stdout', now, String(i)]);
run('plain (a,b) on /dev/shm', 'CREATE TABLE t(a INTEGER, b TEXT)', (i) => [i, String(i)], '/dev/shm');
run('WITHOUT ROWID on /dev/shm', 'CREATE TABLE t(log_id TEXT NOT NULL, seq INTEGER NOT NULL, stream TEXT, ts TEXT, text TEXT, PRIMARY KEY (log_id, seq)) WITHOUT ROWID', (i) => [lid, i, 'stdout', now, String(i)], '/dev/shm');
