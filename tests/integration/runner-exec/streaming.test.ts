// Runner execution end to end against a real OpenSSH sshd: the runner is deployed, the payload uploaded (once), the
// runner started detached, its lines streamed live through the reverse tunnel into the log, in order, exactly once.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshdKeyUser } from '../../harness/sshd';
import type { TestCore } from '../../harness/test-core';
import { FIRST_USER, linesOf, runAndWait, saveEvent, start, startRunnerSuite, stdoutOf, waitFor, type RunnerSuite } from './runner-exec-fixtures';

let suite: RunnerSuite;
let tc: TestCore;
let user: SshdKeyUser;
let serverId: string;

beforeAll(async () => {
  suite = await startRunnerSuite({ userIndex: FIRST_USER - 1, serverName: 'runner-stream' });
  ({ tc, user, serverId } = suite);
}, 120_000);

afterAll(async () => {
  await suite?.stop();
});

describe('runner-ssh execution', () => {
  describe('when the user runs an event in runner mode', () => {
    it('deploys the runner, streams the lines live and in order, and ends with the exit code', async () => {
      const event = await saveEvent(tc.core, serverId, {
        scriptType: 'bash',
        content: 'for i in $(seq 1 20); do echo "line $i"; sleep 0.05; done\necho "to stderr" >&2\nexit 3\n',
      });
      const job = await start(tc.core, event.id);
      // Live: lines are stored while the job still runs on the server.
      const seenWhileRunning = await waitFor('the first lines while the job runs', async () => {
        const j = await tc.core.jobs.get(job.id);
        if (!j.logId) return null;
        const lines = await linesOf(tc.core, j.logId);
        return lines.length >= 3 && j.status === 'RUNNING' ? lines.length : null;
      }, 60_000, 20);
      expect(seenWhileRunning).toBeGreaterThanOrEqual(3);
      const live = await tc.core.logs.store.get((await tc.core.jobs.get(job.id)).logId!);
      expect(live.status).toBe('STREAMING');

      const done = await tc.core.jobs.waitForJob(job.id);
      expect(done).toMatchObject({ status: 'FAILURE', exitCode: 3, executionMode: 'runner-ssh', requestedMode: 'runner-ssh' });
      const lines = await linesOf(tc.core, done.logId!);
      expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i + 1}`));
      expect(lines.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual(['to stderr']);
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
      const log = await tc.core.logs.store.get(done.logId!);
      expect(log).toMatchObject({ status: 'FAILURE', exitCode: 3, runnerVersion: '1.0.0' });
      expect(log.streamStartedAt).not.toBeNull();
      expect(log.runnerMetadata).toMatchObject({ os: 'linux', lastRunnerSeq: 21 });
      // The runner cleaned up after the app acknowledged everything: no spool left, the state says delivered.
      const jobDir = path.join(user.home, '.cronium/jobs', job.id);
      await waitFor('the runner to finish', () => JSON.parse(fs.readFileSync(path.join(jobDir, 'state.json'), 'utf8')).delivered === true, 10_000);
      expect(fs.readdirSync(path.join(jobDir, 'spool'))).toEqual([]);
      expect(fs.existsSync(path.join(jobDir, 'start.json'))).toBe(false);
      const metrics = await tc.core.metrics.text();
      expect(metrics).toMatch(/streaming_log_latency_count [1-9]/);
      expect(metrics).toMatch(/ssh_runner_execution_duration_count [1-9]/);
      expect(metrics).toMatch(/runner_payload_generation_duration_count [1-9]/);
    }, 120_000);
  });

  describe('when the script prints a secret environment value', () => {
    it('leaves no trace of the value in the job folder on the server, and the log shows it masked', async () => {
      const secret = `pw-${Math.random().toString(36).slice(2)}-Ωz`;
      const event = await saveEvent(tc.core, serverId, {
        scriptType: 'bash',
        secrets: [{ name: 'API_TOKEN', value: secret }],
        // Printed whole, inside a longer line, and on stderr; then the job waits so its spool is still there.
        content: 'echo "$API_TOKEN"\necho "token=${API_TOKEN}!"\necho "err $API_TOKEN" >&2\necho printed\nsleep 2\n',
      });
      const job = await start(tc.core, event.id);
      const jobDir = path.join(user.home, '.cronium/jobs', job.id);
      // While the job runs its lines are in the spool: read every file of the job folder then, and after the end.
      await waitFor('the lines in the spool', async () => {
        const j = await tc.core.jobs.get(job.id);
        return j.logId && (await linesOf(tc.core, j.logId)).some((l) => l.text === 'printed') && j.status === 'RUNNING';
      }, 60_000, 20);
      const grep = () => spawnSync('grep', ['-r', '-F', '-l', '-a', secret, jobDir], { encoding: 'utf8' });
      const during = grep();
      expect(during.status, `files holding the secret: ${during.stdout}`).toBe(1);
      expect(fs.readdirSync(path.join(jobDir, 'spool')).length).toBeGreaterThan(0);
      const done = await tc.core.jobs.waitForJob(job.id);
      expect(done.status).toBe('SUCCESS');
      expect(grep().status).toBe(1);
      const texts = (await linesOf(tc.core, done.logId!)).map((l) => l.text);
      expect(texts).toEqual(expect.arrayContaining(['••••••', 'token=••••••!', 'err ••••••']));
      expect(texts.join('\n')).not.toContain(secret);
    }, 120_000);
  });

  describe('when a runner job stays silent longer than LOG_STREAM_TIMEOUT', () => {
    it('reports it with a system line and a notice, and does not stop the job', async () => {
      tc.core.settings.update({ streaming: { timeoutSeconds: 5 } });
      const notices: string[] = [];
      const off = tc.core.bus.subscribe((name, payload) => {
        if (name === 'system/notice') notices.push((payload as { message: string }).message);
      });
      try {
        const event = await saveEvent(tc.core, serverId, { scriptType: 'bash', content: 'echo before\nsleep 8\necho after\n' });
        const job = await runAndWait(tc.core, event.id);
        expect(job.status).toBe('SUCCESS');
        const lines = await linesOf(tc.core, job.logId!);
        expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(['before', 'after']);
        expect(lines.find((l) => l.stream === 'system')?.text).toMatch(/^no output from the runner for 5 s \(LOG_STREAM_TIMEOUT\); the job is not stopped/);
        expect(notices.some((m) => m.includes(event.name) && m.includes('LOG_STREAM_TIMEOUT'))).toBe(true);
      } finally {
        off();
        tc.core.settings.update({ streaming: { timeoutSeconds: 300 } });
      }
    }, 60_000);
  });

  describe('when the user runs the same event version again', () => {
    it('reuses the payload: registered once, uploaded once, the archive on the server untouched', async () => {
      const event = await saveEvent(tc.core, serverId, { scriptType: 'python', content: 'print("hello from python")\n' });
      const first = await runAndWait(tc.core, event.id);
      expect(first.status).toBe('SUCCESS');
      const payload = await tc.core.payloads.getPayload(event.id, event.version);
      expect(payload).not.toBeNull();
      const archive = path.join(user.home, '.cronium/payloads', payload!.checksum, 'payload.tar.gz');
      const before = fs.statSync(archive);
      const uploads = tc.core.payloads.uploads.get(serverId) ?? 0;
      const second = await runAndWait(tc.core, event.id);
      expect(second.status).toBe('SUCCESS');
      expect(await stdoutOf(tc.core, second.logId!)).toEqual(['hello from python']);
      expect(tc.core.payloads.uploads.get(serverId)).toBe(uploads);
      const after = fs.statSync(archive);
      expect(after.ino).toBe(before.ino);
      expect(after.mtimeMs).toBe(before.mtimeMs);
      const rows = await tc.core.db.kysely.selectFrom('execution_payloads').selectAll().where('event_id', '=', event.id).execute();
      expect(rows).toHaveLength(1);
      const jobs = await tc.core.db.kysely.selectFrom('jobs').select(['payload_id', 'runner_id']).where('event_id', '=', event.id).execute();
      expect(new Set(jobs.map((j) => j.payload_id))).toEqual(new Set([rows[0].id]));
      expect(jobs.every((j) => j.runner_id !== null)).toBe(true);
    }, 120_000);
  });
});
