/**
 * Parsed private keys, kept in memory between connections for a short while, as ssh-agent keeps a loaded key. Without
 * it ssh2 parses the key text again for every connection (an encrypted key: its KDF again) and Node parses the PEM
 * again for every signature. An entry is found only by the exact key text and passphrase the resolver read from the
 * keychain for this connection (an HMAC under a key made at start, so the map holds no plain hash of a key): a changed
 * credential is a new entry and is used at once. An entry is dropped IDLE_MS after its last use; all are dropped when a
 * server's credential is saved or replaced (edit, ssh-config import), when a server is deleted, and when the pool closes. Never
 * written anywhere, never sent to the renderer (docs/security.md). A key that does not parse is not kept: ssh2 gets the
 * text and reports the same error as before.
 */
import { createHmac, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { utils, type ParsedKey } from 'ssh2';
import { systemClock, type Clock } from '../clock';

/** How long a parsed key stays after its last use. */
export const PARSED_KEY_IDLE_MS = 45_000;

/** The hash each key type signs with when the caller names none (ssh2's per-type default); absent: ssh2 signs. */
const DEFAULT_HASH: Record<string, string | null> = {
  'ssh-ed25519': null,
  'ssh-rsa': 'sha1',
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
};

interface Entry {
  key: ParsedKey;
  timer: { cancel(): void };
}

export class ParsedKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly secret = randomBytes(32);

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly idleMs: number = PARSED_KEY_IDLE_MS,
  ) {}

  /** The parsed key for this text and passphrase (parsed now if not kept), or null when it does not parse. */
  get(privateKey: string, passphrase?: string): ParsedKey | null {
    const id = createHmac('sha256', this.secret).update(privateKey).update('\0').update(passphrase ?? '').digest('base64');
    let entry = this.entries.get(id);
    if (entry) {
      entry.timer.cancel();
    } else {
      const key = parse(privateKey, passphrase);
      if (!key) return null;
      entry = { key, timer: { cancel: () => undefined } };
      this.entries.set(id, entry);
    }
    const kept = entry;
    kept.timer = this.clock.setTimeout(() => {
      if (this.entries.get(id) === kept) this.entries.delete(id);
    }, this.idleMs);
    return kept.key;
  }

  /** Drops every parsed key now. */
  clear(): void {
    for (const entry of this.entries.values()) entry.timer.cancel();
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** ssh2's parse, with signatures made from a KeyObject made once (not from the PEM text every time). */
function parse(privateKey: string, passphrase?: string): ParsedKey | null {
  const parsed = utils.parseKey(privateKey, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || !key.isPrivateKey() || key.getPrivatePEM() === null) return null;
  if (!(key.type in DEFAULT_HASH)) return key;
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key.getPrivatePEM());
  } catch {
    return key;
  }
  const defaultHash = DEFAULT_HASH[key.type] ?? null;
  // As ssh2's own sign: an Error is returned, not thrown.
  key.sign = (data: Buffer, algo?: string) => {
    try {
      return sign(algo || defaultHash, data, keyObject);
    } catch (err) {
      return err as Error;
    }
  };
  return key;
}

/** The app's one cache (the handshake reads it; SshPool clears it). */
export const parsedKeys = new ParsedKeyCache();
