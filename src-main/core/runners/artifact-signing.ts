/**
 * Runner artifact signing: the canonical string an ed25519 signature covers, the manifest written beside each artifact,
 * key ids, verification against the trusted public keys, and where signing keys come from (release: the
 * CRONIUM_RUNNER_SIGNING_KEY environment variable; development: the OS keychain). The build script and the artifact
 * store both use this module, so there is one definition of what "signed" means.
 * It must never write a private key to a file, a log line or an error message.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors';
import type { SecretStore } from '../secrets/secret-store';
import { RUNNER_DEV_SIGNING_KEY_REF } from '../secrets/secret-refs';

/** Release builds read their PKCS8 PEM private key from this variable (kept by the release owner, never in the repo). */
export const RUNNER_SIGNING_KEY_ENV = 'CRONIUM_RUNNER_SIGNING_KEY';
/** Public keys under resources/keys/: the committed release key and this machine's development key. */
export const RELEASE_PUBLIC_KEY_FILE = 'runner-release.pub.pem';
export const DEV_PUBLIC_KEY_FILE = 'runner-dev.pub.pem';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * What an artifact holds: a runner ('sea' single executable, 'js' code bundle) or a 'runtime' (the plain Node binary a
 * code bundle runs under on a server without Node; its version is the Node version, shared by every runner version).
 */
export const ArtifactKind = z.enum(['sea', 'js', 'runtime']);
export type ArtifactKind = z.infer<typeof ArtifactKind>;

export const ArtifactManifest = z.object({
  version: z.string().min(1).max(64),
  os: z.string().regex(/^[a-z0-9]+$/).max(32),
  arch: z.string().regex(/^[a-z0-9]+$/).max(32),
  kind: ArtifactKind,
  /** Of the uncompressed executable (or the uncompressed .cjs for kind 'js'): what the server verifies after upload. */
  sha256: z.string().regex(SHA256_HEX),
  compressedSha256: z.string().regex(SHA256_HEX),
  size: z.number().int().positive(),
  compressedSize: z.number().int().positive(),
  /** base64 ed25519 signature over canonicalArtifactString(). */
  signature: z.string().min(1).max(200),
  keyId: z.string().min(1).max(100),
  builtAt: z.string(),
  /** Unsigned hints for pick(); the `version` handshake after deployment is what confirms them. */
  capabilities: z.array(z.string().max(64)).max(64).optional(),
  protocolVersion: z.number().int().positive().optional(),
});
export type ArtifactManifest = z.infer<typeof ArtifactManifest>;

export type SignedFields = Pick<ArtifactManifest, 'version' | 'os' | 'arch' | 'kind' | 'sha256'>;

/** What the signature covers. Changing this string is a format change: bump v1 and keep verifying v1. */
export function canonicalArtifactString(f: SignedFields): string {
  // Only the five signed fields are read, so a whole manifest can be passed.
  const signed: SignedFields = { version: f.version, os: f.os, arch: f.arch, kind: f.kind, sha256: f.sha256 };
  for (const [name, value] of Object.entries(signed)) {
    // ':' would let two different field sets produce the same string.
    if (typeof value !== 'string' || value === '' || value.includes(':')) {
      throw new AppError('ARTIFACT_INVALID', `Runner artifact field ${name} must be non-empty text without ':' (got ${JSON.stringify(value)}).`);
    }
  }
  return `cronium-runner-artifact:v1:${f.version}:${f.os}:${f.arch}:${f.kind}:${f.sha256}`;
}

export type KeyPurpose = 'release' | 'development';

export interface TrustedKey {
  keyId: string;
  purpose: KeyPurpose;
  publicKey: KeyObject;
}

/** 'ed25519:' + the first 16 hex digits of sha256(SPKI DER): names a key in manifests and messages without showing it. */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return 'ed25519:' + createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export function trustedKeyFromPem(pem: string, purpose: KeyPurpose): TrustedKey {
  const publicKey = createPublicKey(pem);
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new AppError('SIGNING_KEY_INVALID', `A runner ${purpose} key must be ed25519, got ${publicKey.asymmetricKeyType}.`);
  }
  return { keyId: keyIdOf(publicKey), purpose, publicKey };
}

/** The release key (always, when present) and this machine's development key (when a development build made one). */
export function loadTrustedKeys(keysDir: string): TrustedKey[] {
  const keys: TrustedKey[] = [];
  for (const [file, purpose] of [[RELEASE_PUBLIC_KEY_FILE, 'release'], [DEV_PUBLIC_KEY_FILE, 'development']] as const) {
    let pem: string;
    try {
      pem = fs.readFileSync(path.join(keysDir, file), 'utf8');
    } catch {
      continue;
    }
    keys.push(trustedKeyFromPem(pem, purpose));
  }
  return keys;
}

export interface SigningKey {
  keyId: string;
  purpose: KeyPurpose;
  privateKey: KeyObject;
  publicKeyPem: string;
}

export function signArtifact(fields: SignedFields, key: SigningKey): { signature: string; keyId: string } {
  const signature = sign(null, Buffer.from(canonicalArtifactString(fields)), key.privateKey).toString('base64');
  return { signature, keyId: key.keyId };
}

