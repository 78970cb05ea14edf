/**
 * Host-key trust: fingerprints as OpenSSH prints them, the verifier that refuses unknown or changed keys before any
 * credential is sent, and probeHostKey() for "Test connection" on first contact (fetches the key, never authenticates).
 * It never trusts a key by itself: approving a fingerprint is the user's act, recorded by the caller.
 */
import crypto from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Client, type ConnectConfig } from 'ssh2';
import { systemClock, type Clock } from '../clock';
import { AppError } from '../errors';
import { hostKeyChanged, hostKeyUntrusted, sshErrorToAppError } from './errors';

export interface HostKeyInfo {
  fingerprint: string;
  algorithm: string;
}

/** 'SHA256:' + base64(sha256(raw key blob)) without '=' padding, exactly as `ssh-keygen -l` prints it. */
export function fingerprintOf(rawKey: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(rawKey).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named at the start of the SSH wire-format blob (e.g. 'ssh-ed25519'). */
export function algorithmOf(rawKey: Buffer): string {
  if (rawKey.length < 4) return 'unknown';
  const length = rawKey.readUInt32BE(0);
  if (length <= 0 || 4 + length > rawKey.length) return 'unknown';
  return rawKey.subarray(4, 4 + length).toString('ascii');
}

/** Compares fingerprints tolerating a missing 'SHA256:' prefix or base64 padding, as users paste them. */
export function sameFingerprint(a: string, b: string): boolean {
  const norm = (f: string) => f.trim().replace(/^SHA256:/i, '').replace(/=+$/, '');
  return norm(a) === norm(b);
}

/**
 * Decides on the key the server presents during key exchange. ssh2 calls verify() before authentication, so a refusal
 * here means no credential ever leaves the app; refusal() then tells why.
 */
export class HostKeyVerifier {
  private refused: AppError | undefined;

  constructor(
    private readonly server: { name: string; host: string; port: number; pinnedFingerprint: string | null },
  ) {}

  readonly verify = (rawKey: Buffer): boolean => {
    const seen = { fingerprint: fingerprintOf(rawKey), algorithm: algorithmOf(rawKey) };
    const pinned = this.server.pinnedFingerprint;
    if (pinned === null || pinned.trim() === '') {
      this.refused = hostKeyUntrusted(this.server, seen);
      return false;
    }
    if (!sameFingerprint(pinned, seen.fingerprint)) {
      this.refused = hostKeyChanged(this.server, pinned, seen);
      return false;
    }
    return true;
  };

  refusal(): AppError | undefined {
    return this.refused;
  }
}

/**
 * Connects, reads the host key the server presents, and aborts the handshake: nothing is authenticated, no
 * credential is needed or sent. Used to show the fingerprint for approval on first contact. `timeoutMs` runs on `clock`.
 */
export function probeHostKey(host: string, port: number, timeoutMs = 10_000, clock: Clock = systemClock, sock?: Duplex): Promise<HostKeyInfo> {
  const where = { name: `${host}:${port}`, host, port, username: '', authType: undefined };
  return new Promise((resolve, reject) => {
    const client = new Client();
    let found: HostKeyInfo | undefined;
    let settled = false;
    const finish = (err: AppError | undefined) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      client.end();
      if (found) resolve(found);
      else reject(err ?? new AppError('HOST_UNREACHABLE', `${host}:${port} closed the connection before showing a host key; is an SSH server listening there?`));
    };
    const timer = clock.setTimeout(() => {
      finish(sshErrorToAppError(Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' }), where, timeoutMs));
    }, timeoutMs);
    client.on('error', (err) => finish(found ? undefined : sshErrorToAppError(err, where, timeoutMs)));
    client.on('close', () => finish(undefined));
    client.connect({
      host,
      port,
      // Through jump hosts: a channel the last hop opened to host:port (see probeHostKeyVia).
      ...(sock ? { sock: sock as ConnectConfig['sock'] } : {}),
      username: 'cronium-host-key-probe',
      readyTimeout: 0,
      hostVerifier: (rawKey: Buffer) => {
        found = { fingerprint: fingerprintOf(rawKey), algorithm: algorithmOf(rawKey) };
        // Refusing ends the handshake here: the probe has what it came for and must not authenticate.
        setImmediate(() => finish(undefined));
        return false;
      },
    });
  });
}
