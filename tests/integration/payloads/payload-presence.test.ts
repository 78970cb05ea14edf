// The payload of a runner job is checked for in the job's start exec (PayloadService.presenceCheck), not over SFTP:
// a payload already on the server costs no SFTP session at all and is marked used; one that is missing or half
// uploaded (no signature) is uploaded, and the same start exec runs again. Once a server's home is known, that
// exec also makes the job's folder (the tunnel opens after it). Real sshd, harness user cronium-k171.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnection } from '../../../src-main/core/ssh/ssh-connection';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { addServer, requireRunnerBuild, resetHome, runAndWait, saveEvent, stdoutOf } from '../runner-exec/runner-exec-fixtures';

let sshd: SshdHandle;
let user: SshdKeyUser;
let tc: TestCore;
let serverId: string;

beforeAll(async () => {
  requireRunnerBuild();
  sshd = await startSshd({ users: 1, firstUser: 171 });
  user = sshd.extraUsers[0]!;
  resetHome(user);
  tc = await createTestCore();
  await tc.core.start();
  serverId = await addServer(tc.core, sshd, user, 'payload-presence');
}, 120_000);

afterAll(async () => {
  await tc?.cleanup();
  if (user) resetHome(user);
  await sshd?.stop();
});

/** SFTP calls (every SFTP call of the app goes through SshConnection.sftp) and exec commands while `work` runs. */
async function sshCallsDuring<T>(work: () => Promise<T>): Promise<{ result: T; sftp: number; execs: string[] }> {
  const proto = SshConnection.prototype as unknown as Record<'sftp' | 'exec', (...a: unknown[]) => Promise<unknown>>;
  const { sftp, exec } = proto;
  let sftpCalls = 0;
  const execs: string[] = [];
  proto.sftp = function (this: unknown, ...a: unknown[]) {
    sftpCalls++;
    return sftp.apply(this, a);
  };
  proto.exec = function (this: unknown, ...a: unknown[]) {
    execs.push(String(a[0]));
    return exec.apply(this, a);
  };
  try {
    return { result: await work(), sftp: sftpCalls, execs };
  } finally {
    Object.assign(proto, { sftp, exec });
  }
}

describe('the payload of a runner job', () => {
  describe('when it is already on the server', () => {
    it('is used without any SFTP call and marked used; when its signature or archive is missing it is uploaded again', async () => {
      const event = await saveEvent(tc.core, serverId, { scriptType: 'bash', content: 'echo "payload ok"\n' });
      const first = await runAndWait(tc.core, event.id);
      expect(first).toMatchObject({ status: 'SUCCESS' });
      const payload = (await tc.core.payloads.getPayload(event.id, event.version))!;
      const folder = path.join(user.home, '.cronium/payloads', payload.checksum);
      const uploads = tc.core.payloads.uploads.get(serverId) ?? 0;
      expect(uploads).toBe(1);
      fs.utimesSync(path.join(folder, 'last-used'), new Date(2001, 0, 1), new Date(2001, 0, 1));

      // Warm: no SFTP at all, nothing uploaded, the archive untouched, the last-used mark renewed (0600).
      const archiveBefore = fs.statSync(path.join(folder, 'payload.tar.gz'));
      const warm = await sshCallsDuring(() => runAndWait(tc.core, event.id));
      expect(warm.result).toMatchObject({ status: 'SUCCESS' });
      expect(await stdoutOf(tc.core, warm.result.logId!)).toEqual(['payload ok']);
      expect(warm.sftp).toBe(0);
      // The server's home is known from the first job: the start exec makes the job folder too (no exec before it).
      expect(warm.execs.filter((c) => c.includes('start.json'))).toHaveLength(1);
      expect(warm.execs.filter((c) => c.includes(`printf '%s' "$d"`))).toHaveLength(0);
      expect(tc.core.payloads.uploads.get(serverId)).toBe(uploads);
      expect(fs.statSync(path.join(folder, 'payload.tar.gz')).ino).toBe(archiveBefore.ino);
      const used = fs.statSync(path.join(folder, 'last-used'));
      expect(used.mtimeMs).toBeGreaterThan(Date.now() - 120_000);
      expect(used.mode & 0o777).toBe(0o600);

      // Half uploaded (no signature): placed again, then the job runs.
      fs.rmSync(path.join(folder, 'payload.sig'));
      const resigned = await runAndWait(tc.core, event.id);
      expect(resigned).toMatchObject({ status: 'SUCCESS' });
      expect(await stdoutOf(tc.core, resigned.logId!)).toEqual(['payload ok']);
      expect(tc.core.payloads.uploads.get(serverId)).toBe(uploads + 1);
      expect(fs.existsSync(path.join(folder, 'payload.sig'))).toBe(true);

      // Gone entirely (a server-side cleanup): uploaded again.
      fs.rmSync(folder, { recursive: true });
      const again = await runAndWait(tc.core, event.id);
      expect(again).toMatchObject({ status: 'SUCCESS' });
      expect(await stdoutOf(tc.core, again.logId!)).toEqual(['payload ok']);
      expect(tc.core.payloads.uploads.get(serverId)).toBe(uploads + 2);
      expect(fs.readFileSync(path.join(folder, 'payload.tar.gz')).equals(fs.readFileSync(payload.path))).toBe(true);
    }, 180_000);
  });
});
