/**
 * `cronium-runner attach --job <id> --socket <path> | --port <port>` (token on stdin as the start-file JSON, written
 * 0600 by the app's exec): points the job's supervisor at a new tunnel, a Unix socket or, as the fallback, a loopback
 * port (attach.json + SIGUSR1), or, when no supervisor is alive any more, starts `run --resume` detached to deliver
 * the spool and the recorded exit. Prints RunnerJobStatus.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RUNNER_EXIT_USAGE } from '../../src-shared/protocol/runner-info';
import type { RunnerJobStatus } from '../../src-shared/protocol/runner-wire';
import { readJobState } from '../job-folder';
import { jobDir } from '../paths';
import { runtimeKind } from '../runtime-kind';
import { ATTACH_FILE, isAlive } from '../job/supervisor';
import type { RunnerCommand } from './command';
import { parseJobArgs } from './job-args';
import { jobStatus } from './status';

export const attachCommand: RunnerCommand = {
  summary: 'point a running job at a new tunnel (token on stdin), or resume delivering a finished one',
  args: '--job <id> --socket <path> | --port <port>',
  async run(args, io) {
    const a = parseJobArgs(args, ['job', 'port', 'socket']);
    if (!a.job || (!a.port && !a.socket)) {
      io.stderr('attach: needs --job and --socket or --port\n');
      return RUNNER_EXIT_USAGE;
    }
    const dir = jobDir(a.job, io.env);
    const record = readJobState(dir);
    if (!record) {
      io.stdout(JSON.stringify(jobStatus(a.job, io.env)) + '\n');
      return 3;
    }
    // The start file was written by the exec that runs this command (umask 077); check it is there.
    const file = path.join(dir, ATTACH_FILE);
    if (!fs.existsSync(file)) {
      io.stderr(`attach: ${file} is missing; the app writes it from this command's stdin\n`);
      return RUNNER_EXIT_USAGE;
    }
    let supervisor: RunnerJobStatus['supervisor'];
    if (record.supervisorPid && isAlive(record.supervisorPid) && !record.delivered) {
      process.kill(record.supervisorPid, 'SIGUSR1');
      supervisor = 'signalled';
    } else {
      const argv = [...(runtimeKind() === 'js' ? [__filename] : []), 'run', '--job', a.job, '--resume'];
      const out = fs.openSync(path.join(dir, 'runner.out'), 'a');
      const child = spawn(process.execPath, argv, { detached: true, stdio: ['ignore', out, out], env: io.env, cwd: dir });
      child.unref();
      fs.closeSync(out);
      supervisor = 'restarted';
    }
    io.stdout(JSON.stringify({ ...jobStatus(a.job, io.env), supervisor }) + '\n');
    return 0;
  },
};
