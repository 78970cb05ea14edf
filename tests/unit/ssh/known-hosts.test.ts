// known_hosts reading for the SSH config import: plain, [host]:port and hashed entries, and which key is offered.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KnownHosts, knownHostsName, pickKnownKey } from '../../../src-main/core/ssh/known-hosts';
import { fingerprintOf } from '../../../src-main/core/ssh/host-key';

function keyBlob(type: string, seed: string): Buffer {
  const name = Buffer.from(type);
  const body = crypto.createHash('sha256').update(seed).digest();
  const len = (b: Buffer) => Buffer.from([0, 0, 0, b.length]);
  return Buffer.concat([len(name), name, len(body), body]);
}
const line = (hosts: string, type: string, seed: string) => `${hosts} ${type} ${keyBlob(type, seed).toString('base64')}`;
function hashed(name: string, salt = crypto.randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${crypto.createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('KnownHosts', () => {
  it('finds plain, [host]:port and hashed entries, and nothing for other hosts or ports', () => {
    const kh = KnownHosts.parse([
      '# comment',
      line('10.0.0.1,web', 'ssh-ed25519', 'a'),
      line('[10.0.0.2]:2222', 'ssh-ed25519', 'b'),
      line(hashed('10.0.0.3'), 'ssh-ed25519', 'c'),
      line(hashed('[10.0.0.3]:2200'), 'ssh-ed25519', 'd'),
      'garbage',
    ].join('\n'));
    expect(kh.keysFor('10.0.0.1', 22).map((k) => k.fingerprint)).toEqual([fingerprintOf(keyBlob('ssh-ed25519', 'a'))]);
    expect(kh.keysFor('10.0.0.2', 2222)).toHaveLength(1);
    expect(kh.keysFor('10.0.0.2', 22)).toHaveLength(0);
    expect(kh.keysFor('10.0.0.3', 22)).toMatchObject([{ hashed: true, line: 4, fingerprint: fingerprintOf(keyBlob('ssh-ed25519', 'c')) }]);
    expect(kh.keysFor('10.0.0.3', 2200)).toMatchObject([{ hashed: true, line: 5 }]);
    expect(kh.keysFor('10.0.0.9', 22)).toEqual([]);
    expect(knownHostsName('h', 22)).toBe('h');
    expect(knownHostsName('h', 2222)).toBe('[h]:2222');
  });

  it('offers the preferred algorithm, and no key when the file disagrees with itself or revokes one', () => {
    const kh = KnownHosts.parse([line('a', 'ssh-rsa', 'r'), line('a', 'ssh-ed25519', 'e'), line('b', 'ssh-ed25519', '1'), line('b', 'ssh-ed25519', '2'), `@revoked ${line('c', 'ssh-ed25519', 'x')}`].join('\n'));
    expect(pickKnownKey(kh.keysFor('a', 22))).toMatchObject({ key: { algorithm: 'ssh-ed25519' } });
    expect(pickKnownKey(kh.keysFor('b', 22))).toMatchObject({ conflict: expect.stringContaining('lines 3 and 4') });
    expect(pickKnownKey(kh.keysFor('c', 22))).toMatchObject({ conflict: expect.stringContaining('@revoked') });
    expect(pickKnownKey([])).toBeNull();
  });
});
