// Secret references and app secrets: the names the database stores instead of values, and the generated app keys.
import { describe, expect, it } from 'vitest';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import {
  HELPER_JWT_SECRET_REF,
  RUNNER_DEV_SIGNING_KEY_REF,
  eventSecretRef,
  getOrCreateAppSecret,
  serverCredentialRef,
  variableSecretRef,
} from '../../../src-main/core/secrets/secret-refs';
import { ErrorCode } from '../../../src-shared/errors';

describe('secret references', () => {
  describe('when a service names a keychain account', () => {
    it('builds the documented account names', () => {
      expect(serverCredentialRef('6f1c')).toBe('server:6f1c:credential');
      expect(eventSecretRef('e-42', 'DB_PASSWORD')).toBe('event:e-42:secret:DB_PASSWORD');
      expect(variableSecretRef('workflow:w1', 'token')).toBe('variable:workflow:w1:token');
      expect(HELPER_JWT_SECRET_REF).toBe('app:helper-jwt-secret');
      expect(RUNNER_DEV_SIGNING_KEY_REF).toBe('app:runner-dev-signing-key');
    });

    it('refuses empty parts and control characters, which would make two secrets share an account', () => {
      expect(() => serverCredentialRef('')).toThrow(expect.objectContaining({ code: ErrorCode.SECRET_INVALID }));
      expect(() => eventSecretRef('e1', '')).toThrow(/secret name/);
      expect(() => variableSecretRef('global', 'a\nb')).toThrow(/variable key/);
    });
  });
});

describe('getOrCreateAppSecret', () => {
  describe('when the app starts for the first time', () => {
    it('creates a random base64url secret of the asked size and stores it', async () => {
      const store = new MemorySecretStore();
      const secret = await getOrCreateAppSecret(store, HELPER_JWT_SECRET_REF, 32);
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
      expect(await store.get(HELPER_JWT_SECRET_REF)).toBe(secret);
    });

    it('gives two fresh machines different secrets', async () => {
      const a = await getOrCreateAppSecret(new MemorySecretStore(), HELPER_JWT_SECRET_REF);
      const b = await getOrCreateAppSecret(new MemorySecretStore(), HELPER_JWT_SECRET_REF);
      expect(a).not.toBe(b);
    });
  });

  describe('when the app starts again', () => {
    it('returns the stored secret instead of making a new one', async () => {
      const store = new MemorySecretStore();
      const first = await getOrCreateAppSecret(store, HELPER_JWT_SECRET_REF);
      expect(await getOrCreateAppSecret(store, HELPER_JWT_SECRET_REF)).toBe(first);
      expect(store.accounts()).toEqual([HELPER_JWT_SECRET_REF]);
    });
  });

  describe('when asked for a weak key', () => {
    it('refuses fewer than 16 bytes', async () => {
      await expect(getOrCreateAppSecret(new MemorySecretStore(), HELPER_JWT_SECRET_REF, 8)).rejects.toMatchObject({
        code: ErrorCode.SECRET_INVALID,
      });
    });
  });

  describe('when the keychain is unavailable', () => {
    it('fails with KEYCHAIN_UNAVAILABLE and never invents a secret it cannot keep', async () => {
      const store = new MemorySecretStore({ unavailableMessage: 'No desktop keyring is reachable' });
      await expect(getOrCreateAppSecret(store, HELPER_JWT_SECRET_REF)).rejects.toMatchObject({
        code: ErrorCode.KEYCHAIN_UNAVAILABLE,
        message: 'No desktop keyring is reachable',
      });
      store.setUnavailable(undefined);
      expect(store.accounts()).toEqual([]);
    });
  });
});
