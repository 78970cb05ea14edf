/**
 * Opens a payload on the server before anything of it runs: checks the archive's sha256 against its content key
 * (the folder name), the ed25519 signature against the public key the app handed over in the start file, then
 * unpacks the archive (a plain ustar, regular files only) into the job's folder and validates its manifest.
 * It refuses rather than guesses: a wrong checksum, a wrong signature, a path that climbs out, a bad manifest.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  PAYLOAD_ARCHIVE_FILE,
  PAYLOAD_MANIFEST_FILE,
  PAYLOAD_SIGNATURE_FILE,
  PayloadManifest,
  PayloadSignature,
  payloadSignedString,
} from '../../src-shared/protocol/runner-wire';

export class PayloadError extends Error {}

export function openPayload(payloadFolder: string, checksum: string, publicKeyPem: string | undefined, into: string): PayloadManifest {
  let archive: Buffer;
  try {
    archive = fs.readFileSync(path.join(payloadFolder, PAYLOAD_ARCHIVE_FILE));
  } catch {
    throw new PayloadError(`payload ${checksum} is not on this server (${payloadFolder}); the app uploads it before starting a job`);
  }
  const actual = createHash('sha256').update(archive).digest('hex');
  if (actual !== checksum) throw new PayloadError(`payload ${checksum} was altered on the server: its sha256 is ${actual}; refusing to run it`);
  if (!publicKeyPem) throw new PayloadError('no payload signing key was handed over; refusing to run an unverifiable payload');
  let sig: PayloadSignature;
  try {
    sig = PayloadSignature.parse(JSON.parse(fs.readFileSync(path.join(payloadFolder, PAYLOAD_SIGNATURE_FILE), 'utf8')));
  } catch {
    throw new PayloadError(`payload ${checksum} has no readable signature file; refusing to run it`);
  }
  let ok = false;
  try {
    ok = sig.checksum === checksum && verify(null, Buffer.from(payloadSignedString(checksum)), createPublicKey(publicKeyPem), Buffer.from(sig.signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) throw new PayloadError(`payload ${checksum}: its signature (key ${sig.keyId}) does not verify with the app's key; refusing to run it`);

  fs.rmSync(into, { recursive: true, force: true });
  fs.mkdirSync(into, { recursive: true, mode: 0o700 });
  for (const entry of untar(zlib.gunzipSync(archive))) {
    const target = path.resolve(into, entry.name);
    if (!target.startsWith(path.resolve(into) + path.sep)) throw new PayloadError(`payload ${checksum} holds a path outside its folder: ${entry.name}`);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    fs.writeFileSync(target, entry.data, { mode: 0o600 });
  }
  try {
    return PayloadManifest.parse(JSON.parse(fs.readFileSync(path.join(into, PAYLOAD_MANIFEST_FILE), 'utf8')));
  } catch (err) {
    throw new PayloadError(`payload ${checksum} has no valid ${PAYLOAD_MANIFEST_FILE}: ${(err as Error).message.slice(0, 300)}`);
  }
}

/** Regular files of a ustar archive (directories and anything else are skipped; the app writes only files). */
export function untar(buf: Buffer): Array<{ name: string; data: Buffer }> {
  const out: Array<{ name: string; data: Buffer }> = [];
  let off = 0;
  let longName: string | null = null;
  while (off + 512 <= buf.length) {
    const header = buf.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, len: number) => header.subarray(start, start + len).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = null;
    const data = buf.subarray(off + 512, off + 512 + size);
    if (type === 'L') longName = data.toString('utf8').replace(/\0.*$/s, '');
    else if (type === '0' || type === '\0') out.push({ name, data: Buffer.from(data) });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
