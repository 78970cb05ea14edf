/**
 * Maps ssh2 and socket failures to AppError codes with messages a person can act on. The one place that knows how
 * ssh2 spells its errors. Messages name the server and user, never a credential.
 */
import { AppError } from '../errors';

export const SshErrorCode = {
  HOST_UNREACHABLE: 'HOST_UNREACHABLE',
  CONNECT_TIMEOUT: 'CONNECT_TIMEOUT',
  AUTH_FAILED: 'AUTH_FAILED',
  KEY_INVALID: 'KEY_INVALID',
  HOST_KEY_CHANGED: 'HOST_KEY_CHANGED',
  HOST_KEY_UNTRUSTED: 'HOST_KEY_UNTRUSTED',
  CONNECTION_LOST: 'CONNECTION_LOST',
  CHANNEL_REFUSED: 'CHANNEL_REFUSED',
  FORWARD_REFUSED: 'FORWARD_REFUSED',
  EXEC_TIMEOUT: 'EXEC_TIMEOUT',
  EXEC_CANCELLED: 'EXEC_CANCELLED',
  SFTP_FAILED: 'SFTP_FAILED',
  SSH_PROTOCOL_ERROR: 'SSH_PROTOCOL_ERROR',
  POOL_CLOSED: 'POOL_CLOSED',
  AGENT_UNAVAILABLE: 'AGENT_UNAVAILABLE',
} as const;

export interface SshErrorContext {
  name: string;
  host: string;
  port: number;
  username: string;
  authType: 'key' | 'password' | 'agent' | undefined;
  /** With authType 'agent': where the agent was asked (SSH_AUTH_SOCK), named in a refused login. */
  agentSocket?: string;
}

const where = (c: { name: string; host: string; port: number }) =>
  c.name === `${c.host}:${c.port}` ? c.name : `${c.name} (${c.host}:${c.port})`;

export function hostKeyChanged(
  server: { name: string; host: string; port: number },
  expected: string,
  got: { fingerprint: string; algorithm: string },
): AppError {
  return new AppError(
    SshErrorCode.HOST_KEY_CHANGED,
    `host key for ${where(server)} changed: expected ${expected}, got ${got.fingerprint}; connection refused before ` +
      'sending credentials; re-trust only if you know why it changed',
    { details: { expected, fingerprint: got.fingerprint, algorithm: got.algorithm } },
  );
}

export function hostKeyUntrusted(
  server: { name: string; host: string; port: number },
  got: { fingerprint: string; algorithm: string },
): AppError {
  return new AppError(
    SshErrorCode.HOST_KEY_UNTRUSTED,
    `${where(server)} presented host key ${got.fingerprint} (${got.algorithm}) that has not been trusted yet; ` +
      'compare it with the server\'s own fingerprint (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and trust it to connect',
    { details: { fingerprint: got.fingerprint, algorithm: got.algorithm } },
  );
}

export function connectionLost(server: { name: string; host: string; port: number }, why: string): AppError {
  return new AppError(
    SshErrorCode.CONNECTION_LOST,
    `the connection to ${where(server)} was lost (${why}); check the network and that the server is up, then retry`,
  );
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const LOST = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** Turns whatever ssh2 or the socket reported during connect or use into an AppError. */
export function sshErrorToAppError(err: unknown, ctx: SshErrorContext, connectTimeoutMs?: number): AppError {
  if (err instanceof AppError) return err;
  const e = (err ?? {}) as { code?: string; level?: string; message?: string };
  const message = String(e.message ?? err);
  const target = where(ctx);

  if (e.code && UNREACHABLE.has(e.code)) {
    const why =
      e.code === 'ECONNREFUSED'
        ? 'nothing is listening on that port'
        : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
          ? 'the host name does not resolve'
          : 'there is no route to the host';
    return new AppError(
      SshErrorCode.HOST_UNREACHABLE,
      `cannot reach ${target}: ${why} (${e.code}); check the host, the port and that sshd is running`,
      { details: { host: ctx.host, port: ctx.port, cause: e.code } },
    );
  }
  if (e.level === 'client-timeout' || e.code === 'ETIMEDOUT') {
    const bound = connectTimeoutMs ? ` within ${connectTimeoutMs} ms` : '';
    return new AppError(
      SshErrorCode.CONNECT_TIMEOUT,
      `${target} did not complete the SSH handshake${bound}; the host may be down, firewalled or the network slow`,
      { details: { host: ctx.host, port: ctx.port, timeoutMs: connectTimeoutMs } },
    );
  }
  if (e.level === 'client-authentication' && ctx.authType === 'agent') {
    return new AppError(
      SshErrorCode.AUTH_FAILED,
      `the server ${target} accepted none of the keys the ssh-agent at ${ctx.agentSocket ?? 'SSH_AUTH_SOCK'} holds for ` +
        `user ${ctx.username}; add the right key to the agent (ssh-add) or put its public key in the user's authorized_keys`,
      { details: { agent: ctx.agentSocket } },
    );
  }
  if (e.level === 'agent') {
    return new AppError(
      SshErrorCode.AGENT_UNAVAILABLE,
      `the ssh-agent at ${ctx.agentSocket ?? 'SSH_AUTH_SOCK'} could not be used for ${target} (${message}); ` +
        'check that the agent is running and unlocked',
      { details: { agent: ctx.agentSocket } },
    );
  }
  if (e.level === 'client-authentication') {
    const what = ctx.authType === 'password' ? 'password' : 'key';
    return new AppError(
      SshErrorCode.AUTH_FAILED,
      `the server ${target} refused the ${what} for user ${ctx.username}; check the user name and the ${what} ` +
        `(and that the server allows ${ctx.authType === 'password' ? 'password' : 'public key'} logins for this user)`,
    );
  }
  if (/privateKey|passphrase|Unsupported key format|Encrypted private key/i.test(message)) {
    return new AppError(
      SshErrorCode.KEY_INVALID,
      `the private key for ${target} could not be used: ${message}; paste the key again (OpenSSH or PEM format) and ` +
        'its passphrase if it has one',
    );
  }
  if ((e.code && LOST.has(e.code)) || /Connection lost before handshake|No response from server|Not connected/i.test(message)) {
    return connectionLost(ctx, e.code ?? message);
  }
  return new AppError(
    SshErrorCode.SSH_PROTOCOL_ERROR,
    `SSH with ${target} failed: ${message}; the server may use algorithms this app does not support`,
    { details: { level: e.level } },
  );
}

/**
 * Failures that another attempt cannot fix (the person must act): nothing listening, no route, a name that does not
 * resolve, a refused login or key, a host key that changed or is not trusted. Callers fail at once on these rather
 * than retrying or falling back to another mode (which would meet the same wall).
 */
const PERMANENT_CONNECT_CODES = new Set<string>([
  SshErrorCode.HOST_UNREACHABLE,
  SshErrorCode.AUTH_FAILED,
  SshErrorCode.KEY_INVALID,
  SshErrorCode.HOST_KEY_CHANGED,
  SshErrorCode.HOST_KEY_UNTRUSTED,
  SshErrorCode.AGENT_UNAVAILABLE,
]);

export function isPermanentConnectFailure(err: unknown): err is AppError {
  if (!(err instanceof AppError) || !PERMANENT_CONNECT_CODES.has(err.code)) return false;
  // A name server that did not answer (EAI_AGAIN) may answer next time.
  return err.extra.details?.cause !== 'EAI_AGAIN';
}
