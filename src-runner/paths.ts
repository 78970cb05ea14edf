/**
 * Where the runner keeps things on a server: ~/.cronium/runners/<version>/, ~/.cronium/jobs/<jobId>/ and
 * ~/.cronium/payloads/<checksum>/, the resident runner's ~/.cronium/resident/ and the job hosts' ~/.cronium/jobhost/.
 * The one place these paths are spelled; the app's deployer uses the same layout.
 * It must never accept an id that could climb out of its folder (no '/', no '..').
 */
import os from 'node:os';
import path from 'node:path';
import { JOB_HOST_FOLDER } from '../src-shared/protocol/job-host';

/** Overrides ~/.cronium (tests give each simulated host its own folder, since network namespaces share a disk). */
export const RUNNER_HOME_ENV = 'CRONIUM_RUNNER_HOME';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function safeName(kind: string, value: string): string {
  if (!SAFE_NAME.test(value) || value.includes('..')) {
    throw new Error(`invalid ${kind} "${value}": use letters, digits, '.', '_' or '-' only`);
  }
  return value;
}

export function runnerHome(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[RUNNER_HOME_ENV];
  if (override && override.trim() !== '') return path.resolve(override);
  return path.join(env.HOME && env.HOME !== '' ? env.HOME : os.homedir(), '.cronium');
}

export function runnersRoot(env?: NodeJS.ProcessEnv): string {
  return path.join(runnerHome(env), 'runners');
}

export function runnerVersionDir(version: string, env?: NodeJS.ProcessEnv): string {
  return path.join(runnersRoot(env), safeName('runner version', version));
}

export function jobsRoot(env?: NodeJS.ProcessEnv): string {
  return path.join(runnerHome(env), 'jobs');
}

export function jobDir(jobId: string, env?: NodeJS.ProcessEnv): string {
  return path.join(jobsRoot(env), safeName('job id', jobId));
}

export function payloadsRoot(env?: NodeJS.ProcessEnv): string {
  return path.join(runnerHome(env), 'payloads');
}

export function payloadDir(checksum: string, env?: NodeJS.ProcessEnv): string {
  return path.join(payloadsRoot(env), safeName('payload checksum', checksum));
}

/** The resident runner's folder (signed schedule manifest, fire records, lock file, log). */
export function residentDir(env?: NodeJS.ProcessEnv): string {
  return path.join(runnerHome(env), 'resident');
}

/** The job hosts' folder (0700): each host's control socket, key file and output (jobhost/job-host.ts). */
export function jobHostDir(env?: NodeJS.ProcessEnv): string {
  return path.join(runnerHome(env), JOB_HOST_FOLDER);
}
