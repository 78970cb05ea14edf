/**
 * OpenSSH known_hosts, read-only: finds the keys a file holds for a host and port, hashed entries included
 * (`|1|salt|HMAC-SHA1(salt, name)`), so an import can offer keys the administrator already trusts. It never writes the
 * file and never decides trust: the caller shows what it found (and any disagreement) before anything is pinned.
 */
import crypto from 'node:crypto';
import { algorithmOf, fingerprintOf } from './host-key';

export interface KnownHostKey {
  fingerprint: string;
  algorithm: string;
  /** 1-based line in the file. */
  line: number;
  hashed: boolean;
  /** '@revoked' entries say the key must never be accepted. */
  revoked: boolean;
}

interface Entry {
  patterns: string[];
  key: KnownHostKey;
}

/** The names a host is recorded under: `host` on port 22, `[host]:port` otherwise (as ssh writes them). */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function hashedMatches(pattern: string, name: string): boolean {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const mac = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return mac === hash;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

function patternsMatch(patterns: string[], name: string): boolean {
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    const hit = pattern.startsWith('|1|') ? hashedMatches(pattern, name) : globToRegExp(pattern).test(name);
    if (hit && negated) return false;
    if (hit) matched = true;
  }
  return matched;
}

export class KnownHosts {
  private constructor(private readonly entries: Entry[]) {}

  /** Parses the text of a known_hosts file; lines it cannot read (and @cert-authority lines) are skipped. */
  static parse(text: string): KnownHosts {
    const entries: Entry[] = [];
    text.split(/\r?\n/).forEach((rawLine, i) => {
      const line = rawLine.trim();
      if (line === '' || line.startsWith('#')) return;
      const fields = line.split(/\s+/);
      let marker: string | undefined;
      if (fields[0]!.startsWith('@')) marker = fields.shift();
      if (marker === '@cert-authority' || fields.length < 3) return;
      const [hostField, , keyField] = fields as [string, string, string];
      const blob = Buffer.from(keyField, 'base64');
      if (blob.length < 8) return;
      const patterns = hostField.split(',');
      entries.push({
        patterns,
        key: {
          fingerprint: fingerprintOf(blob),
          algorithm: algorithmOf(blob),
          line: i + 1,
          hashed: patterns.some((p) => p.startsWith('|1|')),
          revoked: marker === '@revoked',
        },
      });
    });
    return new KnownHosts(entries);
  }

  /** Every key recorded for host:port (by name or, for a HostName given as an alias, by the address), in file order. */
  keysFor(host: string, port: number): KnownHostKey[] {
    const name = knownHostsName(host, port);
    return this.entries.filter((e) => patternsMatch(e.patterns, name)).map((e) => e.key);
  }
}

/** ssh2's host-key preference, most preferred first: the key type the server will present when it holds several. */
const PREFERENCE = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
];

/**
 * The one key to pin from what known_hosts holds for a host: the most preferred algorithm. Two different keys of that
 * same algorithm, or a revoked one, are a disagreement: no key is offered and the caller shows it.
 */
export function pickKnownKey(keys: KnownHostKey[]): { key: KnownHostKey } | { conflict: string } | null {
  if (keys.length === 0) return null;
  const revoked = keys.find((k) => k.revoked);
  if (revoked) return { conflict: `line ${revoked.line} marks ${revoked.fingerprint} as @revoked` };
  const rank = (a: string) => {
    const i = PREFERENCE.indexOf(a);
    return i < 0 ? PREFERENCE.length : i;
  };
  const best = [...keys].sort((a, b) => rank(a.algorithm) - rank(b.algorithm))[0]!;
  const rival = keys.find((k) => k.algorithm === best.algorithm && k.fingerprint !== best.fingerprint);
  if (rival) {
    return { conflict: `lines ${best.line} and ${rival.line} record different ${best.algorithm} keys (${best.fingerprint} and ${rival.fingerprint})` };
  }
  return { key: best };
}
