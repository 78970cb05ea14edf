/**
 * ssh-agent checks: before a connection offers an agent's keys, make sure the agent named by SSH_AUTH_SOCK exists, is
 * a socket, answers, and holds at least one key, so the error a person sees names the agent and what to do rather than
 * a bare "authentication failed". It never reads or keeps a key: the agent signs, ssh2 only sees public halves.
 */
import fs from 'node:fs';
import { createAgent } from 'ssh2';
import { systemClock, type Clock } from '../clock';
import { AppError } from '../errors';
import { SshErrorCode } from './errors';

/** Windows' OpenSSH agent pipe (and any other named pipe): not a file we can stat. */
const WINDOWS_PIPE = /^[/\\][/\\]\.[/\\]pipe[/\\].+/;

/** The agent socket the app was started with (Pageant's name on Windows when none is set). */
export function defaultAgentSocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const sock = env.SSH_AUTH_SOCK?.trim();
  if (sock) return sock;
  return process.platform === 'win32' ? 'pageant' : undefined;
}

const unavailable = (message: string, socket: string | undefined) =>
  new AppError(SshErrorCode.AGENT_UNAVAILABLE, message, { details: { agent: socket ?? null } });

/**
 * Resolves with how many keys the agent holds (at least one), or rejects with AGENT_UNAVAILABLE naming the agent:
 * no SSH_AUTH_SOCK, a path that does not exist or is not a socket, an agent that does not answer, or one with no key.
 */
export async function checkAgent(socket: string | undefined, forServer: string, timeoutMs = 5_000, clock: Clock = systemClock): Promise<number> {
  if (!socket) {
    throw unavailable(
      `no ssh-agent is available for ${forServer}: SSH_AUTH_SOCK is not set in the environment Cronium was started from; ` +
        'start an agent (eval $(ssh-agent); ssh-add) and start Cronium from that session',
      socket,
    );
  }
  const isPipe = socket === 'pageant' || WINDOWS_PIPE.test(socket) || process.platform === 'win32';
  if (!isPipe) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(socket);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw unavailable(
        `the ssh-agent for ${forServer} is not running: SSH_AUTH_SOCK names ${socket}, which ${code === 'EACCES' ? 'Cronium may not open (permission denied)' : 'does not exist'}; ` +
          'start the agent again and start Cronium from its session',
        socket,
      );
    }
    if (!stat.isSocket()) {
      throw unavailable(
        `SSH_AUTH_SOCK names ${socket}, which is a ${stat.isDirectory() ? 'folder' : 'regular file'}, not an agent socket; ` +
          `${forServer} cannot use the agent until SSH_AUTH_SOCK points at the agent's socket`,
        socket,
      );
    }
  }
  const agent = createAgent(socket);
  const keys = await new Promise<unknown[]>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    agent.getIdentities((err, found) => {
      timer.cancel();
      if (err) reject(err);
      else resolve(found ?? []);
    });
  }).catch((err: Error) => {
    throw unavailable(
      `the ssh-agent at ${socket} did not answer for ${forServer} (${err.message}); it may have exited or be locked: ` +
        'start or unlock it and try again',
      socket,
    );
  });
  if (keys.length === 0) {
    throw unavailable(
      `the ssh-agent at ${socket} holds no keys, so ${forServer} cannot log in through it; add the key with ssh-add`,
      socket,
    );
  }
  return keys.length;
}
