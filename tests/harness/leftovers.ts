/**
 * Test harness: who owns what the harness leaves on the machine (sshd folders and processes, network namespaces,
 * processes of the test users), so a run can tell its own live resources from those of an earlier run that was killed.
 *
 * Every harness process registers itself once (pid + kernel start time, so a reused pid is not mistaken for it) under
 * OWNERS_DIR, and stamps each resource it makes with that identity. A resource whose owner is no longer alive is a
 * leftover and is removed by the next run. A resource with no stamp (made by an older harness) counts as a leftover
 * only when no other harness process is alive. Everything removed is reported on stderr, one line each.
 */
import fs from 'node:fs';
import path from 'node:path';

const HARNESS_ROOT = '/run/cronium-test-harness';
const OWNERS_DIR = path.join(HARNESS_ROOT, 'owners');

export interface OwnerStamp {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: the process start time in clock ticks since boot. */
  startTime: string;
}

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function parentPid(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

export function isAlive(stamp: OwnerStamp): boolean {
  return processStartTime(stamp.pid) === stamp.startTime;
}

let self: OwnerStamp | undefined;

/** This process's identity, registered under OWNERS_DIR on first use and unregistered when it exits. */
export function selfStamp(): OwnerStamp {
  if (self) return self;
  self = { pid: process.pid, startTime: processStartTime(process.pid) ?? 'unknown' };
  fs.mkdirSync(OWNERS_DIR, { recursive: true, mode: 0o755 });
  const file = path.join(OWNERS_DIR, `${self.pid}-${self.startTime}`);
  fs.writeFileSync(file, '');
  process.once('exit', () => fs.rmSync(file, { force: true }));
  return self;
}

export function writeStamp(file: string, extra: Record<string, unknown> = {}): void {
  fs.writeFileSync(file, JSON.stringify({ ...selfStamp(), ...extra }), { mode: 0o644 });
}

export function readStamp<T extends object = Record<string, never>>(file: string): (OwnerStamp & T) | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof parsed?.pid === 'number' && typeof parsed?.startTime === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Other harness processes alive right now (their registrations; dead ones are removed on the way). */
export function otherLiveOwners(): OwnerStamp[] {
  const me = selfStamp();
  const live: OwnerStamp[] = [];
  for (const entry of fs.readdirSync(OWNERS_DIR)) {
    const match = /^(\d+)-(.+)$/.exec(entry);
    if (!match) continue;
    const stamp = { pid: Number(match[1]), startTime: match[2]! };
    if (stamp.pid === me.pid && stamp.startTime === me.startTime) continue;
    if (isAlive(stamp)) live.push(stamp);
    else fs.rmSync(path.join(OWNERS_DIR, entry), { force: true });
  }
  return live;
}

/**
 * Whether a resource stamped in `stampFile` is a leftover: its owner is dead, or it has no stamp and no other harness
 * process is alive (so nothing running can be using it).
 */
export function isLeftover(stampFile: string): boolean {
  const stamp = readStamp(stampFile);
  if (stamp) return !isAlive(stamp);
  return otherLiveOwners().length === 0;
}

/** Every descendant of pid, read from /proc (sshd's per-connection children call setsid, so no process group). */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentPid(Number(entry));
    if (ppid === undefined) continue; // ended while we were reading
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** SIGKILLs each pid that still exists; returns those it signalled. */
export function killAll(pids: number[]): number[] {
  const killed: number[] = [];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // already gone
    }
  }
  return killed;
}

/** Processes whose real uid is one of `uids`. */
export function processesOfUids(uids: Set<number>): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = fs.readFileSync(`/proc/${entry}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (uids.has(uid)) out.push(Number(entry));
    } catch {
      // ended while we were reading
    }
  }
  return out;
}

/** One line on stderr per thing repaired or removed, so a surprising first run explains itself. */
export function reportRepair(what: string): void {
  process.stderr.write(`[test harness] repaired: ${what}\n`);
}
