/**
 * The resident runner's small files in ~/.cronium/resident/: the lock/pid file (resident.pid, JSON: pid, the command
 * it runs as, start time, and the process's start time as the system tells it, so a pid reused after a reboot is
 * never taken for the resident runner, nor signalled), the fire records (bounded: trimmed as they are appended) (fires.jsonl, one ResidentFire a line, read by the app's collection), the
 * last scheduled time handled per schedule (last.json, for the misfire policy after a restart), the start mode chosen
 * by `ensure` (mode.json) and the restart counter. Also how this runner starts itself again (selfCommand).
 */
import { execFileSync } from 'node:child_process';
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
/** A trim keeps at most this many fire records (the app collects long before), and at most MAX_FIRES_BYTES / 2 bytes. */
export const MAX_FIRE_RECORDS = 5000;
/** fires.jsonl is trimmed when an append takes it past this size, so it (and `status`) stays bounded. */
export const MAX_FIRES_BYTES = 2 * 1024 * 1024;

export interface PidRecord {
  pid: number;
  argv: string[];
  startedAt: string;
  /** processStartTime(pid) when the lock was taken (absent in records of older runners, or where it is unknown). */
  procStart?: string;
}

/**
 * When process `pid` started, as the system tells it: /proc/<pid>/stat field 22 (clock ticks since boot), or where
 * there is no /proc (macOS) `ps -o lstart=`. Null when the process is gone or this cannot be told.
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command (field 2) may hold spaces and parentheses: fields from the last ')' on start at 3 (state).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3] ?? null;
  } catch {
    if (fs.existsSync('/proc/self/stat')) return null; // /proc is there: the process is gone
  }
  try {
    return execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim() || null;
  } catch {
    return null;
  }
}

function processCommandLine(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    // no /proc: ps below
  }
  try {
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * Whether the process a pid record names still runs: its pid is alive and is the same process (the same start time;
 * for a record of an older runner, without one, its command line is a resident daemon's). A pid reused by another
 * process (after a reboot) is not: it is neither trusted as the resident runner nor signalled.
 */
export function isRecordedProcess(rec: PidRecord): boolean {
  if (!isAlive(rec.pid)) return false;
  if (rec.procStart !== undefined) return processStartTime(rec.pid) === rec.procStart;
  return processCommandLine(rec.pid)?.endsWith(' resident daemon') === true;
}

/** argv that starts this very runner again (the SEA itself, or Node with this bundle), plus `args`. */
export function selfCommand(args: string[]): string[] {
  return [process.execPath, ...(runtimeKind() === 'js' ? [__filename] : []), ...args];
}

export function residentFile(env: NodeJS.ProcessEnv, name: string): string {
  return path.join(residentDir(env), name);
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function parsePid(text: string | null): PidRecord | null {
  try {
    const rec = JSON.parse(text ?? '') as PidRecord;
    return Number.isInteger(rec.pid) && rec.pid > 0 && (rec.procStart === undefined || typeof rec.procStart === 'string') ? rec : null;
  } catch {
    return null;
  }
}

export function readPid(env: NodeJS.ProcessEnv): PidRecord | null {
  return parsePid(readText(residentFile(env, PID_FILE)));
}

/** The live resident runner's pid record, or null (no file, or its process is gone or is another process now). */
export function liveResident(env: NodeJS.ProcessEnv): PidRecord | null {
  const rec = readPid(env);
  return rec && isRecordedProcess(rec) ? rec : null;
}

/**
 * Removes a stale lock file only if it still holds `seen` (the record judged stale): it is moved aside first and
 * checked there, so a fresh lock another resident runner took in between is put back, never deleted.
 */
export function removeStaleLock(file: string, seen: string | null): void {
  const aside = `${file}.stale.${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // already gone
  }
  if (readText(aside) !== seen) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // yet another lock took the place: that one stands
    }
  }
  fs.rmSync(aside, { force: true });
}

/**
 * Takes the lock: creates resident.pid exclusively and whole (written aside, then hard-linked into place); a stale
 * one (its process gone, or its pid now another process) is replaced. Returns false when another resident runner
 * holds it.
 */
export function takeLock(env: NodeJS.ProcessEnv, argv: string[]): boolean {
  const file = residentFile(env, PID_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const procStart = processStartTime(process.pid);
  const record: PidRecord = { pid: process.pid, argv, startedAt: new Date().toISOString(), ...(procStart ? { procStart } : {}) };
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        try {
          fs.linkSync(tmp, file);
        } catch (err) {
          // A file system without hard links: created exclusively in place instead.
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw err;
          fs.writeFileSync(file, JSON.stringify(record), { flag: 'wx', mode: 0o600 });
        }
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const seen = readText(file);
        const holder = parsePid(seen);
        if (holder && holder.pid !== process.pid && isRecordedProcess(holder)) return false;
        removeStaleLock(file, seen);
      }
    }
    return false;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export function releaseLock(env: NodeJS.ProcessEnv): void {
  const rec = readPid(env);
  if (rec?.pid === process.pid) fs.rmSync(residentFile(env, PID_FILE), { force: true });
}

/** Appends one fire record; past MAX_FIRES_BYTES the file is trimmed (to half of it at most), so it stays bounded. */
export function appendFire(env: NodeJS.ProcessEnv, fire: ResidentFire): void {
  const file = residentFile(env, FIRES_FILE);
  fs.appendFileSync(file, JSON.stringify(fire) + '\n', { mode: 0o600 });
  if ((fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) > MAX_FIRES_BYTES) trimFires(env);
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

/** Keeps the newest MAX_FIRE_RECORDS records that fit in MAX_FIRES_BYTES / 2 bytes. */
export function trimFires(env: NodeJS.ProcessEnv): void {
  const file = residentFile(env, FIRES_FILE);
  const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  const fires = readFires(env);
  if (fires.length <= MAX_FIRE_RECORDS && size <= MAX_FIRES_BYTES / 2) return;
  const kept: string[] = [];
  let bytes = 0;
  for (let i = fires.length - 1; i >= 0 && kept.length < MAX_FIRE_RECORDS; i--) {
    const line = JSON.stringify(fires[i]) + '\n';
    if (bytes + Buffer.byteLength(line) > MAX_FIRES_BYTES / 2) break;
    bytes += Buffer.byteLength(line);
    kept.push(line);
  }
  fs.writeFileSync(`${file}.tmp`, kept.reverse().join(''), { mode: 0o600 });
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
