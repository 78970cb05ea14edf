/**
 * The resident runner process (`cronium-runner resident daemon`): one per server user, under systemd --user or as a
 * supervised background process (launch.ts). It holds the lock file, loads and verifies the signed manifest (again
 * whenever it changes: SIGHUP from `resident install`, or a 2 s look at the file), and fires each schedule with the
 * server's clock through ResidentScheduler. A fire starts the job exactly as the app's `run` does (a detached
 * `cronium-runner run --job <id> --payload <checksum> --server-fired`, same supervisor, same spool), in the job folder
 * named after the fire key, so one scheduled time is never run twice. Every fire is appended to fires.jsonl.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { residentFireKey, residentJobIdFromHash, residentJobSeed, type ResidentFire, type ResidentSchedule } from '../../src-shared/protocol/resident';
import { readJobState } from '../job-folder';
import { isAlive } from '../job/supervisor';
import { jobDir, residentDir } from '../paths';
import { loadManifest } from './manifest';
import { appendFire, countStart, readLast, releaseLock, selfCommand, takeLock, trimFires, writeLast } from './resident-files';
import { ResidentScheduler } from './resident-scheduler';

const MANIFEST_POLL_MS = 2_000;

export function jobIdForFire(serverId: string, fireKey: string): string {
  return residentJobIdFromHash(createHash('sha256').update(residentJobSeed(serverId, fireKey)).digest('hex'));
}

/** Starts one server fire; returns its record (fired, skipped for overlap, or failed with the reason). */
export function startServerFire(
  serverId: string,
  schedule: ResidentSchedule,
  scheduledForMs: number,
  trigger: 'schedule' | 'catch_up',
  env: NodeJS.ProcessEnv,
  lastJobOf: Map<string, string>,
): ResidentFire | null {
  const fireKey = residentFireKey(schedule.id, scheduledForMs);
  const jobId = jobIdForFire(serverId, fireKey);
  const base = { fireKey, scheduleId: schedule.id, version: schedule.version, scheduledFor: new Date(scheduledForMs).toISOString(), firedAt: new Date().toISOString(), trigger };
  const dir = jobDir(jobId, env);
  if (fs.existsSync(dir)) return null; // this scheduled time already has its job: never twice
  const previous = lastJobOf.get(schedule.id);
  if (previous && schedule.overlapPolicy === 'skip') {
    const st = readJobState(jobDir(previous, env));
    if (st && st.state !== 'exited' && st.supervisorPid && isAlive(st.supervisorPid)) {
      return { ...base, outcome: 'skipped_overlap', reason: `the previous run (job ${previous}) was still running` };
    }
  }
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'fire.json'), JSON.stringify({ ...base, jobId }), { mode: 0o600 });
    const out = fs.openSync(path.join(dir, 'runner.out'), 'a', 0o600);
    const [cmd, ...args] = selfCommand(['run', '--job', jobId, '--payload', schedule.payload, '--server-fired']);
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out], env, cwd: dir });
    child.unref();
    fs.closeSync(out);
    lastJobOf.set(schedule.id, jobId);
    return { ...base, outcome: 'fired', jobId };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ...base, outcome: 'failed', jobId, reason: `the server could not start the job${code === 'ENOSPC' ? ' (the disk is full)' : ''}: ${(err as Error).message}` };
  }
}

export async function runDaemon(env: NodeJS.ProcessEnv, log: (text: string) => void): Promise<number> {
  fs.mkdirSync(residentDir(env), { recursive: true, mode: 0o700 });
  if (!takeLock(env, selfCommand(['resident', 'daemon']))) {
    log('another resident runner holds the lock: exiting');
    return 0;
  }
  countStart(env);
  trimFires(env);
  const last = readLast(env);
  const lastJobOf = new Map<string, string>();
  /** Records a full disk kept from being written: retried on the next fire. */
  const unwritten: ResidentFire[] = [];
  const record = (fire: ResidentFire) => {
    unwritten.push(fire);
    while (unwritten.length > 0) {
      try {
        appendFire(env, unwritten[0]);
        unwritten.shift();
      } catch (err) {
        log(`could not record a fire: ${(err as Error).message}`);
        if (unwritten.length > 1000) unwritten.shift();
        return;
      }
    }
  };
  const scheduler = new ResidentScheduler({
    clock: {
      now: () => Date.now(),
      setTimer: (fn, ms) => {
        const t = setTimeout(fn, ms);
        return { cancel: () => clearTimeout(t) };
      },
    },
    lastHandled: last,
    persist: () => writeLast(env, last),
    fire: (schedule, t, decision) => {
      if (decision === 'skipped_misfire') {
        const fireKey = residentFireKey(schedule.id, t);
        record({
          fireKey, scheduleId: schedule.id, version: schedule.version, scheduledFor: new Date(t).toISOString(), firedAt: new Date().toISOString(),
          outcome: 'skipped_misfire', trigger: 'catch_up', reason: `missed while the resident runner was not running (misfire policy ${schedule.misfirePolicy})`,
        });
        return;
      }
      const fire = startServerFire(serverId, schedule, t, decision === 'catch_up' ? 'catch_up' : 'schedule', env, lastJobOf);
      if (fire) {
        log(`${fire.outcome} ${fire.fireKey}${fire.jobId ? ` job ${fire.jobId}` : ''}${fire.reason ? `: ${fire.reason}` : ''}`);
        record(fire);
      }
    },
  });
  let serverId = '';
  let loadedSha: string | null | undefined;
  const reload = () => {
    const m = loadManifest(env);
    if (m.sha256 === loadedSha) return;
    loadedSha = m.sha256;
    if (!m.ok) {
      log(`manifest: ${m.error}`);
      scheduler.load([]);
      return;
    }
    log(`manifest ${m.sha256.slice(0, 12)}: ${m.manifest.schedules.length} schedule(s)`);
    serverId = m.manifest.serverId;
    scheduler.load(m.manifest.schedules);
  };
  reload();
  const poll = setInterval(reload, MANIFEST_POLL_MS);
  await new Promise<void>((resolve) => {
    process.on('SIGHUP', reload);
    const stop = (sig: string) => {
      log(`${sig}: stopping`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  clearInterval(poll);
  scheduler.stop();
  releaseLock(env);
  return 0;
}
