/**
 * `cronium-runner run --job <id> --payload <checksum>` (new job; reads start.json) or `run --job <id> --resume`
 * (started by `attach` when the supervising process is gone; reads attach.json), or `run --job <id> --payload <checksum>
 * --server-fired` (started by the resident runner for a server-held schedule: no app, the script starts at once):
 * supervises the job until the app has everything. Started detached by the app (setsid nohup), so it outlives the SSH session that started it.
 */
import { RUNNER_EXIT_USAGE } from '../../src-shared/protocol/runner-info';
import { jobDir } from '../paths';
import { JobSupervisor } from '../job/supervisor';
import type { RunnerCommand } from './command';
import { parseJobArgs } from './job-args';

export const runCommand: RunnerCommand = {
  summary: 'run a job from its payload and stream it to the app (started by the app)',
  args: '--job <id> (--payload <checksum> [--server-fired] | --resume)',
  async run(args, io) {
    const a = parseJobArgs(args, ['job', 'payload', 'resume', 'server-fired']);
    if (!a.job || (!a.payload && !a.resume)) {
      io.stderr('run: needs --job and --payload (or --resume)\n');
      return RUNNER_EXIT_USAGE;
    }
    const log = (text: string) => io.stderr(`${new Date().toISOString()} ${text}\n`);
    const supervisor = new JobSupervisor({ jobId: a.job, dir: jobDir(a.job, io.env), env: io.env, payload: a.payload, resume: a.resume === true, serverFired: a['server-fired'] === true, log });
    return supervisor.run();
  },
};
