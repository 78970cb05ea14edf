/**
 * Starting, stopping and removing the resident runner. `ensure` picks the start mode: a systemd --user service
 * (cronium-resident.service, Restart=always) where the server runs systemd and the user has lingering (so it runs
 * without a login session and after a reboot); otherwise a supervised background process (setsid, lock file), which
 * the app's next connection restarts when it is gone. It says why systemd is not used, and offers
 * `loginctl enable-linger <user>` when lingering is all that is missing. A resident runner started from another
 * runner file (an upgrade) is replaced. `uninstall` stops it, removes the unit and the resident folder.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RESIDENT_UNIT } from '../../src-shared/protocol/resident';
import { RUNNER_HOME_ENV, residentDir } from '../paths';
import { DAEMON_LOG, isRecordedProcess, liveResident, readPid, residentFile, selfCommand, writeMode, type ModeRecord } from './resident-files';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }) };
  } catch (err) {
    return { ok: false, out: String((err as { stderr?: string }).stderr ?? (err as Error).message) };
  }
}

function userName(env: NodeJS.ProcessEnv): string {
  return env.USER || env.LOGNAME || os.userInfo().username;
}

/** Whether systemd --user can hold the resident runner here, and if not, why (and the linger command when it helps). */
export function detectSystemd(env: NodeJS.ProcessEnv): ModeRecord {
  if (env.CRONIUM_RESIDENT_NO_SYSTEMD === '1') return { mode: 'process', systemdNote: 'systemd use is turned off for this runner (CRONIUM_RESIDENT_NO_SYSTEMD=1)', lingerCommand: null };
  if (!fs.existsSync('/run/systemd/system')) return { mode: 'process', systemdNote: 'this server does not run systemd', lingerCommand: null };
  const user = userName(env);
  const linger = run('loginctl', ['show-user', user, '--property=Linger', '--value'], env);
  const lingerOn = linger.ok && linger.out.trim() === 'yes';
  if (!lingerOn) {
    return {
      mode: 'process',
      systemdNote: `systemd is there but lingering is off for ${user}, so a user service would stop at logout; an administrator can enable it once`,
      lingerCommand: `sudo loginctl enable-linger ${user}`,
    };
  }
  const userEnv = { ...env, XDG_RUNTIME_DIR: env.XDG_RUNTIME_DIR || `/run/user/${process.getuid?.() ?? ''}` };
  const reach = run('systemctl', ['--user', 'show-environment'], userEnv);
  if (!reach.ok) return { mode: 'process', systemdNote: `systemctl --user does not answer: ${reach.out.trim().slice(0, 200)}`, lingerCommand: null };
  return { mode: 'systemd', systemdNote: null, lingerCommand: null };
}

function unitPath(env: NodeJS.ProcessEnv): string {
  return path.join(env.HOME || os.homedir(), '.config', 'systemd', 'user', RESIDENT_UNIT);
}

function unitText(env: NodeJS.ProcessEnv): string {
  const quote = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  const home = env[RUNNER_HOME_ENV];
  return [
    '[Unit]',
    'Description=Cronium resident runner (server-held schedules)',
    '',
    '[Service]',
    `ExecStart=${selfCommand(['resident', 'daemon']).map(quote).join(' ')}`,
    ...(home ? [`Environment=${quote(`${RUNNER_HOME_ENV}=${home}`)}`] : []),
    'Restart=always',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

function startProcess(env: NodeJS.ProcessEnv): void {
  fs.mkdirSync(residentDir(env), { recursive: true, mode: 0o700 });
  const out = fs.openSync(residentFile(env, DAEMON_LOG), 'a', 0o600);
  const [cmd, ...args] = selfCommand(['resident', 'daemon']);
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out], env, cwd: residentDir(env) });
  child.unref();
  fs.closeSync(out);
}

async function waitForLock(env: NodeJS.ProcessEnv, ms: number): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (liveResident(env)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops the resident runner the lock names; a pid now held by another process (reused after a reboot) is left alone. */
export async function stopResident(env: NodeJS.ProcessEnv): Promise<void> {
  const rec = readPid(env);
  if (!rec || !isRecordedProcess(rec)) return;
  try {
    process.kill(rec.pid, 'SIGTERM');
  } catch {
    return;
  }
  for (const end = Date.now() + 3_000; Date.now() < end && isRecordedProcess(rec); ) await new Promise((r) => setTimeout(r, 50));
  if (isRecordedProcess(rec)) {
    try {
      process.kill(rec.pid, 'SIGKILL');
    } catch {}
  }
}

/** Makes sure the resident runner runs (started now if it was not); returns the mode it runs in. */
export async function ensureResident(env: NodeJS.ProcessEnv): Promise<ModeRecord & { started: boolean }> {
  const mode = detectSystemd(env);
  writeMode(env, mode);
  const live = liveResident(env);
  const wanted = selfCommand(['resident', 'daemon']);
  // Started from another runner file (the runner was upgraded): replaced by this one.
  if (live && JSON.stringify(live.argv) !== JSON.stringify(wanted)) await stopResident(env);
  if (mode.mode === 'systemd') {
    const file = unitPath(env);
    const text = unitText(env);
    const changed = !fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text;
    if (changed) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text, { mode: 0o644 });
      run('systemctl', ['--user', 'daemon-reload'], env);
    }
    const already = liveResident(env) !== null;
    run('systemctl', ['--user', 'enable', RESIDENT_UNIT], env);
    run('systemctl', ['--user', changed ? 'restart' : 'start', RESIDENT_UNIT], env);
    await waitForLock(env, 3_000);
    return { ...mode, started: !already };
  }
  if (liveResident(env)) return { ...mode, started: false };
  startProcess(env);
  await waitForLock(env, 3_000);
  return { ...mode, started: true };
}

/** Stops the resident runner, removes its systemd unit (if any) and the resident folder with its schedules. */
export async function uninstallResident(env: NodeJS.ProcessEnv): Promise<void> {
  const file = unitPath(env);
  if (fs.existsSync(file)) {
    run('systemctl', ['--user', 'disable', '--now', RESIDENT_UNIT], env);
    fs.rmSync(file, { force: true });
    run('systemctl', ['--user', 'daemon-reload'], env);
  }
  await stopResident(env);
  fs.rmSync(residentDir(env), { recursive: true, force: true });
}

