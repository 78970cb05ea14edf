/**
 * `cronium-runner status --job <id>`: prints RunnerJobStatus (state, supervisor alive or gone, last spooled
 * sequence, exit) as one JSON line. Read-only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RUNNER_EXIT_USAGE } from '../../src-shared/protocol/runner-info';
import type { RunnerJobStatus } from '../../src-shared/protocol/runner-wire';
import { readJobState } from '../job-folder';
import { jobDir } from '../paths';
import { isAlive } from '../job/supervisor';
import type { RunnerCommand } from './command';
import { parseJobArgs } from './job-args';

export function jobStatus(jobId: string, env: NodeJS.ProcessEnv): RunnerJobStatus {
  const dir = jobDir(jobId, env);
  const record = fs.existsSync(path.join(dir)) ? readJobState(dir) : null;
  if (!record) return { jobId, state: 'unknown', supervisor: 'gone', lastSeq: 0, pid: null, exitCode: null, signal: null };
  return {
    jobId,
    state: record.state === 'queued' ? 'starting' : record.state,
    supervisor: record.supervisorPid && isAlive(record.supervisorPid) ? 'alive' : 'gone',
    lastSeq: record.lastSeq ?? 0,
    pid: record.pid ?? null,
    exitCode: record.exitCode ?? null,
    signal: record.signal ?? null,
  };
}

export const statusCommand: RunnerCommand = {
  summary: "print a job's state, last spooled line and exit as JSON",
  args: '--job <id>',
  async run(args, io) {
    const a = parseJobArgs(args, ['job']);
    if (!a.job) {
      io.stderr('status: needs --job\n');
      return RUNNER_EXIT_USAGE;
    }
    const status = jobStatus(a.job, io.env);
    io.stdout(JSON.stringify(status) + '\n');
    return status.state === 'unknown' ? 3 : 0;
  },
};
