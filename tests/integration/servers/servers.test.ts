// Servers against a real OpenSSH sshd: credentials only in the keychain, key validation at the field, host keys on
// first use, pinned and changed (refused before any credential is sent), wrong password, unreachable hosts.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { startSshd, type SshdHandle } from '../../harness/sshd';
import { freePort } from '../../harness/ports';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { EventInput } from '../../../src-shared/contract/events';
import { WorkflowInput } from '../../../src-shared/contract/workflows';
import { ErrorCode } from '../../../src-shared/errors';

let sshd: SshdHandle;
let test: TestCore;
let secrets: MemorySecretStore;

beforeAll(async () => {
  sshd = await startSshd();
  secrets = new MemorySecretStore();
  test = await createTestCore({ secrets });
});
afterAll(async () => {
  await test?.cleanup();
  await sshd?.stop();
});

const keyServer = (extra: Record<string, unknown> = {}) => ({
  name: `key-${Math.random().toString(36).slice(2, 8)}`, host: sshd.host, port: sshd.port, username: sshd.keyUser.username,
  authType: 'key' as const, privateKey: sshd.keyUser.privateKey, tags: ['db'], maxConcurrentJobs: 2, ...extra,
});

/** What sshd logged about authentication since `mark`. */
const authLines = (mark: number) => sshd.log().slice(mark).split('\n').filter((l) => /Accepted|Failed|authenticating user|Invalid user|Postponed/i.test(l));

