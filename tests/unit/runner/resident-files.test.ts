/**
 * The resident runner's files, on real temp folders and real processes: fires.jsonl stays bounded however many fires
 * are appended (trimmed as it grows, not only at daemon start), `status` prints only the records after the app's
 * cursor, and the lock trusts a pid only while it is the same process (its start time): a pid record whose process
 * is now another one (a pid reused after a reboot) is stale, its lock is taken over, and it is never signalled, not by
 * stopResident nor by the removal shell snippet.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { firesAfter } from '../../../src-runner/commands/resident';
import { stopResident } from '../../../src-runner/resident/launch';
import {
  MAX_FIRE_RECORDS,
  MAX_FIRES_BYTES,
  appendFire,
  liveResident,
  processStartTime,
  readFires,
  readPid,
  releaseLock,
  removeStaleLock,
  takeLock,
  type PidRecord,
} from '../../../src-runner/resident/resident-files';
import { RESIDENT_REMOVAL_SHELL, residentFireKey, type ResidentFire } from '../../../src-shared/protocol/resident';

const homes: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

function home(): NodeJS.ProcessEnv {
  const h = fs.mkdtempSync(path.join(os.tmpdir(), 'resident-files-'));
  homes.push(h);
  fs.mkdirSync(path.join(h, 'resident'), { recursive: true });
  return { CRONIUM_RUNNER_HOME: h, HOME: h };
}

function fire(i: number, reason = ''): ResidentFire {
  const t = Date.parse('2027-01-01T00:00:00Z') + i * 1000;
  return { fireKey: residentFireKey('ev1', t), scheduleId: 'ev1', version: 1, scheduledFor: new Date(t).toISOString(), firedAt: new Date(t).toISOString(), outcome: 'failed', trigger: 'schedule', reason };
}

/** An unrelated process of this user (stands for whatever reused the resident runner's pid). */
function unrelated(): ChildProcess {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

function writePid(env: NodeJS.ProcessEnv, rec: PidRecord): void {
  fs.writeFileSync(path.join(env.CRONIUM_RUNNER_HOME!, 'resident', 'resident.pid'), JSON.stringify(rec));
}

/** The signal that ended `c`: killed here with SIGKILL unless something else ended it before. */
async function endingSignal(c: ChildProcess): Promise<NodeJS.Signals | null> {
  if (c.exitCode === null && c.signalCode === null) {
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  }
  return c.signalCode;
}

describe('fires.jsonl', () => {
  it('stays bounded (bytes and records) after many appends, keeping the newest', () => {
    const env = home();
    const file = path.join(env.CRONIUM_RUNNER_HOME!, 'resident', 'fires.jsonl');
    const reason = 'x'.repeat(400);
    const n = Math.ceil((3 * MAX_FIRES_BYTES) / 600);
    let largest = 0;
    for (let i = 0; i < n; i++) {
      appendFire(env, fire(i, reason));
      largest = Math.max(largest, fs.statSync(file).size);
    }
    expect(largest).toBeLessThanOrEqual(MAX_FIRES_BYTES + 1024);
    const kept = readFires(env);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThanOrEqual(MAX_FIRE_RECORDS);
    expect(kept.at(-1)?.fireKey).toBe(fire(n - 1).fireKey);
  });

  it('small records are bounded in count too', () => {
    const env = home();
    for (let i = 0; i < MAX_FIRE_RECORDS * 3; i++) appendFire(env, fire(i));
    expect(readFires(env).length).toBeLessThanOrEqual(Math.ceil(MAX_FIRES_BYTES / 200));
  });

  it('status prints only the records after the cursor (all when the cursor is not there any more)', () => {
    const fires = [fire(1), fire(2), fire(3)];
    expect(firesAfter(fires, fire(2).fireKey).map((f) => f.fireKey)).toEqual([fire(3).fireKey]);
    expect(firesAfter(fires, fire(3).fireKey)).toEqual([]);
    expect(firesAfter(fires, fire(9).fireKey)).toHaveLength(3);
    expect(firesAfter(fires, undefined)).toHaveLength(3);
  });
});

describe('resident lock (pid plus process start time)', () => {
  it('records the start time and trusts a record only while the start time matches', () => {
    const env = home();
    const c = unrelated();
    const start = processStartTime(c.pid!);
    expect(start).toBeTruthy();
    writePid(env, { pid: c.pid!, argv: ['cronium-runner', 'resident', 'daemon'], startedAt: new Date().toISOString(), procStart: start! });
    expect(liveResident(env)?.pid).toBe(c.pid);
    writePid(env, { pid: c.pid!, argv: ['cronium-runner', 'resident', 'daemon'], startedAt: new Date().toISOString(), procStart: `${start}1` });
    expect(liveResident(env)).toBeNull();
  });

  it('a record whose start time does not match is stale: the lock is taken over and its pid is never killed', async () => {
    const env = home();
    const c = unrelated();
    const stale: PidRecord = { pid: c.pid!, argv: ['cronium-runner', 'resident', 'daemon'], startedAt: '2026-01-01T00:00:00.000Z', procStart: '1' };
    writePid(env, stale);
    await stopResident(env);
    execFileSync('sh', ['-c', RESIDENT_REMOVAL_SHELL.replace(/rm -rf "\$r"/, 'true')], { env: { ...process.env, ...env } });
    expect(takeLock(env, ['self'])).toBe(true);
    const mine = readPid(env);
    expect(mine?.pid).toBe(process.pid);
    expect(mine?.procStart).toBe(processStartTime(process.pid));
    releaseLock(env);
    expect(readPid(env)).toBeNull();
    // Still running until killed here: neither stopResident nor the removal snippet signalled it.
    expect(await endingSignal(c)).toBe('SIGKILL');
  });

  it('removing a stale lock never deletes a fresh one written after it was judged stale', () => {
    const env = home();
    const file = path.join(env.CRONIUM_RUNNER_HOME!, 'resident', 'resident.pid');
    const stale = JSON.stringify({ pid: 999_999, argv: [], startedAt: '2026-01-01T00:00:00.000Z', procStart: '1' });
    const fresh = JSON.stringify({ pid: process.pid, argv: [], startedAt: '2027-01-01T00:00:00.000Z', procStart: '2' });
    fs.writeFileSync(file, fresh);
    removeStaleLock(file, stale);
    expect(fs.readFileSync(file, 'utf8')).toBe(fresh);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['resident.pid']);
    removeStaleLock(file, fresh);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('an old record without a start time is trusted only for a resident daemon command line', () => {
    const env = home();
    const c = unrelated();
    writePid(env, { pid: c.pid!, argv: ['cronium-runner', 'resident', 'daemon'], startedAt: '2026-01-01T00:00:00.000Z' });
    expect(liveResident(env)).toBeNull();
  });

  it('a live holder keeps the lock; the removal snippet signals it when the start time matches', async () => {
    const env = home();
    const c = unrelated();
    writePid(env, { pid: c.pid!, argv: ['x'], startedAt: new Date().toISOString(), procStart: processStartTime(c.pid!)! });
    expect(takeLock(env, ['self'])).toBe(false);
    expect(readPid(env)?.pid).toBe(c.pid);
    execFileSync('sh', ['-c', RESIDENT_REMOVAL_SHELL], { env: { ...process.env, ...env } });
    await new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve(null) : c.once('exit', resolve)));
    expect(c.signalCode).toBe('SIGTERM');
  });
});
