// The OS keychain for real: secrets round-trip through GNOME Keyring over D-Bus (run under scripts/with-keyring.sh,
// as npm test does), and a process with no D-Bus session is told plainly what is missing.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeytarSecretStore } from '../../../src-main/core/secrets/keytar-secret-store';
import { HELPER_JWT_SECRET_REF, getOrCreateAppSecret, serverCredentialRef } from '../../../src-main/core/secrets/secret-refs';
import { ErrorCode } from '../../../src-shared/errors';

const repoRoot = path.resolve(__dirname, '../../..');
// A service name of its own, so the test never reads or clobbers the app's real secrets.
const serviceName = `cronium-desktop-test-${process.pid}-${randomBytes(4).toString('hex')}`;

describe('KeytarSecretStore against a real keyring', () => {
  const store = new KeytarSecretStore({ serviceName });
  const used = new Set<string>();
  const account = (name: string) => {
    used.add(name);
    return name;
  };

  beforeAll(() => {
    if (!process.env.DBUS_SESSION_BUS_ADDRESS) {
      throw new Error('No D-Bus session: run keychain tests under scripts/with-keyring.sh (npm test does).');
    }
  });

  afterAll(async () => {
    for (const name of used) await store.delete(name).catch(() => undefined);
  });

  describe('when the keyring is unlocked', () => {
    it('passes check()', async () => {
      await expect(store.check()).resolves.toBeUndefined();
    });

    it('keeps a credential through set, get, overwrite and delete', async () => {
      const ref = account(serverCredentialRef('db-1'));
      expect(await store.get(ref)).toBeNull();
      await store.set(ref, 'first password');
      expect(await store.get(ref)).toBe('first password');
      await store.set(ref, 'second password');
      expect(await store.get(ref)).toBe('second password');
      expect(await store.delete(ref)).toBe(true);
      expect(await store.get(ref)).toBeNull();
      expect(await store.delete(ref)).toBe(false);
    });

    it('keeps unicode exactly', async () => {
      const ref = account('variable:global:greeting');
      const value = 'pässwörd ✓ 密码 🔑 \u00e9\u0301';
      await store.set(ref, value);
      expect(await store.get(ref)).toBe(value);
    });

    it('keeps a 10 KB value such as a private key', async () => {
      const ref = account(serverCredentialRef('big-key'));
      const body = randomBytes(7_500).toString('base64').replace(/.{64}/g, '$&\n');
      const value = `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`;
      expect(value.length).toBeGreaterThan(10_000);
      await store.set(ref, value);
      expect(await store.get(ref)).toBe(value);
    });

    it('keeps accounts apart and leaves other services alone', async () => {
      const a = account('event:e1:secret:TOKEN');
      const b = account('event:e2:secret:TOKEN');
      await store.set(a, 'one');
      await store.set(b, 'two');
      expect([await store.get(a), await store.get(b)]).toEqual(['one', 'two']);
      const other = new KeytarSecretStore({ serviceName: `${serviceName}-other` });
      expect(await other.get(a)).toBeNull();
    });
  });

  describe('when the app needs its helper JWT secret', () => {
    it('creates it once and finds the same one on the next start', async () => {
      account(HELPER_JWT_SECRET_REF);
      const first = await getOrCreateAppSecret(store, HELPER_JWT_SECRET_REF);
      const restarted = new KeytarSecretStore({ serviceName });
      expect(await getOrCreateAppSecret(restarted, HELPER_JWT_SECRET_REF)).toBe(first);
    });
  });
});

describe('KeytarSecretStore without a D-Bus session', () => {
  let workDir = '';
  let script = '';

  beforeAll(async () => {
    // The store as the app ships it (bundled, keytar external), run in a child whose environment has no D-Bus session.
    workDir = await mkdtemp(path.join(os.tmpdir(), 'cronium-keychain-'));
    script = path.join(workDir, 'check.cjs');
    await build({
      stdin: {
        contents: `
          import { KeytarSecretStore } from './src-main/core/secrets/keytar-secret-store';
          new KeytarSecretStore({ serviceName: process.argv[2] }).check().then(
            () => console.log(JSON.stringify({ ok: true })),
            (e) => console.log(JSON.stringify({ ok: false, code: e.code, message: e.message })),
          );`,
        resolveDir: repoRoot,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['keytar'],
      outfile: script,
      logLevel: 'silent',
    });
  });

  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  describe('when the user runs the app outside a desktop session', () => {
    it('fails check() with KEYCHAIN_UNAVAILABLE and says what is missing and what to do', async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: path.join(repoRoot, 'node_modules') };
      delete env.DBUS_SESSION_BUS_ADDRESS;
      delete env.DISPLAY;
      delete env.WAYLAND_DISPLAY;
      // An empty runtime dir, so GDBus cannot find a session bus socket there either.
      env.XDG_RUNTIME_DIR = workDir;
      const { stdout } = await promisify(execFile)(process.execPath, [script, serviceName], { env, timeout: 30_000 });
      expect(JSON.parse(stdout.trim())).toEqual({
        ok: false,
        code: ErrorCode.KEYCHAIN_UNAVAILABLE,
        message:
          'No desktop keyring is reachable: start a D-Bus session and a Secret Service such as GNOME Keyring ' +
          '(apt-get install gnome-keyring dbus), or run the app inside your desktop session.',
      });
    });
  });
});
