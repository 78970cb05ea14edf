// Fallback and the guard on the runner socket. A server where no runner can be deployed (its ~/.cronium is not a
// writable folder): an 'auto' job runs direct-ssh with the attempted mode, the actual mode and the reason recorded
// when fallback is allowed, and fails with that reason when it is not. And while a runner job streams: a forged
// token, an expired one and another job's token are refused with 401, a malformed message is refused with an error
// frame, and the job is not disturbed (its log is still exact).
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { runnerStreamPath } from '../../../src-shared/protocol/runner-wire';
import { FIRST_USER, USERS_NEEDED, addServer, linesOf, requireRunnerBuild, resetHome, runAndWait, saveEvent, start, stdoutOf, waitFor } from './runner-exec-fixtures';

let sshd: SshdHandle;
let tc: TestCore;
let blocked: SshdKeyUser;
let good: SshdKeyUser;
let blockedServer: string;
let goodServer: string;

beforeAll(async () => {
  requireRunnerBuild();
  sshd = await startSshd({ users: USERS_NEEDED });
  blocked = sshd.extraUsers[FIRST_USER + 4];
  good = sshd.extraUsers[FIRST_USER + 5];
  resetHome(blocked);
  resetHome(good);
  // A file where the runner folder should be: nothing can be deployed under it.
  fs.writeFileSync(path.join(blocked.home, '.cronium'), 'not a folder\n');
  tc = await createTestCore();
  await tc.core.start();
  blockedServer = await addServer(tc.core, sshd, blocked, 'no-runner-possible');
  goodServer = await addServer(tc.core, sshd, good, 'runner-guarded');
}, 120_000);

afterAll(async () => {
  await tc?.cleanup();
  if (blocked) resetHome(blocked);
  if (good) resetHome(good);
  await sshd?.stop();
});

/** Tries to open the runner socket of `jobId` on the listener; resolves with the HTTP status (101 when opened). */
function tryConnect(jobId: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${tc.core.listener.port}${runnerStreamPath(jobId)}`, { headers: { authorization: `Bearer ${token}` } });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => undefined);
  });
}

describe('fallback from runner to direct-ssh', () => {
  describe('when no runner can be deployed and fallback is allowed', () => {
    it('runs the auto job direct-ssh and records the attempted mode, the actual mode and the reason', async () => {
      const event = await saveEvent(tc.core, blockedServer, { scriptType: 'bash', executionMode: 'auto', content: 'echo "ran anyway"\n' });
      const job = await runAndWait(tc.core, event.id);
      expect(job).toMatchObject({ status: 'SUCCESS', requestedMode: 'auto', executionMode: 'direct-ssh' });
      expect(job.fallbackReason).toMatch(/no runner could be used on no-runner-possible/);
      const lines = await linesOf(tc.core, job.logId!);
      expect(lines.find((l) => l.stream === 'system')?.text).toMatch(/^running with direct-ssh: no runner could be used/);
      expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(['ran anyway']);
    }, 120_000);
  });

  describe('when no runner can be deployed and fallback is turned off', () => {
    it('fails the job with the reason', async () => {
      tc.core.settings.update({ runner: { fallbackToDirect: false } });
      try {
        const event = await saveEvent(tc.core, blockedServer, { scriptType: 'bash', executionMode: 'auto', content: 'echo "must not run"\n' });
        const job = await runAndWait(tc.core, event.id);
        expect(job.status).toBe('FAILURE');
        expect(job.reason).toMatch(/no runner could be used on no-runner-possible: .*falling back to direct-ssh is turned off/);
        expect(await stdoutOf(tc.core, job.logId!)).toEqual([]);
      } finally {
        tc.core.settings.update({ runner: { fallbackToDirect: true } });
      }
    }, 120_000);
  });

  describe('when the event asks for runner-ssh and runner mode is turned off', () => {
    it('fails clearly instead of silently running direct-ssh', async () => {
      tc.core.settings.update({ flags: { ssh_runner_enabled: false } });
      try {
        const event = await saveEvent(tc.core, goodServer, { scriptType: 'bash', executionMode: 'runner-ssh', content: 'echo nope\n' });
        const job = await runAndWait(tc.core, event.id);
        expect(job.status).toBe('FAILURE');
        expect(job.reason).toMatch(/runner mode is turned off/);
      } finally {
        tc.core.settings.update({ flags: { ssh_runner_enabled: true } });
      }
    }, 60_000);
  });
});

describe('the runner socket guard', () => {
  describe('when tokens that are forged, expired or for another job are presented while a job streams', () => {
    it('refuses each with 401, refuses a malformed message, and the job still stores exactly its output', async () => {
      const N = 3000;
      const event = await saveEvent(tc.core, goodServer, {
        scriptType: 'bash',
        content: `for i in $(seq 1 ${N}); do echo "line $i"; if [ $((i % 300)) -eq 0 ]; then sleep 0.3; fi; done\n`,
      });
      const job = await start(tc.core, event.id);
      await waitFor('streaming', async () => (await tc.core.jobs.get(job.id)).status === 'RUNNING', 120_000);
      const auth = tc.core.listenerAuth;

      const forged = await new SignJWT({ jobId: job.id }).setProtectedHeader({ alg: 'HS256' }).setIssuer('cronium-desktop').setAudience('runner')
        .setSubject(job.id).setExpirationTime('5m').sign(new TextEncoder().encode('not-the-app-secret-at-all-0123456789'));
      expect(await tryConnect(job.id, forged)).toBe(401);

      const expired = await auth.mintToken({ aud: 'runner', sub: job.id, jobId: job.id, serverId: goodServer }, 1);
      await new Promise((r) => setTimeout(r, 2100));
      expect(await tryConnect(job.id, expired)).toBe(401);

      const other = await auth.mintToken({ aud: 'runner', sub: 'another-job', jobId: 'another-job', serverId: goodServer }, 60);
      expect(await tryConnect(job.id, other)).toBe(401);
      const automation = await auth.mintToken({ aud: 'automation', sub: job.id }, 60);
      expect(await tryConnect(job.id, automation)).toBe(401);

      // A valid token (as only the runner holds it) but a malformed message: refused with an error frame.
      const valid = await auth.mintToken({ aud: 'runner', sub: job.id, jobId: job.id, serverId: goodServer }, 60);
      const refusedBefore = tc.core.runnerStreams.refusedMessages;
      const reply = await new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${tc.core.listener.port}${runnerStreamPath(job.id)}`, { headers: { authorization: `Bearer ${valid}` } });
        ws.on('open', () => ws.send(JSON.stringify({ type: 'log', lines: [{ seq: -4, stream: 'stdout', ts: 'x', text: 'forged line' }] })));
        ws.on('message', (d) => {
          resolve(String(d));
          ws.close();
        });
        ws.on('error', reject);
      });
      expect(JSON.parse(reply)).toMatchObject({ type: 'error' });
      expect(tc.core.runnerStreams.refusedMessages).toBe(refusedBefore + 1);

      const done = await tc.core.jobs.waitForJob(job.id);
      expect(done.status).toBe('SUCCESS');
      expect(await stdoutOf(tc.core, done.logId!)).toEqual(Array.from({ length: N }, (_, i) => `line ${i + 1}`));
    }, 180_000);
  });
});
