// The job channel's mutual proof and sealing (channel-auth-v1): each role's proof checks only for that role, that
// job, those nonces and that key; sealed values open only with the same key and nonces; and the bytes are the ones
// the earlier Web Crypto implementation made and accepted (runners of that version are still deployed).
import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { channelProof, checkChannelProof, openFromChannel, randomToken, sealForChannel } from '../../../src-shared/protocol/channel-auth';

const subtle = webcrypto.subtle;
const LABEL = 'cronium-channel:v1';

async function webHmac(key: string, text: string): Promise<Buffer> {
  const k = await subtle.importKey('raw', Buffer.from(key, 'base64url'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return Buffer.from(await subtle.sign('HMAC', k, new TextEncoder().encode(text)));
}

async function webAesKey(key: string, jobId: string, rn: string, an: string) {
  return subtle.importKey('raw', await webHmac(key, `${LABEL}:seal:${jobId}:${rn}:${an}`), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

describe('channel-auth', () => {
  it('accepts the proof of the right role, job, nonces and key, and nothing else', () => {
    const key = randomToken();
    const [rn, an] = [randomToken(), randomToken()];
    const runner = channelProof(key, 'runner', 'job-1', rn, an);
    expect(checkChannelProof(key, 'runner', 'job-1', rn, an, runner)).toBe(true);
    expect(checkChannelProof(key, 'app', 'job-1', rn, an, runner)).toBe(false); // a reflected proof
    expect(checkChannelProof(key, 'runner', 'job-2', rn, an, runner)).toBe(false);
    expect(checkChannelProof(key, 'runner', 'job-1', randomToken(), an, runner)).toBe(false); // a replay
    expect(checkChannelProof(randomToken(), 'runner', 'job-1', rn, an, runner)).toBe(false);
    expect(checkChannelProof(key, 'runner', 'job-1', rn, an, runner.slice(0, -1))).toBe(false);
    expect(checkChannelProof(key, 'runner', 'job-1', rn, an, '')).toBe(false);
  });

  it('seals so that only the same key and nonces open it, and refuses an altered or cut value', () => {
    const key = randomToken();
    const [rn, an] = [randomToken(), randomToken()];
    const sealed = sealForChannel(key, 'job-1', rn, an, '{"values":{"DB_PASSWORD":"hunter2-secret"}}');
    expect(sealed).not.toContain('hunter2');
    expect(sealForChannel(key, 'job-1', rn, an, 'same text')).not.toBe(sealForChannel(key, 'job-1', rn, an, 'same text')); // fresh IV
    expect(openFromChannel(key, 'job-1', rn, an, sealed)).toContain('hunter2-secret');
    expect(() => openFromChannel(randomToken(), 'job-1', rn, an, sealed)).toThrow();
    expect(() => openFromChannel(key, 'job-1', rn, randomToken(), sealed)).toThrow();
    expect(() => openFromChannel(key, 'job-2', rn, an, sealed)).toThrow();
    const raw = Buffer.from(sealed, 'base64url');
    raw[14] = raw[14]! ^ 1;
    expect(() => openFromChannel(key, 'job-1', rn, an, raw.toString('base64url'))).toThrow();
    expect(() => openFromChannel(key, 'job-1', rn, an, sealed.slice(0, 20))).toThrow();
  });

  it('makes and accepts the same bytes as Web Crypto (runners deployed before the change)', async () => {
    for (let i = 0; i < 20; i++) {
      const key = randomToken();
      const [rn, an] = [randomToken(), randomToken()];
      for (const role of ['app', 'runner'] as const) {
        const web = (await webHmac(key, `${LABEL}:${role}:job-${i}:${rn}:${an}`)).toString('base64url');
        expect(channelProof(key, role, `job-${i}`, rn, an)).toBe(web);
        expect(checkChannelProof(key, role, `job-${i}`, rn, an, web)).toBe(true);
      }
      const text = `{"values":{"K":"v-${i}-€"}}`;
      const aes = await webAesKey(key, `job-${i}`, rn, an);
      const sealed = Buffer.from(sealForChannel(key, `job-${i}`, rn, an, text), 'base64url');
      const opened = await subtle.decrypt({ name: 'AES-GCM', iv: sealed.subarray(0, 12) }, aes, sealed.subarray(12));
      expect(new TextDecoder().decode(opened)).toBe(text);
      const iv = webcrypto.getRandomValues(new Uint8Array(12));
      const webSealed = Buffer.concat([iv, Buffer.from(await subtle.encrypt({ name: 'AES-GCM', iv }, aes, new TextEncoder().encode(text)))]);
      expect(openFromChannel(key, `job-${i}`, rn, an, webSealed.toString('base64url'))).toBe(text);
    }
  });
});
