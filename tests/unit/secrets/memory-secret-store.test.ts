// MemorySecretStore: the test stand-in for the keychain must behave like it, or tests built on it prove nothing.
import { describe, expect, it } from 'vitest';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { ErrorCode } from '../../../src-shared/errors';

describe('MemorySecretStore', () => {
  describe('when the user saves, changes and removes a secret', () => {
    it('returns what was stored, the newest value after an overwrite, and null once deleted', async () => {
      const store = new MemorySecretStore();
      await store.check();
      expect(await store.get('server:s1:credential')).toBeNull();
      await store.set('server:s1:credential', 'hunter2');
      expect(await store.get('server:s1:credential')).toBe('hunter2');
      await store.set('server:s1:credential', 'correct horse');
      expect(await store.get('server:s1:credential')).toBe('correct horse');
      expect(await store.delete('server:s1:credential')).toBe(true);
      expect(await store.delete('server:s1:credential')).toBe(false);
      expect(await store.get('server:s1:credential')).toBeNull();
    });

    it('keeps accounts apart', async () => {
      const store = new MemorySecretStore();
      await store.set('a', '1');
      await store.set('b', '2');
      expect([await store.get('a'), await store.get('b')]).toEqual(['1', '2']);
      expect(store.accounts()).toEqual(['a', 'b']);
    });
  });

  describe('when a caller passes a bad account name', () => {
    it('refuses it like the keychain store does', async () => {
      const store = new MemorySecretStore();
      await expect(store.set('  ', 'x')).rejects.toMatchObject({ code: ErrorCode.SECRET_INVALID });
      await expect(store.get('')).rejects.toMatchObject({ code: ErrorCode.SECRET_INVALID });
    });
  });

  describe('when it is told the keychain is unavailable', () => {
    it('fails every call with KEYCHAIN_UNAVAILABLE until it is available again', async () => {
      const store = new MemorySecretStore();
      await store.set('a', '1');
      store.setUnavailable('The keyring is locked');
      await expect(store.check()).rejects.toMatchObject({ code: ErrorCode.KEYCHAIN_UNAVAILABLE, message: 'The keyring is locked' });
      await expect(store.get('a')).rejects.toMatchObject({ code: ErrorCode.KEYCHAIN_UNAVAILABLE });
      await expect(store.set('a', '2')).rejects.toMatchObject({ code: ErrorCode.KEYCHAIN_UNAVAILABLE });
      await expect(store.delete('a')).rejects.toMatchObject({ code: ErrorCode.KEYCHAIN_UNAVAILABLE });
      store.setUnavailable(undefined);
      expect(await store.get('a')).toBe('1');
    });
  });
});
