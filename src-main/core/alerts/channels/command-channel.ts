/**
 * Command channel: runs a program on this workstation for each alert (a pager CLI, a script that files a ticket).
 * No shell: the program is an absolute path with fixed arguments; the alert travels as JSON on stdin and as
 * CRONIUM_ALERT_* variables. The environment is minimal (PATH, HOME, LANG), never the app's own, so no secret the
 * app holds in its environment reaches the program. A non-zero exit or the Clock timeout fails the attempt.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Clock } from '../../clock';
import type { AlertMessage } from '../alert-message';
import { alertTitle } from '../alert-message';
import { DeliveryError } from './delivery-error';
import { formatSeconds } from './webhook-channel';

export interface CommandSendOptions {
  command: string;
  args: readonly string[];
  clock: Clock;
  timeoutMs: number;
}

/** Why a command cannot be an alert channel, or null: absolute path to an executable file. */
export function commandProblem(command: string): string | null {
  if (!command.startsWith('/')) return 'must be an absolute path to a program';
  try {
    const st = fs.statSync(command);
    if (!st.isFile()) return 'is not a file';
    fs.accessSync(command, fs.constants.X_OK);
  } catch {
    return 'is not an executable file on this workstation';
  }
  return null;
}

export function runAlertCommand(message: AlertMessage, opts: CommandSendOptions): Promise<void> {
  const problem = commandProblem(opts.command);
  if (problem) return Promise.reject(new DeliveryError(`command ${opts.command} ${problem}`, false));
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let stderr = '';
    const child = spawn(opts.command, [...opts.args], {
      shell: false,
      stdio: ['pipe', 'ignore', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: process.env.HOME ?? '/',
        LANG: process.env.LANG ?? 'C.UTF-8',
        CRONIUM_ALERT_TRIGGER: message.trigger,
        CRONIUM_ALERT_SUBJECT_KIND: message.subject.kind,
        CRONIUM_ALERT_SUBJECT: message.subject.name ?? message.subject.id ?? '',
        CRONIUM_ALERT_SERVER: message.serverName ?? '',
        CRONIUM_ALERT_STATUS: message.status,
        CRONIUM_ALERT_TITLE: alertTitle(message),
        CRONIUM_ALERT_SUMMARY: message.summary,
      },
    });
    const finish = (err?: DeliveryError) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      if (err) reject(err);
      else resolve();
    };
    const timer = opts.clock.setTimeout(() => {
      child.kill('SIGKILL');
      finish(new DeliveryError(`timed out after ${formatSeconds(opts.timeoutMs)} (the command was killed)`, true));
    }, opts.timeoutMs);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 4096) stderr += s;
    });
    child.on('error', (err) => finish(new DeliveryError(`could not start ${opts.command}: ${err.message}`, false)));
    child.on('close', (code, signal) => {
      if (code === 0) return finish();
      const tail = stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 300);
      finish(new DeliveryError(`${signal ? `killed by ${signal}` : `exited with code ${code}`}${tail ? `: ${tail}` : ''}`, true));
    });
    child.stdin.on('error', () => undefined); // a program that does not read stdin is fine
    child.stdin.end(JSON.stringify(message));
  });
}
