/**
 * The resident runner's signed schedule manifest in ~/.cronium/resident/: manifest.json (the exact bytes the app
 * signed), manifest.sig (ed25519 over its sha256, the app's payload signing key) and trust.pem (that public key,
 * handed over on the install exec's stdin). Installing verifies before writing; loading verifies again every time,
 * so a manifest changed on disk afterwards is refused (nothing fires) and the reason is reported to the app.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  ResidentInstallRequest,
  ResidentManifest,
  ResidentManifestSignature,
  residentSignedString,
} from '../../src-shared/protocol/resident';
import { residentDir } from '../paths';

export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
export const TRUST_FILE = 'trust.pem';

export type LoadedManifest = { ok: true; manifest: ResidentManifest; sha256: string } | { ok: false; error: string; sha256: string | null };

function checkSignature(bytes: Buffer, sigText: string, publicKeyPem: string): { ok: true; sha256: string } | { ok: false; error: string; sha256: string } {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let sig: ResidentManifestSignature;
  try {
    sig = ResidentManifestSignature.parse(JSON.parse(sigText));
  } catch {
    return { ok: false, sha256, error: 'the schedule manifest has no readable signature: refused, nothing fires until the app installs it again' };
  }
  let good = false;
  try {
    good = sig.sha256 === sha256 && verify(null, Buffer.from(residentSignedString(sha256)), createPublicKey(publicKeyPem), Buffer.from(sig.signature, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, sha256, error: `the schedule manifest's signature (key ${sig.keyId}) does not verify: refused, nothing fires until the app installs it again` };
  return { ok: true, sha256 };
}

function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Verifies and installs a manifest sent by the app; throws (and installs nothing) when it does not verify. */
export function installManifest(requestJson: string, env: NodeJS.ProcessEnv): { sha256: string; schedules: number } {
  const req = ResidentInstallRequest.parse(JSON.parse(requestJson));
  const bytes = Buffer.from(req.manifest, 'utf8');
  const checked = checkSignature(bytes, JSON.stringify(req.signature), req.publicKeyPem);
  if (!checked.ok) throw new Error(checked.error);
  const manifest = ResidentManifest.parse(JSON.parse(req.manifest));
  const dir = residentDir(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAtomic(path.join(dir, TRUST_FILE), req.publicKeyPem);
  // The signature last: a manifest without its matching signature is refused, never half-believed.
  writeAtomic(path.join(dir, MANIFEST_FILE), bytes);
  writeAtomic(path.join(dir, SIGNATURE_FILE), JSON.stringify(req.signature));
  return { sha256: checked.sha256, schedules: manifest.schedules.length };
}

/** Loads and verifies the installed manifest; `ok: false` with the reason when it is missing or refused. */
export function loadManifest(env: NodeJS.ProcessEnv): LoadedManifest {
  const dir = residentDir(env);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path.join(dir, MANIFEST_FILE));
  } catch {
    return { ok: false, sha256: null, error: 'no schedule manifest is installed' };
  }
  let sigText = '';
  let pem = '';
  try {
    sigText = fs.readFileSync(path.join(dir, SIGNATURE_FILE), 'utf8');
    pem = fs.readFileSync(path.join(dir, TRUST_FILE), 'utf8');
  } catch {
    // Reported by checkSignature below.
  }
  const checked = checkSignature(bytes, sigText, pem);
  if (!checked.ok) return checked;
  try {
    return { ok: true, sha256: checked.sha256, manifest: ResidentManifest.parse(JSON.parse(bytes.toString('utf8'))) };
  } catch (err) {
    return { ok: false, sha256: checked.sha256, error: `the schedule manifest is not valid: ${(err as Error).message.slice(0, 200)}` };
  }
}

/** The public key payloads of server fires are verified with (the one the manifest was verified with). */
export function trustedKeyPem(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return fs.readFileSync(path.join(residentDir(env), TRUST_FILE), 'utf8');
  } catch {
    return undefined;
  }
}
