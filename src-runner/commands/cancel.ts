/**
 * `cronium-runner cancel --job <id> [--grace <ms>]`: ends the job's whole process group (TERM, then KILL after the
 * grace) when the app cannot reach the supervisor over its socket. The supervisor then reports the exit as usual.
 */
import { RUNNER_EXIT_USAGE } from '../../src-shared/protocol/runner-info';
import { readJobState } from '../job-folder';
import { jobDir } from '../paths';
import { isAlive, killGroup } from '../job/supervisor';
import type { RunnerCommand } from './command';
import { parseJobArgs } from './job-args';

export const cancelCommand: RunnerCommand = {
  summary: "end a job's process group (TERM, grace, KILL)",
  args: '--job <id> [--grace <ms>]',
  async run(args, io) {
    const a = parseJobArgs(args, ['job', 'grace']);
    if (!a.job) {
      io.stderr('cancel: needs --job\n');
      return RUNNER_EXIT_USAGE;
    }
    const record = readJobState(jobDir(a.job, io.env));
    if (!record?.pid || record.state !== 'running') {
      io.stdout(JSON.stringify({ jobId: a.job, cancelled: false, state: record?.state ?? 'unknown' }) + '\n');
      return 0;
    }
    killGroup(record.pid, 'SIGTERM');
    const deadline = Date.now() + (a.grace ?? 2000);
    while (Date.now() < deadline && isAlive(record.pid)) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(record.pid)) killGroup(record.pid, 'SIGKILL');
    io.stdout(JSON.stringify({ jobId: a.job, cancelled: true }) + '\n');
    return 0;
  },
};