describe('servers', () => {
  describe('when the user adds a server with a key', () => {
    it('keeps the key only in the keychain and shows only that one is stored', async () => {
      const view = await test.core.servers.save(keyServer({ name: 'db-1' }));
      expect(view.hasCredential).toBe(true);
      expect(JSON.stringify(view)).not.toContain('PRIVATE KEY');
      const row = await test.core.db.kysely.selectFrom('servers').selectAll().where('id', '=', view.id).executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain('PRIVATE KEY');
      expect(row.credential_ref).toBe(`server:${view.id}:credential`);
      expect(await secrets.get(row.credential_ref)).toContain('PRIVATE KEY');
      expect((await test.core.servers.list({ tag: 'db' })).map((s) => s.name)).toContain('db-1');
      expect(await test.core.servers.list({ tag: 'web' })).toEqual([]);
      await expect(test.core.servers.save(keyServer({ name: 'db-1' }))).rejects.toMatchObject({ extra: { fields: { name: expect.any(String) } } });
      await test.core.servers.delete(view.id);
      expect(await secrets.get(row.credential_ref)).toBeNull();
    });

    it('refuses key text it cannot read, and a wrong or missing passphrase, at the field', async () => {
      await expect(test.core.servers.save(keyServer({ privateKey: 'not a key' }))).rejects.toMatchObject({ code: ErrorCode.KEY_INVALID, extra: { fields: { privateKey: expect.any(String) } } });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-key-'));
      try {
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right-pass', '-f', path.join(dir, 'k')]);
        const encrypted = fs.readFileSync(path.join(dir, 'k'), 'utf8');
        await expect(test.core.servers.save(keyServer({ privateKey: encrypted }))).rejects.toMatchObject({ code: ErrorCode.KEY_INVALID, extra: { fields: { passphrase: expect.stringContaining('passphrase') } } });
        await expect(test.core.servers.save(keyServer({ privateKey: encrypted, passphrase: 'wrong' }))).rejects.toMatchObject({ code: ErrorCode.KEY_INVALID, extra: { fields: { passphrase: expect.any(String) } } });
        const ok = await test.core.servers.save(keyServer({ privateKey: encrypted, passphrase: 'right-pass' }));
        expect(ok.hasCredential).toBe(true);
        await expect(test.core.servers.save(keyServer({ privateKey: fs.readFileSync(path.join(dir, 'k.pub'), 'utf8') }))).rejects.toMatchObject({ code: ErrorCode.KEY_INVALID });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('when the user deletes a server a workflow step runs on', () => {
    it('refuses with SERVER_IN_USE naming the workflow, and deletes it once no step uses it', async () => {
      const view = await test.core.servers.save(keyServer({ name: 'etl-1' }));
      const ev = await test.core.events.save(EventInput.parse({ name: 'load', scriptType: 'bash', content: 'true', timeoutSeconds: 10, serverIds: [view.id] }));
      const wf = await test.core.workflows.save(WorkflowInput.parse({ name: 'nightly etl', nodes: [{ id: 'load', eventId: ev.id, serverId: view.id }], edges: [] }));
      await expect(test.core.servers.delete(view.id)).rejects.toMatchObject({
        code: ErrorCode.SERVER_IN_USE, message: '“etl-1” runs steps of workflow “nightly etl”; move those steps to another server first',
      });
      expect((await test.core.servers.get(view.id)).name).toBe('etl-1');
      await test.core.workflows.delete(wf.id);
      await test.core.servers.delete(view.id);
      await expect(test.core.servers.get(view.id)).rejects.toMatchObject({ code: ErrorCode.SERVER_NOT_FOUND });
      await test.core.events.delete(ev.id);
    });
  });

  describe('when the user tests a server for the first time, trusts it, and the key later changes', () => {
    it('shows the fingerprint, connects once pinned, and refuses a changed key before authenticating', async () => {
      const server = await test.core.servers.save(keyServer());
      let mark = sshd.log().length;
      const first = await test.core.servers.test(server.id);
      expect(first).toMatchObject({ status: 'untrusted', fingerprint: sshd.hostKeyFingerprint, algorithm: 'ssh-ed25519' });
      expect(authLines(mark)).toEqual([]);

      const trusted = await test.core.servers.trustHostKey(server.id, sshd.hostKeyFingerprint, false);
      expect(trusted.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
      const markOk = sshd.log().length;
      const ok = await test.core.servers.test(server.id);
      expect(ok.status).toBe('ok');
      // The log does show authentication when it happens, so its absence above and below means something.
      expect(authLines(markOk).some((l) => /Accepted publickey/.test(l))).toBe(true);
      expect((await test.core.servers.get(server.id)).lastConnection).toMatchObject({ ok: true, latencyMs: expect.any(Number) });

      const oldFingerprint = sshd.hostKeyFingerprint;
      await sshd.regenerateHostKey();
      mark = sshd.log().length;
      const changed = await test.core.servers.test(server.id);
      expect(changed).toMatchObject({ status: 'changed', expected: oldFingerprint, actual: sshd.hostKeyFingerprint });
      expect(changed.status === 'changed' && changed.message).toContain('connection refused before sending credentials');

      // A job on the changed key fails the same way, and sshd never sees an authentication attempt.
      const ev = await test.core.events.save(EventInput.parse({ name: `e-${server.id}`, scriptType: 'bash', content: 'echo hi', timeoutSeconds: 30, executionMode: 'direct-ssh', serverIds: [server.id] }));
      const [queued] = await test.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' });
      const job = await test.core.jobs.waitForJob(queued.id);
      expect(job.status).toBe('FAILURE');
      expect(job.reason).toContain(`expected ${oldFingerprint}, got ${sshd.hostKeyFingerprint}`);
      expect(authLines(mark)).toEqual([]);

      await expect(test.core.servers.trustHostKey(server.id, oldFingerprint, true)).rejects.toMatchObject({ code: ErrorCode.HOST_KEY_MISMATCH });
      await expect(test.core.servers.trustHostKey(server.id, sshd.hostKeyFingerprint, false)).rejects.toMatchObject({ code: ErrorCode.HOST_KEY_REPLACE_REQUIRED });
      await test.core.servers.trustHostKey(server.id, sshd.hostKeyFingerprint, true);
      expect((await test.core.servers.test(server.id)).status).toBe('ok');
      const audit = await test.core.db.kysely.selectFrom('audit_log').select(['action', 'detail']).where('subject', '=', server.id).execute();
      expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['server.trust_host_key', 'server.replace_host_key', 'server.test']));
      expect(JSON.stringify(audit)).not.toContain('PRIVATE KEY');
    });
  });

  describe('when the password is wrong', () => {
    it('reports an authentication failure, and succeeds with the right one', async () => {
      const wrong = await test.core.servers.save({
        name: 'pw', host: sshd.host, port: sshd.port, username: sshd.passwordUser.username, authType: 'password', password: 'wrong-password', tags: [], maxConcurrentJobs: 1,
      });
      await test.core.servers.trustHostKey(wrong.id, sshd.hostKeyFingerprint, false);
      const result = await test.core.servers.test(wrong.id);
      expect(result).toMatchObject({ status: 'error', code: ErrorCode.AUTH_FAILED });
      expect(result.status === 'error' && result.message).toContain(sshd.passwordUser.username);
      await test.core.servers.save({ id: wrong.id, name: 'pw', host: sshd.host, port: sshd.port, username: sshd.passwordUser.username, authType: 'password', password: sshd.passwordUser.password, tags: [], maxConcurrentJobs: 1 });
      expect((await test.core.servers.test(wrong.id)).status).toBe('ok');
    });
  });

  describe('when the server cannot be reached', () => {
    it('reports nothing listening on the port within a bounded wait', async () => {
      const port = await freePort();
      const server = await test.core.servers.save(keyServer({ port }));
      const started = Date.now();
      const result = await test.core.servers.test(server.id);
      expect(result).toMatchObject({ status: 'error', code: ErrorCode.HOST_UNREACHABLE });
      expect(Date.now() - started).toBeLessThan(3_000);
    });

    it('gives up on a port that accepts but never speaks SSH within the test bound', async () => {
      const silent = net.createServer(() => undefined);
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
      try {
        const port = (silent.address() as net.AddressInfo).port;
        const server = await test.core.servers.save(keyServer({ port }));
        const started = Date.now();
        const result = await test.core.servers.test(server.id);
        expect(result).toMatchObject({ status: 'error', code: ErrorCode.CONNECT_TIMEOUT });
        expect(Date.now() - started).toBeLessThan(12_000);
      } finally {
        silent.close();
      }
    });
  });
});
