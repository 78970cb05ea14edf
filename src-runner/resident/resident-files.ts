/**
 * The resident runner's small files in ~/.cronium/resident/: the lock/pid file (resident.pid, JSON: pid, the command
 * it runs as, start time), the fire records (fires.jsonl, one ResidentFire a line, read by the app's collection), the
 * last scheduled time handled per schedule (last.json, for the misfire policy after a restart), the start mode chosen
 * by `ensure` (mode.json) and the restart counter. Also how this runner starts itself again (selfCommand).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ResidentFire, type ResidentStartMode } from '../../src-shared/protocol/resident';
import { isAlive } from '../job/supervisor';
import { residentDir } from '../paths';
import { runtimeKind } from '../runtime-kind';

export const PID_FILE = 'resident.pid';
export const FIRES_FILE = 'fires.jsonl';
export const LAST_FILE = 'last.json';
export const MODE_FILE = 'mode.json';
export const STARTS_FILE = 'starts';
export const DAEMON_LOG = 'daemon.log';
/** fires.jsonl is cut to this many lines when the daemon starts (the app collects long before). */
export const MAX_FIRE_RECORDS = 5000;

export interface PidRecord {
  pid: number;
  argv: string[];
  startedAt: string;
}

/** argv that starts this very runner again (the SEA itself, or Node with this bundle), plus `args`. */
export function selfCommand(args: string[]): string[] {
  return [process.execPath, ...(runtimeKind() === 'js' ? [__filename] : []), ...args];
}

export function residentFile(env: NodeJS.ProcessEnv, name: string): string {
  return path.join(residentDir(env), name);
}

export function readPid(env: NodeJS.ProcessEnv): PidRecord | null {
  try {
    const rec = JSON.parse(fs.readFileSync(residentFile(env, PID_FILE), 'utf8')) as PidRecord;
    return Number.isInteger(rec.pid) && rec.pid > 0 ? rec : null;
  } catch {
    return null;
  }
}

/** The live resident runner's pid record, or null (no file, or its process is gone). */
export function liveResident(env: NodeJS.ProcessEnv): PidRecord | null {
  const rec = readPid(env);
  return rec && isAlive(rec.pid) ? rec : null;
}

/**
 * Takes the lock: creates resident.pid exclusively; a stale one (its process gone) is replaced. Returns false when
 * another resident runner holds it.
 */
export function takeLock(env: NodeJS.ProcessEnv, argv: string[]): boolean {
  const file = residentFile(env, PID_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const record: PidRecord = { pid: process.pid, argv, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(record), { flag: 'wx', mode: 0o600 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readPid(env);
      if (holder && holder.pid !== process.pid && isAlive(holder.pid)) return false;
      fs.rmSync(file, { force: true });
    }
  }
  return false;
}

export function releaseLock(env: NodeJS.ProcessEnv): void {
  const rec = readPid(env);
  if (rec?.pid === process.pid) fs.rmSync(residentFile(env, PID_FILE), { force: true });
}

export function appendFire(env: NodeJS.ProcessEnv, fire: ResidentFire): void {
  fs.appendFileSync(residentFile(env, FIRES_FILE), JSON.stringify(fire) + '\n', { mode: 0o600 });
}

export function readFires(env: NodeJS.ProcessEnv): ResidentFire[] {
  let text = '';
  try {
    text = fs.readFileSync(residentFile(env, FIRES_FILE), 'utf8');
  } catch {
    return [];
  }
  const out: ResidentFire[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const parsed = ResidentFire.safeParse(JSON.parse(line));
      if (parsed.success) out.push(parsed.data);
    } catch {
      // a line cut by a full disk: skipped
    }
  }
  return out;
}

export function trimFires(env: NodeJS.ProcessEnv): void {
  const fires = readFires(env);
  if (fires.length <= MAX_FIRE_RECORDS) return;
  const file = residentFile(env, FIRES_FILE);
  fs.writeFileSync(`${file}.tmp`, fires.slice(-MAX_FIRE_RECORDS).map((f) => JSON.stringify(f)).join('\n') + '\n', { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

export function readLast(env: NodeJS.ProcessEnv): Map<string, number> {
  try {
    return new Map(Object.entries(JSON.parse(fs.readFileSync(residentFile(env, LAST_FILE), 'utf8')) as Record<string, number>));
  } catch {
    return new Map();
  }
}

export function writeLast(env: NodeJS.ProcessEnv, last: Map<string, number>): void {
  const file = residentFile(env, LAST_FILE);
  try {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(Object.fromEntries(last)), { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
  } catch {
    // A full disk: the in-memory copy goes on; at worst a restart re-applies the misfire policy to these times.
  }
}

export interface ModeRecord {
  mode: ResidentStartMode;
  systemdNote: string | null;
  lingerCommand: string | null;
}

export function readMode(env: NodeJS.ProcessEnv): ModeRecord {
  try {
    return JSON.parse(fs.readFileSync(residentFile(env, MODE_FILE), 'utf8')) as ModeRecord;
  } catch {
    return { mode: 'none', systemdNote: null, lingerCommand: null };
  }
}

export function writeMode(env: NodeJS.ProcessEnv, rec: ModeRecord): void {
  fs.mkdirSync(residentDir(env), { recursive: true, mode: 0o700 });
  fs.writeFileSync(residentFile(env, MODE_FILE), JSON.stringify(rec), { mode: 0o600 });
}

export function readStarts(env: NodeJS.ProcessEnv): number {
  try {
    return Number(fs.readFileSync(residentFile(env, STARTS_FILE), 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

export function countStart(env: NodeJS.ProcessEnv): void {
  try {
    fs.writeFileSync(residentFile(env, STARTS_FILE), String(readStarts(env) + 1), { mode: 0o600 });
  } catch {
    // not worth stopping for
  }
}
