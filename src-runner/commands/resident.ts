/**
 * `cronium-runner resident <install|ensure|status|daemon|uninstall>`: the resident runner that fires server-held
 * schedules while the app is away (issue 15). `install` verifies and installs a signed schedule manifest read from
 * stdin (a bad signature is refused and nothing is written); `ensure` starts the resident runner when it is not
 * running (systemd --user or a background process, launch.ts); `status` prints ResidentStatus (mode, manifest, next
 * fires, the fire records after the app's cursor, RESIDENT_AFTER_ENV) for the app's collection; `daemon` is the
 * resident process itself; `uninstall` stops it and removes its unit and folder. Every subcommand but `daemon` prints one JSON line.
 */
import fs from 'node:fs';
import { RUNNER_EXIT_USAGE } from '../../src-shared/protocol/runner-info';
import { RESIDENT_AFTER_ENV, type ResidentFire, type ResidentStatus } from '../../src-shared/protocol/resident';
import { runDaemon } from '../resident/daemon';
import { ensureResident, uninstallResident } from '../resident/launch';
import { installManifest, loadManifest } from '../resident/manifest';
import { liveResident, readFires, readLast, readMode, readStarts } from '../resident/resident-files';
import { nextResidentFire } from '../resident/resident-scheduler';
import type { RunnerCommand } from './command';

/** The records after the last one with fire key `after` (all when it is not there: trimmed, or no cursor). */
export function firesAfter(fires: ResidentFire[], after: string | undefined): ResidentFire[] {
  if (!after) return fires;
  for (let i = fires.length - 1; i >= 0; i--) if (fires[i].fireKey === after) return fires.slice(i + 1);
  return fires;
}

export function residentStatus(env: NodeJS.ProcessEnv): ResidentStatus {
  const live = liveResident(env);
  const mode = readMode(env);
  const m = loadManifest(env);
  const now = Date.now();
  const last = readLast(env);
  const next = m.ok
    ? m.manifest.schedules.map((s) => {
        const t = nextResidentFire(s, last.get(s.id), now);
        return { scheduleId: s.id, nextFire: t === null ? null : new Date(t).toISOString() };
      })
    : [];
  return {
    running: live !== null,
    pid: live?.pid ?? null,
    mode: mode.mode,
    systemdNote: mode.systemdNote,
    lingerCommand: mode.lingerCommand,
    manifestSha256: m.sha256,
    manifestError: m.ok || m.sha256 === null ? null : m.error,
    now,
    restarts: readStarts(env),
    next,
    fires: firesAfter(readFires(env), env[RESIDENT_AFTER_ENV]),
  };
}

export const residentCommand: RunnerCommand = {
  summary: 'the resident runner for server-held schedules (started by the app)',
  args: 'install | ensure | status | daemon | uninstall',
  async run(args, io) {
    const [sub, ...rest] = args;
    if (rest.length > 0) {
      io.stderr(`resident: unexpected ${rest.join(' ')}\n`);
      return RUNNER_EXIT_USAGE;
    }
    const print = () => io.stdout(JSON.stringify(residentStatus(io.env)) + '\n');
    switch (sub) {
      case 'install': {
        try {
          installManifest(fs.readFileSync(0, 'utf8'), io.env);
        } catch (err) {
          io.stderr(`resident install: ${(err as Error).message}\n`);
          return 4;
        }
        const live = liveResident(io.env);
        if (live) process.kill(live.pid, 'SIGHUP');
        print();
        return 0;
      }
      case 'ensure':
        await ensureResident(io.env);
        print();
        return 0;
      case 'status':
        print();
        return 0;
      case 'daemon':
        return runDaemon(io.env, (text) => io.stderr(`${new Date().toISOString()} ${text}\n`));
      case 'uninstall':
        await uninstallResident(io.env);
        io.stdout('{"removed":true}\n');
        return 0;
      default:
        io.stderr('resident: needs install, ensure, status, daemon or uninstall\n');
        return RUNNER_EXIT_USAGE;
    }
  },
};
