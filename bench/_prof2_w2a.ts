import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import { openDatabase } from '../src-main/core/db/database';
function run(label: string, fkOff: boolean, per: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prof-'));
  const db = openDatabase(path.join(dir, 'x.sqlite'), path.resolve('migrations'));
  const now = new Date().toISOString();
  db.sqlite.prepare("insert into jobs (id,status,created_at,updated_at) values ('j','RUNNING',?,?)").run(now, now);
  const lid = '0f8fad5b-d9cb-469f-a165-70867728950e';
  db.sqlite.prepare("insert into logs (id,job_id,status,created_at,updated_at) values (?,'j','RUNNING',?,?)").run(lid, now, now);
  const st = db.sqlite.prepare('INSERT INTO log_lines (log_id, seq, stream, ts, text) VALUES ' + Array(per).fill('(?,?,?,?,?)').join(','));
  const tx = db.sqlite.transaction((a: number, b: number) => { for (let i = a; i < b; i += per) { const args: unknown[] = []; for (let k = 0; k < per; k++) args.push(lid, i + k, 'stdout', now, String(i + k)); st.run(args); } });
  const N = 400000;
  const t = performance.now();
  for (let i = 1; i <= N; i += 5000) { if (fkOff) db.sqlite.pragma('foreign_keys = OFF'); tx(i, i + 5000); if (fkOff) db.sqlite.pragma('foreign_keys = ON'); }
  console.log(label, Math.round(N / ((performance.now() - t) / 1000)), 'rows/s');
  db.close(); fs.rmSync(dir, { recursive: true });
}
for (let r = 0; r < 2; r++) { run('fk on, 1/stmt', false, 1); run('fk off, 1/stmt', true, 1); run('fk on, 50/stmt', false, 50); run('fk off, 50/stmt', true, 50); }
