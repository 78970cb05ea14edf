// Issue 11 item 7: the ssh_runner_streaming_logs flag. On (the default): a runner job's lines are stored while the
// script runs. Off: nothing of the script's output is stored while it runs; the log is collected from the runner when
// the script ends, complete and in order. The script pauses half-way on a gate file the test opens, so "while it runs"
// is a state, not a guess about timing. Real loopback sshd, built runner, real core.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { EventInput } from '../../../src-shared/contract/events';
import { addServer, requireRunnerBuild, resetHome, stdoutOf, waitFor } from './runner-exec-fixtures';

let sshd: SshdHandle;
let user: SshdKeyUser;
let tc: TestCore;
let serverId: string;
let gates: string;
const N = 2000;
const expected = Array.from({ length: N }, (_, i) => `line ${i + 1}`);

beforeAll(async () => {
  requireRunnerBuild();
  sshd = await startSshd({ users: 1, firstUser: 102 });
  user = sshd.extraUsers[0]!;
  resetHome(user);
  gates = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-gates-'));
  fs.chmodSync(gates, 0o777);
  tc = await createTestCore();
  await tc.core.start();
  tc.core.settings.update({ flags: { ssh_runner_enabled: true, ssh_runner_auto_deploy: true }, runner: { enabled: true } });
  serverId = await addServer(tc.core, sshd, user, 'streaming-flag');
  await tc.core.execution.ensureRunner(serverId);
}, 120_000);

afterAll(async () => {
  await tc?.cleanup();
  if (user) resetHome(user);
  await sshd?.stop();
  if (gates) fs.rmSync(gates, { recursive: true, force: true });
});

/** Prints the first half, says it reached the gate, waits for the test to open it, prints the rest. */
async function gatedRun(name: string) {
  const reached = path.join(gates, `${name}.reached`);
  const open = path.join(gates, `${name}.open`);
  const ev = await tc.core.events.save(EventInput.parse({
    name: `streaming ${name}`, scriptType: 'bash', executionMode: 'runner-ssh', timeoutSeconds: 120, serverIds: [serverId],
    content: `for i in $(seq 1 ${N / 2}); do echo "line $i"; done; touch ${reached}; for t in $(seq 1 600); do [ -e ${open} ] && break; sleep 0.1; done; for i in $(seq ${N / 2 + 1} ${N}); do echo "line $i"; done\n`,
  }));
  const [job] = await tc.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' });
  const logId = await waitFor('the log', async () => (await tc.core.jobs.get(job!.id)).logId);
  return { jobId: job!.id, logId, reached, open: () => fs.writeFileSync(open, '') };
}

describe('the ssh_runner_streaming_logs flag', () => {
  it('on: lines are stored while the script runs, and the log ends complete', async () => {
    tc.core.settings.update({ flags: { ssh_runner_streaming_logs: true } });
    const run = await gatedRun('on');
    await waitFor('the first half stored while the script waits at the gate', async () => (await stdoutOf(tc.core, run.logId)).length === N / 2, 60_000, 50);
    expect((await tc.core.jobs.get(run.jobId)).status).toBe('RUNNING');
    run.open();
    const done = await tc.core.jobs.waitForJob(run.jobId);
    expect(done.status).toBe('SUCCESS');
    expect(await stdoutOf(tc.core, run.logId)).toEqual(expected);
  }, 120_000);

  it('off: nothing is stored while the script runs; the whole log is collected when it ends', async () => {
    tc.core.settings.update({ flags: { ssh_runner_streaming_logs: false } });
    try {
      const run = await gatedRun('off');
      await waitFor('the script to reach the gate', () => fs.existsSync(run.reached), 60_000, 50);
      // The runner has sent the first half by now (it streams as always); the app stores none of it while running.
      await waitFor('the job to be running', async () => (await tc.core.jobs.get(run.jobId)).status === 'RUNNING', 30_000, 50);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await stdoutOf(tc.core, run.logId)).toEqual([]);
      run.open();
      const done = await tc.core.jobs.waitForJob(run.jobId);
      expect(done.status).toBe('SUCCESS');
      expect(await stdoutOf(tc.core, run.logId)).toEqual(expected);
      expect((await tc.core.logs.store.get(run.logId)).status).toBe('SUCCESS');
    } finally {
      tc.core.settings.update({ flags: { ssh_runner_streaming_logs: true } });
    }
  }, 120_000);
});
