/**
 * The job channel's mutual proof (runner wire capability `channel-auth-v1`). At start the app hands the runner a
 * per-job key over the SSH exec's stdin (the 0600 start file in the 0700 job folder, deleted once read). On every
 * connection: the runner's `hello` carries its nonce, the app answers `challenge` with its nonce and its proof, the
 * runner checks that proof before it believes anything else and answers `proof`; the app checks it before it sends
 * a token, the secret environment or anything of the job. Proofs are HMAC-SHA256 over both nonces, the job and the
 * role, so neither side's proof can be replayed as the other's or on another connection. Secret values that still
 * cross the wire (the renewed token, `env`) are sealed with AES-256-GCM under a key derived from the job key and both
 * nonces: a local user who relays a runner's connection sees only ciphertext.
 * node:crypto, synchronous (both the app and the runner run on Node): the Web Crypto version this replaced cost a key
 * import and thread-pool jobs per call, ~5 s of the app's main thread per 160 runner jobs at fleet scale. The bytes on
 * the wire are the same (tests/unit/protocol/channel-auth.test.ts checks them against Web Crypto), so runners of
 * either version talk to apps of either version.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const CHANNEL_AUTH_CAPABILITY = 'channel-auth-v1';
const LABEL = 'cronium-channel:v1';
const NONCE_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type ChannelRole = 'app' | 'runner';

/** Base64url of `bytes` random bytes: a job key or a nonce. */
export function randomToken(bytes = NONCE_BYTES): string {
  return randomBytes(bytes).toString('base64url');
}

/** The proof `role` sends on a connection with these nonces. */
export function channelProof(key: string, role: ChannelRole, jobId: string, runnerNonce: string, appNonce: string): string {
  return hmac(key, `${LABEL}:${role}:${jobId}:${runnerNonce}:${appNonce}`).toString('base64url');
}

/** Whether `proof` is the one `role` must send; compares in constant time. */
export function checkChannelProof(key: string, role: ChannelRole, jobId: string, runnerNonce: string, appNonce: string, proof: string): boolean {
  const expected = Buffer.from(channelProof(key, role, jobId, runnerNonce, appNonce));
  const given = Buffer.from(proof);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Seals `plaintext` for this connection (AES-256-GCM, a fresh IV): base64url(iv || ciphertext || tag). */
export function sealForChannel(key: string, jobId: string, runnerNonce: string, appNonce: string, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(key, jobId, runnerNonce, appNonce), iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64url');
}

/** Opens what sealForChannel sealed on this connection; throws when it was sealed with another key or altered. */
export function openFromChannel(key: string, jobId: string, runnerNonce: string, appNonce: string, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('the sealed value is too short');
  const decipher = createDecipheriv('aes-256-gcm', sealingKey(key, jobId, runnerNonce, appNonce), raw.subarray(0, IV_BYTES));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
}

function sealingKey(key: string, jobId: string, runnerNonce: string, appNonce: string): Buffer {
  return hmac(key, `${LABEL}:seal:${jobId}:${runnerNonce}:${appNonce}`);
}

function hmac(key: string, text: string): Buffer {
  return createHmac('sha256', Buffer.from(key, 'base64url')).update(text, 'utf8').digest();
}
