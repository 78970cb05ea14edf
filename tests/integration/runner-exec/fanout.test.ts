// Issue 13 item 1: the first run of a new event on 40 servers at once in runner mode. Before the fix 1 job ended
// SUCCESS and 39 FAILURE (the payload upsert kept the first row's id, later jobs referenced an id that was never
// stored, and the foreign key failed when they were marked running). Forty network-namespace hosts, each with its own
// sshd and its own user (namespaces share home folders: one user per host keeps their ~/.cronium apart), runners
// deployed first; then five rounds, each a brand-new event run on all 40 at once: 40/40 SUCCESS, every log complete.
// Prints "[fanout] round N: 40/40 SUCCESS, logs complete 40/40 in X s".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost, destroyAll, type NetHost } from '../../harness/netns';
import type { SshdHandle, SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { EventInput } from '../../../src-shared/contract/events';
import { addServer, requireRunnerBuild, resetHome, stdoutOf } from './runner-exec-fixtures';

const HOSTS = 40;
const ROUNDS = 5;
const LINES = 200;
/** Harness users cronium-k61..k100: one per host, used by no other suite. */
const FIRST_USER = 61;
/** Namespace indices 101..140 (addresses 10.200.1.101..140), used by no other suite. */
const FIRST_INDEX = 101;

const hosts: NetHost[] = [];
const sshds: SshdHandle[] = [];
const users: SshdKeyUser[] = [];
const serverIds: string[] = [];
let tc: TestCore;

async function inBatches<T>(items: T[], size: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    await Promise.all(items.slice(start, start + size).map((item, k) => work(item, start + k)));
  }
}

beforeAll(async () => {
  requireRunnerBuild();
  const indices = Array.from({ length: HOSTS }, (_, i) => i);
  for (const i of indices) hosts.push(await createHost(`fan${i + 1}`, FIRST_INDEX + i));
  await inBatches(indices, 10, async (i) => {
    sshds[i] = await hosts[i]!.startSshd({ users: 1, firstUser: FIRST_USER + i });
    users[i] = sshds[i]!.extraUsers[0]!;
    resetHome(users[i]!);
  });
  tc = await createTestCore();
  await tc.core.start();
  tc.core.settings.update({ flags: { ssh_runner_enabled: true, ssh_runner_auto_deploy: true }, runner: { enabled: true, fallbackToDirect: false } });
  for (const i of indices) serverIds.push(await addServer(tc.core, sshds[i]!, users[i]!, `fan-${i + 1}`));
  // The runners first (deployments are the runner service's; this suite is about the jobs and their payload).
  await inBatches(serverIds, 8, async (id) => {
    await tc.core.execution.ensureRunner(id);
  });
}, 300_000);

afterAll(async () => {
  await tc?.cleanup();
  for (const user of users) if (user) resetHome(user);
  await destroyAll();
}, 120_000);

describe('fan-out of a new event in runner mode', () => {
  it(`runs the first run of a new event on ${HOSTS} servers at once, ${ROUNDS} times: every job SUCCESS with its complete log`, async () => {
    const expected = Array.from({ length: LINES }, (_, i) => `line ${i + 1}`);
    const summary: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const started = Date.now();
      const ev = await tc.core.events.save(EventInput.parse({
        name: `fan-out round ${round} ${Math.random().toString(36).slice(2, 7)}`, scriptType: 'bash', executionMode: 'runner-ssh',
        timeoutSeconds: 120, serverIds, content: `for i in $(seq 1 ${LINES}); do echo "line $i"; done\n`,
      }));
      const jobs = await tc.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' });
      expect(jobs).toHaveLength(HOSTS);
      const done = await Promise.all(jobs.map((j) => tc.core.jobs.waitForJob(j.id)));
      const succeeded = done.filter((j) => j.status === 'SUCCESS').length;
      let complete = 0;
      for (const job of done) if (job.logId && JSON.stringify(await stdoutOf(tc.core, job.logId)) === JSON.stringify(expected)) complete++;
      const payloadIds = new Set((await Promise.all(done.map((j) => tc.core.jobs.store.row(j.id)))).map((r) => r.payload_id));
      const line = `[fanout] round ${round}: ${succeeded}/${HOSTS} SUCCESS, logs complete ${complete}/${HOSTS}, payload rows referenced ${payloadIds.size}, in ${((Date.now() - started) / 1000).toFixed(1)} s`;
      console.log(line);
      summary.push(line);
      const failures = done.filter((j) => j.status !== 'SUCCESS').map((j) => `${j.serverName}: ${j.status} ${j.reason}`);
      expect(failures).toEqual([]);
      expect(complete).toBe(HOSTS);
      // Every job references the one payload row that exists for this event version.
      expect(payloadIds.size).toBe(1);
      expect(await tc.core.payloads.getById([...payloadIds][0]!)).not.toBeNull();
    }
    console.log(summary.join('\n'));
  }, 600_000);
});
