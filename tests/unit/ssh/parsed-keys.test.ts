// Issue 18: a parsed private key is kept in memory a short while (as ssh-agent keeps a loaded key), found only by the
// exact key text and passphrase read for this connection, dropped after idling, on clear(), and never for a key that
// does not parse (ssh2 then reports the text's error as before).
import { createPublicKey, verify } from 'node:crypto';
import { utils, type ParsedKey } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { ParsedKeyCache } from '../../../src-main/core/ssh/parsed-keys';
import { ManualClock } from '../../harness/manual-clock';

const ed = utils.generateKeyPairSync('ed25519');
const other = utils.generateKeyPairSync('ed25519');
const encrypted = utils.generateKeyPairSync('ed25519', { passphrase: 'right horse', cipher: 'aes256-ctr', rounds: 4 });

describe('the parsed key cache', () => {
  it('parses a key once and gives the same key back while it is used', () => {
    const cache = new ParsedKeyCache(new ManualClock(0), 45_000);
    const a = cache.get(ed.private);
    expect(a).not.toBeNull();
    expect(cache.get(ed.private)).toBe(a);
    expect(cache.size).toBe(1);
  });

  it('uses a changed credential at once: other key text is another entry, never the kept key', () => {
    const cache = new ParsedKeyCache(new ManualClock(0), 45_000);
    const a = cache.get(ed.private)!;
    const b = cache.get(other.private)!;
    expect(b).not.toBe(a);
    expect(b.getPublicSSH().equals((utils.parseKey(other.public) as ParsedKey).getPublicSSH())).toBe(true);
    // The same key text with another passphrase is another entry too.
    expect(cache.get(ed.private, 'x')).not.toBe(a);
  });

  it('keeps nothing for a wrong or missing passphrase, and parses the encrypted key with the right one', () => {
    const cache = new ParsedKeyCache(new ManualClock(0), 45_000);
    expect(cache.get(encrypted.private, 'wrong horse')).toBeNull();
    expect(cache.get(encrypted.private)).toBeNull();
    expect(cache.size).toBe(0);
    const key = cache.get(encrypted.private, 'right horse');
    expect(key?.isPrivateKey()).toBe(true);
    expect(cache.get('not a key at all')).toBeNull();
  });

  it('signs with the kept key object: ed25519, rsa (each hash), ecdsa, all verified with the public key', () => {
    const cache = new ParsedKeyCache(new ManualClock(0), 45_000);
    const data = Buffer.from('session id and userauth request');
    const check = (pair: { private: string }, hashes: Array<string | undefined>) => {
      const key = cache.get(pair.private)!;
      const pub = createPublicKey(key.getPublicPEM());
      for (const hash of hashes) {
        const sig = key.sign(data, hash);
        expect(sig).toBeInstanceOf(Buffer);
        const algo = hash ?? (key.type === 'ssh-ed25519' ? null : key.type === 'ssh-rsa' ? 'sha1' : 'sha256');
        expect(verify(algo, data, pub, sig as Buffer)).toBe(true);
        // ssh2's own signature for the same request (a fresh parse) verifies the same way.
        const fresh = utils.parseKey(pair.private) as unknown as { sign(d: Buffer, h?: string): Buffer };
        expect(verify(algo, data, pub, fresh.sign(data, hash))).toBe(true);
      }
    };
    check(ed, [undefined]);
    check(utils.generateKeyPairSync('rsa', { bits: 2048 }), [undefined, 'sha256', 'sha512']);
    check(utils.generateKeyPairSync('ecdsa', { bits: 256 }), [undefined]);
  });

  it('drops a key idle for the whole period; each use starts the period again; clear() drops all at once', async () => {
    const clock = new ManualClock(0);
    const cache = new ParsedKeyCache(clock, 45_000);
    const a = cache.get(ed.private);
    await clock.advance(30_000);
    expect(cache.get(ed.private)).toBe(a);
    await clock.advance(30_000);
    expect(cache.size).toBe(1);
    await clock.advance(15_001);
    expect(cache.size).toBe(0);
    const again = cache.get(ed.private);
    expect(again).not.toBe(a);
    cache.get(other.private);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
