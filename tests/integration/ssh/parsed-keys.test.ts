// Issue 18: parsed private keys kept in memory a short while (ssh/parsed-keys.ts), against a real sshd. A credential
// changed in the keychain is what the next connection logs in with (never the key parsed before); replacing a
// credential through the app or deleting the server drops every parsed key; a wrong passphrase still gives the same
// clear error, also after the right one was used and its key kept.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { AppError } from '../../../src-main/core/errors';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { serverCredentialRef } from '../../../src-main/core/secrets/secret-refs';
import { parsedKeys } from '../../../src-main/core/ssh/parsed-keys';
import { ErrorCode } from '../../../src-shared/errors';

/** Harness users cronium-k494 and k495: this suite's alone. */
const FIRST_USER = 494;

let sshd: SshdHandle;
let tc: TestCore;
let secrets: MemorySecretStore;
let userA: SshdKeyUser;
let userB: SshdKeyUser;
let keyDir: string;

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

async function save(user: SshdKeyUser, name: string, privateKey: string, opts: { id?: string; passphrase?: string } = {}): Promise<string> {
  const view = await tc.core.servers.save({
    ...(opts.id ? { id: opts.id } : {}),
    name, host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey,
    ...(opts.passphrase ? { passphrase: opts.passphrase } : {}),
    tags: [], maxConcurrentJobs: 4,
  });
  if (!opts.id) await tc.core.servers.trustHostKey(view.id, sshd.hostKeyFingerprint, false);
  return view.id;
}

const whoami = async (id: string) => (await tc.core.ssh.exec(id, 'whoami')).stdout;

beforeAll(async () => {
  sshd = await startSshd({ users: 2, firstUser: FIRST_USER });
  [userA, userB] = sshd.extraUsers as [SshdKeyUser, SshdKeyUser];
  secrets = new MemorySecretStore();
  tc = await createTestCore({ secrets });
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-parsed-keys-'));
}, 120_000);

afterAll(async () => {
  await tc?.cleanup();
  await sshd?.stop();
  if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
});

describe('parsed keys kept between connections', () => {
  it('logs in with the key the keychain holds now, not the one parsed for the connection before', async () => {
    const id = await save(userA, 'keys-a', userA.privateKey);
    expect(await whoami(id)).toBe(`${userA.username}\n`);
    expect(parsedKeys.size).toBeGreaterThan(0);
    // The keychain entry changed outside the app (B's key, which A's account does not accept): refused at once.
    await secrets.set(serverCredentialRef(id), JSON.stringify({ type: 'key', privateKey: userB.privateKey }));
    tc.core.ssh.invalidate(id);
    expect((await rejection(whoami(id))).code).toBe(ErrorCode.AUTH_FAILED);
    await secrets.set(serverCredentialRef(id), JSON.stringify({ type: 'key', privateKey: userA.privateKey }));
    tc.core.ssh.invalidate(id);
    expect(await whoami(id)).toBe(`${userA.username}\n`);
  }, 60_000);

  it('drops every parsed key when a credential is replaced through the app and when a server is deleted', async () => {
    const id = await save(userB, 'keys-b', userB.privateKey);
    expect(await whoami(id)).toBe(`${userB.username}\n`);
    expect(parsedKeys.size).toBeGreaterThan(0);
    await save(userB, 'keys-b', userB.privateKey, { id });
    expect(parsedKeys.size).toBe(0);
    expect(await whoami(id)).toBe(`${userB.username}\n`);
    expect(parsedKeys.size).toBe(1);
    await tc.core.servers.delete(id);
    expect(parsedKeys.size).toBe(0);
  }, 60_000);

  it('says KEY_INVALID for a wrong passphrase, the same before and after the right one was used', async () => {
    // B's own key, encrypted: the server accepts it once it is decrypted.
    const file = path.join(keyDir, 'b');
    fs.writeFileSync(file, userB.privateKey, { mode: 0o600 });
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'right horse', '-f', file]);
    const encrypted = fs.readFileSync(file, 'utf8');
    const id = await save(userB, 'keys-b-encrypted', encrypted, { passphrase: 'right horse' });
    const ref = serverCredentialRef(id);
    // The keychain holds a wrong passphrase (changed outside the app): nothing was parsed with it.
    await secrets.set(ref, JSON.stringify({ type: 'key', privateKey: encrypted, passphrase: 'wrong horse' }));
    const before = await rejection(whoami(id));
    expect(before.code).toBe(ErrorCode.KEY_INVALID);
    expect(before.message).not.toMatch(/horse/);

    await secrets.set(ref, JSON.stringify({ type: 'key', privateKey: encrypted, passphrase: 'right horse' }));
    expect(await whoami(id)).toBe(`${userB.username}\n`);
    // Back to the wrong passphrase: not the key parsed with the right one, which is still kept.
    await secrets.set(ref, JSON.stringify({ type: 'key', privateKey: encrypted, passphrase: 'wrong horse' }));
    tc.core.ssh.invalidate(id);
    const after = await rejection(whoami(id));
    expect(after.code).toBe(ErrorCode.KEY_INVALID);
    expect(after.message).toBe(before.message);
  }, 60_000);
});