/**
 * Checks the manifest's signature with the trusted key it names. Throws ARTIFACT_UNTRUSTED_KEY when the key is not
 * one of ours and ARTIFACT_TAMPERED when the signature does not match the manifest's fields.
 */
export function verifyArtifactSignature(manifest: ArtifactManifest, trustedKeys: TrustedKey[]): TrustedKey {
  const label = `${manifest.version} ${manifest.os}-${manifest.arch} (${manifest.kind})`;
  const key = trustedKeys.find((k) => k.keyId === manifest.keyId);
  if (!key) {
    const known = trustedKeys.map((k) => `${k.keyId} (${k.purpose})`).join(', ') || 'none';
    throw new AppError(
      'ARTIFACT_UNTRUSTED_KEY',
      `Runner artifact ${label} is signed with key ${manifest.keyId}, which this app does not trust (trusted: ${known}). ` +
        'Rebuild it on this machine (npm run build:runner) or install a release build.',
      { details: { keyId: manifest.keyId } },
    );
  }
  let ok = false;
  try {
    ok = verify(null, Buffer.from(canonicalArtifactString(manifest)), key.publicKey, Buffer.from(manifest.signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new AppError(
      'ARTIFACT_TAMPERED',
      `Runner artifact ${label}: its signature does not match its manifest (key ${manifest.keyId}); the artifact was ` +
        'altered after it was built and will not be used. Rebuild it (npm run build:runner) or reinstall the app.',
      { details: { keyId: manifest.keyId, sha256: manifest.sha256 } },
    );
  }
  return key;
}

export function generateSigningKeyPair(): { privateKeyPem: string; publicKeyPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

function signingKeyFromPem(pem: string, purpose: KeyPurpose, source: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    // The parser's message can quote the input; say only where it came from.
    throw new AppError('SIGNING_KEY_INVALID', `The runner ${purpose} signing key in ${source} is not a PKCS8 PEM private key.`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new AppError('SIGNING_KEY_INVALID', `The runner ${purpose} signing key in ${source} must be ed25519, got ${privateKey.asymmetricKeyType}.`);
  }
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { keyId: keyIdOf(privateKey), purpose, privateKey, publicKeyPem };
}

export interface ResolveSigningKeyOptions {
  env: Record<string, string | undefined>;
  /** resources/keys: holds the committed release public key; the development public key is written here. */
  keysDir: string;
  /** Opened only for development builds, so a release build needs no keychain. */
  secrets: () => SecretStore;
}

/**
 * The key a build signs with. With CRONIUM_RUNNER_SIGNING_KEY set: the release key, which must match the committed
 * public key. Otherwise: this machine's development key from the keychain, created on first use, its public half
 * written to resources/keys/runner-dev.pub.pem. A keychain failure propagates with the keychain's own message.
 */
export async function resolveSigningKey(options: ResolveSigningKeyOptions): Promise<SigningKey> {
  const releasePem = options.env[RUNNER_SIGNING_KEY_ENV];
  if (releasePem && releasePem.trim() !== '') {
    const key = signingKeyFromPem(releasePem, 'release', `$${RUNNER_SIGNING_KEY_ENV}`);
    const committedFile = path.join(options.keysDir, RELEASE_PUBLIC_KEY_FILE);
    let committed: TrustedKey;
    try {
      committed = trustedKeyFromPem(fs.readFileSync(committedFile, 'utf8'), 'release');
    } catch (err) {
      throw new AppError('SIGNING_KEY_INVALID', `The release public key ${committedFile} cannot be read, so a release build cannot be checked against it.`, {
        cause: err,
      });
    }
    if (committed.keyId !== key.keyId) {
      throw new AppError(
        'SIGNING_KEY_MISMATCH',
        `$${RUNNER_SIGNING_KEY_ENV} holds key ${key.keyId}, but the app trusts release key ${committed.keyId} ` +
          `(${committedFile}); artifacts signed with it would be refused. Use the release owner's key.`,
      );
    }
    return key;
  }

  const store = options.secrets();
  let pem = await store.get(RUNNER_DEV_SIGNING_KEY_REF);
  if (!pem) {
    await store.set(RUNNER_DEV_SIGNING_KEY_REF, generateSigningKeyPair().privateKeyPem);
    // Read back: two builds racing on a fresh machine settle on whichever key the keychain kept.
    pem = await store.get(RUNNER_DEV_SIGNING_KEY_REF);
    if (!pem) throw new AppError('KEYCHAIN_UNAVAILABLE', `The ${store.description} did not keep the runner development signing key.`);
  }
  const key = signingKeyFromPem(pem, 'development', `the ${store.description} (${RUNNER_DEV_SIGNING_KEY_REF})`);
  const devFile = path.join(options.keysDir, DEV_PUBLIC_KEY_FILE);
  const current = fs.existsSync(devFile) ? fs.readFileSync(devFile, 'utf8') : null;
  if (current !== key.publicKeyPem) {
    fs.mkdirSync(options.keysDir, { recursive: true });
    fs.writeFileSync(devFile, key.publicKeyPem);
  }
  return key;
}
