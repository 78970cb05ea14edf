// The job channel's mutual proof and sealing (channel-auth-v1): each role's proof checks only for that role, that
// job, those nonces and that key; sealed values open only with the same key and nonces.
import { describe, expect, it } from 'vitest';
import { channelProof, checkChannelProof, openFromChannel, randomToken, sealForChannel } from '../../../src-shared/protocol/channel-auth';

describe('channel-auth', () => {
  it('accepts the proof of the right role, job, nonces and key, and nothing else', async () => {
    const key = randomToken();
    const [rn, an] = [randomToken(), randomToken()];
    const runner = await channelProof(key, 'runner', 'job-1', rn, an);
    expect(await checkChannelProof(key, 'runner', 'job-1', rn, an, runner)).toBe(true);
    expect(await checkChannelProof(key, 'app', 'job-1', rn, an, runner)).toBe(false); // a reflected proof
    expect(await checkChannelProof(key, 'runner', 'job-2', rn, an, runner)).toBe(false);
    expect(await checkChannelProof(key, 'runner', 'job-1', randomToken(), an, runner)).toBe(false); // a replay
    expect(await checkChannelProof(randomToken(), 'runner', 'job-1', rn, an, runner)).toBe(false);
    expect(await checkChannelProof(key, 'runner', 'job-1', rn, an, runner.slice(0, -1))).toBe(false);
  });

  it('seals so that only the same key and nonces open it', async () => {
    const key = randomToken();
    const [rn, an] = [randomToken(), randomToken()];
    const sealed = await sealForChannel(key, 'job-1', rn, an, '{"values":{"DB_PASSWORD":"hunter2-secret"}}');
    expect(sealed).not.toContain('hunter2');
    expect(await openFromChannel(key, 'job-1', rn, an, sealed)).toContain('hunter2-secret');
    await expect(openFromChannel(randomToken(), 'job-1', rn, an, sealed)).rejects.toThrow();
    await expect(openFromChannel(key, 'job-1', rn, randomToken(), sealed)).rejects.toThrow();
  });
});
