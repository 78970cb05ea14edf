// Surviving the link: the SSH connection of a running runner job is killed (its sshd session process, as a dropped
// network would), repeatedly; the job keeps running on the server, the log goes PARTIAL with a system line, the app
// re-attaches and the runner replays: the stored log ends EXACTLY the script's output, no line lost or repeated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import {
  FIRST_USER, USERS_NEEDED, addServer, countLossAndDuplicates, linesOf, requireRunnerBuild, resetHome, runAndWait, saveEvent, sshdSessionPids, start, waitFor,
} from './runner-exec-fixtures';

let sshd: SshdHandle;
let tc: TestCore;
let user: SshdKeyUser;
let serverId: string;
const statuses = new Map<string, string[]>();

beforeAll(async () => {
  requireRunnerBuild();
  sshd = await startSshd({ users: USERS_NEEDED });
  user = sshd.extraUsers[FIRST_USER];
  resetHome(user);
  tc = await createTestCore();
  await tc.core.start();
  tc.core.bus.subscribe((name, payload) => {
    if (name !== 'logs/changed') return;
    const log = (payload as { log: { id: string; status: string } }).log;
    const list = statuses.get(log.id) ?? [];
    if (list.at(-1) !== log.status) list.push(log.status);
    statuses.set(log.id, list);
  });
  serverId = await addServer(tc.core, sshd, user, 'runner-reattach');
  // Deploy and warm up once, so the trials below measure re-attaching only.
  const warm = await saveEvent(tc.core, serverId, { scriptType: 'bash', content: 'echo warm\n' });
  expect((await runAndWait(tc.core, warm.id)).status).toBe('SUCCESS');
}, 180_000);

afterAll(async () => {
  await tc?.cleanup();
  if (user) resetHome(user);
  await sshd?.stop();
});

const N = 20_000;
const expected = Array.from({ length: N }, (_, i) => `line ${i + 1}`);

describe('runner-ssh execution across lost connections', () => {
  describe('when the SSH connection is killed several times while the script prints 20,000 lines', () => {
    it('keeps the job running, shows PARTIAL, re-attaches, and stores exactly the script output', async () => {
      const event = await saveEvent(tc.core, serverId, {
        scriptType: 'bash',
        content: `for i in $(seq 1 ${N}); do echo "line $i"; if [ $((i % 500)) -eq 0 ]; then sleep 0.1; fi; done\n`,
      });
      const job = await start(tc.core, event.id);
      const trials = 3;
      for (let t = 0; t < trials; t++) {
        const logId = await waitFor('the log', async () => (await tc.core.jobs.get(job.id)).logId);
        // Let some lines arrive, then cut.
        const before = (await linesOf(tc.core, logId)).length;
        await waitFor('more lines', async () => (await linesOf(tc.core, logId)).length > before + 500, 60_000, 20);
        // The re-attach of the previous trial may still be replacing its SSH session: wait until one is there to kill.
        const pids = await waitFor('an sshd session of the job user', () => {
          const found = sshdSessionPids(user.username);
          return found.length > 0 ? found : undefined;
        }, 15_000, 50);
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // that session (a short exec) ended between ps and kill
          }
        }
        await waitFor('the log to go PARTIAL', () => statuses.get(logId)?.includes('PARTIAL'), 30_000, 20);
        await waitFor('streaming again', async () => (await tc.core.logs.store.get(logId)).status === 'STREAMING', 30_000, 20);
      }
      const done = await tc.core.jobs.waitForJob(job.id);
      expect(done.status).toBe('SUCCESS');
      const lines = await linesOf(tc.core, done.logId!);
      const stdout = lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
      const { lost, duplicates } = countLossAndDuplicates(stdout, expected);
      console.log(`[reattach] trials ${trials}, lines lost ${lost}, duplicates ${duplicates}`);
      expect(stdout).toEqual(expected);
      expect(lines.filter((l) => l.stream === 'system').some((l) => /^link lost at \d\d:\d\d:\d\d .*, reconnecting$/.test(l.text))).toBe(true);
      expect(statuses.get(done.logId!)).toEqual(expect.arrayContaining(['STREAMING', 'PARTIAL', 'SUCCESS']));
      const metrics = await tc.core.metrics.text();
      expect(metrics).toMatch(/partial_log_recovery_count [1-9]/);
    }, 180_000);
  });
});
