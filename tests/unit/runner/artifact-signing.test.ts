/**
 * Artifact signatures: the canonical string, signing and verifying with real ed25519 keys, refusal of a manifest
 * whose checksum or signature was altered or whose key is not trusted, and where signing keys come from (the
 * keychain for development builds, CRONIUM_RUNNER_SIGNING_KEY for release builds, checked against the committed key).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEV_PUBLIC_KEY_FILE,
  RELEASE_PUBLIC_KEY_FILE,
  canonicalArtifactString,
  generateSigningKeyPair,
  keyIdOf,
  loadTrustedKeys,
  resolveSigningKey,
  signArtifact,
  trustedKeyFromPem,
  verifyArtifactSignature,
  type ArtifactManifest,
  type SigningKey,
} from '../../../src-main/core/runners/artifact-signing';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { RUNNER_DEV_SIGNING_KEY_REF } from '../../../src-main/core/secrets/secret-refs';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { ErrorCode } from '../../../src-shared/errors';

const REPO_KEYS = path.resolve(__dirname, '../../../resources/keys');

function signingKeyOf(pair: ReturnType<typeof generateSigningKeyPair>): SigningKey {
  const privateKey = createPrivateKey(pair.privateKeyPem);
  return { keyId: keyIdOf(privateKey), purpose: 'development', privateKey, publicKeyPem: pair.publicKeyPem };
}

function manifestSignedBy(key: SigningKey, over: Partial<ArtifactManifest> = {}): ArtifactManifest {
  const fields = { version: '1.0.0', os: 'linux', arch: 'x64', kind: 'sea' as const, sha256: 'a'.repeat(64) };
  return {
    ...fields,
    compressedSha256: 'b'.repeat(64),
    size: 100,
    compressedSize: 50,
    ...signArtifact(fields, key),
    builtAt: new Date().toISOString(),
    ...over,
  };
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-signing-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('runner artifact signing', () => {
  describe('the canonical string', () => {
    it('names the format, version, platform, kind and checksum in a fixed order', () => {
      expect(canonicalArtifactString({ version: '1.2.3', os: 'linux', arch: 'arm64', kind: 'sea', sha256: 'f'.repeat(64) })).toBe(
        `cronium-runner-artifact:v1:1.2.3:linux:arm64:sea:${'f'.repeat(64)}`,
      );
    });

    it("refuses fields containing ':' so two field sets cannot share a string", () => {
      expect(() => canonicalArtifactString({ version: '1:0', os: 'linux', arch: 'x64', kind: 'js', sha256: 'a' })).toThrow(
        expect.objectContaining({ code: ErrorCode.ARTIFACT_INVALID }),
      );
    });
  });

  describe('when a manifest is verified', () => {
    const key = signingKeyOf(generateSigningKeyPair());
    const trusted = [trustedKeyFromPem(key.publicKeyPem, 'development')];

    it('accepts a manifest signed by a trusted key', () => {
      expect(verifyArtifactSignature(manifestSignedBy(key), trusted).keyId).toBe(key.keyId);
    });

    it.each([
      ['sha256', { sha256: 'c'.repeat(64) }],
      ['version', { version: '1.0.1' }],
      ['arch', { arch: 'arm64' }],
      ['kind', { kind: 'js' as const }],
    ])('refuses a manifest whose %s was changed after signing as ARTIFACT_TAMPERED', (_field, change) => {
      expect(() => verifyArtifactSignature(manifestSignedBy(key, change), trusted)).toThrow(
        expect.objectContaining({ code: ErrorCode.ARTIFACT_TAMPERED }),
      );
    });

    it('refuses a garbled signature as ARTIFACT_TAMPERED', () => {
      const m = manifestSignedBy(key);
      const bytes = Buffer.from(m.signature, 'base64');
      bytes[10] ^= 0xff;
      expect(() => verifyArtifactSignature({ ...m, signature: bytes.toString('base64') }, trusted)).toThrow(/signature does not match/);
    });

    it('refuses a manifest signed by a key the app does not trust, naming both keys', () => {
      const stranger = signingKeyOf(generateSigningKeyPair());
      const m = manifestSignedBy(stranger);
      expect(() => verifyArtifactSignature(m, trusted)).toThrow(expect.objectContaining({ code: ErrorCode.ARTIFACT_UNTRUSTED_KEY }));
      expect(() => verifyArtifactSignature(m, trusted)).toThrow(new RegExp(`${stranger.keyId}.*${key.keyId}`));
    });

    it('refuses a stranger re-signing with a trusted key id it does not hold', () => {
      const stranger = signingKeyOf(generateSigningKeyPair());
      const forged = { ...manifestSignedBy(stranger), keyId: key.keyId };
      expect(() => verifyArtifactSignature(forged, trusted)).toThrow(expect.objectContaining({ code: ErrorCode.ARTIFACT_TAMPERED }));
    });
  });

  describe('the committed release key', () => {
    it('is an ed25519 public key and no private key is committed beside it', () => {
      const keys = loadTrustedKeys(REPO_KEYS);
      expect(keys.find((k) => k.purpose === 'release')?.keyId).toMatch(/^ed25519:[0-9a-f]{16}$/);
      for (const file of fs.readdirSync(REPO_KEYS)) {
        expect(fs.readFileSync(path.join(REPO_KEYS, file), 'utf8')).not.toMatch(/PRIVATE KEY/);
      }
    });
  });

  describe('when a development build needs its key', () => {
    it('creates it in the keychain on first use, writes only the public half, and reuses it afterwards', async () => {
      const secrets = new MemorySecretStore();
      const first = await resolveSigningKey({ env: {}, keysDir: tmp, secrets: () => secrets });
      expect(first.purpose).toBe('development');
      expect(await secrets.get(RUNNER_DEV_SIGNING_KEY_REF)).toMatch(/BEGIN PRIVATE KEY/);
      expect(fs.readdirSync(tmp)).toEqual([DEV_PUBLIC_KEY_FILE]);
      const pub = fs.readFileSync(path.join(tmp, DEV_PUBLIC_KEY_FILE), 'utf8');
      expect(pub).toMatch(/BEGIN PUBLIC KEY/);
      expect(keyIdOf(createPublicKey(pub))).toBe(first.keyId);

      const second = await resolveSigningKey({ env: {}, keysDir: tmp, secrets: () => secrets });
      expect(second.keyId).toBe(first.keyId);
      expect(loadTrustedKeys(tmp).map((k) => k.keyId)).toEqual([first.keyId]);
    });
  });

  describe('when a release build brings its key in CRONIUM_RUNNER_SIGNING_KEY', () => {
    const release = generateSigningKeyPair();
    const env = { CRONIUM_RUNNER_SIGNING_KEY: release.privateKeyPem };
    const noKeychain = () => {
      throw new Error('a release build must not open the keychain');
    };

    it('signs with it when it matches the committed release public key', async () => {
      fs.writeFileSync(path.join(tmp, RELEASE_PUBLIC_KEY_FILE), release.publicKeyPem);
      const key = await resolveSigningKey({ env, keysDir: tmp, secrets: noKeychain });
      expect(key).toMatchObject({ purpose: 'release', keyId: release.keyId });
      expect(fs.readdirSync(tmp)).toEqual([RELEASE_PUBLIC_KEY_FILE]);
    });

    it('refuses a key that does not match the committed one, before signing anything', async () => {
      fs.writeFileSync(path.join(tmp, RELEASE_PUBLIC_KEY_FILE), generateSigningKeyPair().publicKeyPem);
      await expect(resolveSigningKey({ env, keysDir: tmp, secrets: noKeychain })).rejects.toMatchObject({ code: ErrorCode.SIGNING_KEY_MISMATCH });
    });

    it('refuses text that is not a private key without quoting it', async () => {
      const bad = { CRONIUM_RUNNER_SIGNING_KEY: 'not-a-key-SECRETISH' };
      const err = await resolveSigningKey({ env: bad, keysDir: tmp, secrets: noKeychain }).catch((e: Error) => e);
      expect(err).toMatchObject({ code: ErrorCode.SIGNING_KEY_INVALID });
      expect((err as Error).message).not.toContain('SECRETISH');
    });
  });
});
