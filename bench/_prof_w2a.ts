import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import { openDatabase } from '../src-main/core/db/database';
import { EventBus } from '../src-main/core/event-bus';
import { LogStore } from '../src-main/core/logs/log-store';
import { LogSinkImpl } from '../src-main/core/logs/log-sink';
import { LineSplitter } from '../src-main/core/logs/line-splitter';
async function main() {
  let text = ''; for (let i = 1; i <= 1000000; i++) text += i + '\n';
  const buf = Buffer.from(text); const chunks: Buffer[] = []; for (let o = 0; o < buf.length; o += 32768) chunks.push(buf.subarray(o, o + 32768));
  let t = performance.now(); const sp = new LineSplitter(); let n = 0; for (const c of chunks) n += sp.push(c).length; console.log('split', n, performance.now() - t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prof-'));
  const db = openDatabase(path.join(dir, 'x.sqlite'), path.resolve('migrations'));
  const now = new Date().toISOString();
  db.sqlite.prepare("insert into jobs (id,status,created_at,updated_at) values ('j','RUNNING',?,?)").run(now, now);
  const store = new LogStore(db, new EventBus());
  const logId = await store.create({ jobId: 'j', eventId: null, serverId: null });
  const sink = new LogSinkImpl(logId, store, []);
  t = performance.now(); for (const c of chunks) sink.writeChunk('stdout', c); sink.end(); await sink.flush(); console.log('sink+store', performance.now() - t);
  const raw = db.sqlite.prepare('INSERT INTO log_lines (log_id, seq, stream, ts, text) VALUES (?, ?, ?, ?, ?)');
  const lid = logId;
  t = performance.now(); const tx = db.sqlite.transaction((a: number, b: number) => { for (let i = a; i < b; i++) raw.run(lid, i, 'stdout', now, String(i)); });
  for (let i = 2000001; i <= 3000000; i += 5000) tx(i, i + 5000); console.log('raw insert', performance.now() - t);
  db.close(); fs.rmSync(dir, { recursive: true });
}
main();
