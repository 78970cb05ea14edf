// Keychain failures in plain words: the real messages libsecret, D-Bus and Node produce, and what the user is told.
import { describe, expect, it } from 'vitest';
import { KeytarSecretStore, describeKeychainFailure } from '../../../src-main/core/secrets/keytar-secret-store';
import type { KeytarModule } from '../../../src-main/core/secrets/keytar-secret-store';
import { ErrorCode } from '../../../src-shared/errors';

describe('describeKeychainFailure', () => {
  const cases: Array<{ when: string; raw: string; says: RegExp }> = [
    {
      when: 'there is no D-Bus session (a server, SSH login, CI)',
      raw: 'Cannot autolaunch D-Bus without X11 $DISPLAY',
      says: /^No desktop keyring is reachable: start a D-Bus session and a Secret Service such as GNOME Keyring \(apt-get install gnome-keyring dbus\), or run the app inside your desktop session\.$/,
    },
    {
      when: 'the keyring is locked or has no login collection',
      raw: 'Object does not exist at path \u201c/org/freedesktop/secrets/collection/login\u201d',
      says: /^The keyring is locked or has no login collection: unlock it/,
    },
    {
      when: 'a D-Bus session runs but no Secret Service is installed',
      raw: 'The name org.freedesktop.secrets was not provided by any .service files',
      says: /no Secret Service answers.*apt-get install gnome-keyring/,
    },
    {
      when: 'libsecret is not installed',
      raw: 'libsecret-1.so.0: cannot open shared object file: No such file or directory',
      says: /libsecret library is missing.*apt-get install libsecret-1-0/,
    },
    {
      when: 'keytar was built for another Node or Electron',
      raw: "The module '/app/node_modules/keytar/build/Release/keytar.node' was compiled against a different Node.js version using NODE_MODULE_VERSION 115.",
      says: /built for a different Node\/Electron version.*npm rebuild keytar/,
    },
    {
      when: 'keytar is not installed',
      raw: "Cannot find module 'keytar'",
      says: /not installed or not built.*npm ci/,
    },
    {
      when: 'the keychain fails in a way nobody foresaw',
      raw: 'Something odd',
      says: /failed while secrets were being read: Something odd$/,
    },
  ];

  for (const c of cases) {
    describe(`when ${c.when}`, () => {
      it('answers KEYCHAIN_UNAVAILABLE with what is missing and what to do', () => {
        const err = describeKeychainFailure(new Error(c.raw), 'read');
        expect(err.code).toBe(ErrorCode.KEYCHAIN_UNAVAILABLE);
        expect(err.message).toMatch(c.says);
        expect(err.extra.details).toMatchObject({ action: 'read', cause: c.raw });
      });
    });
  }
});

describe('KeytarSecretStore', () => {
  const missingModule = '/nonexistent/keytar-missing.js';

  describe('when the keytar native module cannot be loaded', () => {
    // A real module-load failure (a path that does not exist), not a simulated error.
    const brokenLoad = () => import(/* @vite-ignore */ missingModule) as Promise<KeytarModule>;

    it('is constructed without touching keytar, so the app can still start', () => {
      expect(() => new KeytarSecretStore({ loadKeytar: brokenLoad })).not.toThrow();
    });

    it('fails check, get, set and delete with KEYCHAIN_UNAVAILABLE instead of crashing', async () => {
      const store = new KeytarSecretStore({ loadKeytar: brokenLoad });
      for (const call of [() => store.check(), () => store.get('a'), () => store.set('a', 'v'), () => store.delete('a')]) {
        await expect(call()).rejects.toMatchObject({ code: ErrorCode.KEYCHAIN_UNAVAILABLE });
      }
    });
  });

  describe('when a caller passes a bad account name', () => {
    it('refuses it before asking the keychain', async () => {
      const store = new KeytarSecretStore({ loadKeytar: () => import(/* @vite-ignore */ missingModule) as Promise<KeytarModule> });
      await expect(store.set('', 'x')).rejects.toMatchObject({ code: ErrorCode.SECRET_INVALID });
    });
  });
});
