/**
 * `cronium-runner jobhost --id <hostId> [--idle-ms <ms>]`: the job host (jobhost/job-host.ts), launched by the app
 * once per server and runner version (setsid nohup, its key file written from the launch exec's stdin). Runs until it
 * is idle; exit code 4 when it refuses to start (its folder, key file or socket), with the reason on stderr.
 */
import { JOB_HOST_IDLE_MS, JobHostId } from '../../src-shared/protocol/job-host';
import { RUNNER_EXIT_USAGE } from '../../src-shared/protocol/runner-info';
import { JobHost, JobHostError } from '../jobhost/job-host';
import type { RunnerCommand } from './command';

export const jobHostCommand: RunnerCommand = {
  summary: "start the app's jobs in this process over a control socket (launched by the app)",
  args: '--id <hostId> [--idle-ms <ms>]',
  async run(args, io) {
    let id: string | undefined;
    let idleMs = JOB_HOST_IDLE_MS;
    for (let i = 0; i < args.length; i += 2) {
      const value = args[i + 1];
      if (args[i] === '--id' && value !== undefined) id = value;
      else if (args[i] === '--idle-ms' && value !== undefined && /^\d+$/.test(value) && Number(value) > 0) idleMs = Number(value);
      else {
        io.stderr(`jobhost: unexpected ${args.slice(i).join(' ')}; usage: jobhost --id <hostId> [--idle-ms <ms>]\n`);
        return RUNNER_EXIT_USAGE;
      }
    }
    if (!id || !JobHostId.safeParse(id).success) {
      io.stderr('jobhost: needs --id <hostId> (16 letters, digits, "-" or "_")\n');
      return RUNNER_EXIT_USAGE;
    }
    const log = (text: string) => io.stderr(`${new Date().toISOString()} ${text}\n`);
    try {
      return await new JobHost({ hostId: id, env: io.env, idleMs, log }).run();
    } catch (err) {
      if (!(err instanceof JobHostError)) throw err;
      io.stderr(`jobhost: ${err.message}\n`);
      return 4;
    }
  },
};
