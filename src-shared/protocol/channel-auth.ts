/**
 * The job channel's mutual proof (runner wire capability `channel-auth-v1`). At start the app hands the runner a
 * per-job key over the SSH exec's stdin (the 0600 start file in the 0700 job folder, deleted once read). On every
 * connection: the runner's `hello` carries its nonce, the app answers `challenge` with its nonce and its proof, the
 * runner checks that proof before it believes anything else and answers `proof`; the app checks it before it sends
 * a token, the secret environment or anything of the job. Proofs are HMAC-SHA256 over both nonces, the job and the
 * role, so neither side's proof can be replayed as the other's or on another connection. Secret values that still
 * cross the wire (the renewed token, `env`) are sealed with AES-256-GCM under a key derived from the job key and both
 * nonces: a local user who relays a runner's connection sees only ciphertext.
 * Web Crypto only (globalThis.crypto), so both the app and the runner use this one implementation.
 */

export const CHANNEL_AUTH_CAPABILITY = 'channel-auth-v1';
const LABEL = 'cronium-channel:v1';
const NONCE_BYTES = 32;

export type ChannelRole = 'app' | 'runner';

/** Base64url of `bytes` random bytes: a job key or a nonce. */
export function randomToken(bytes = NONCE_BYTES): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return toBase64Url(b);
}

/** The proof `role` sends on a connection with these nonces. */
export async function channelProof(key: string, role: ChannelRole, jobId: string, runnerNonce: string, appNonce: string): Promise<string> {
  return toBase64Url(await hmac(key, `${LABEL}:${role}:${jobId}:${runnerNonce}:${appNonce}`));
}

/** Whether `proof` is the one `role` must send; compares in constant time. */
export async function checkChannelProof(key: string, role: ChannelRole, jobId: string, runnerNonce: string, appNonce: string, proof: string): Promise<boolean> {
  const expected = await channelProof(key, role, jobId, runnerNonce, appNonce);
  if (expected.length !== proof.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ proof.charCodeAt(i);
  return diff === 0;
}

/** Seals `plaintext` for this connection (AES-256-GCM, a fresh IV): base64url(iv || ciphertext+tag). */
export async function sealForChannel(key: string, jobId: string, runnerNonce: string, appNonce: string, plaintext: string): Promise<string> {
  const aes = await sealingKey(key, jobId, runnerNonce, appNonce);
  const iv = new Uint8Array(12);
  crypto.getRandomValues(iv);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, aes, new TextEncoder().encode(plaintext)));
  const out = new Uint8Array(iv.length + ct.length);
  out.set(iv);
  out.set(ct, iv.length);
  return toBase64Url(out);
}

/** Opens what sealForChannel sealed on this connection; throws when it was sealed with another key or altered. */
export async function openFromChannel(key: string, jobId: string, runnerNonce: string, appNonce: string, sealed: string): Promise<string> {
  const aes = await sealingKey(key, jobId, runnerNonce, appNonce);
  const raw = fromBase64Url(sealed);
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: raw.slice(0, 12) }, aes, raw.slice(12));
  return new TextDecoder().decode(plain);
}

async function sealingKey(key: string, jobId: string, runnerNonce: string, appNonce: string): Promise<CryptoKey> {
  const bytes = await hmac(key, `${LABEL}:seal:${jobId}:${runnerNonce}:${appNonce}`);
  return crypto.subtle.importKey('raw', bytes, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

async function hmac(key: string, text: string): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey('raw', fromBase64Url(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, new TextEncoder().encode(text)));
}

function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
