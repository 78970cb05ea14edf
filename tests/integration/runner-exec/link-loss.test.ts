// Link loss shown fast, on the log and on the job: a server in its own network namespace, its link silently
// black-holed (bridge port disabled) and, separately, cut (veth down) for 8 s while a runner job streams. The log must
// turn PARTIAL and the job must carry its link-lost state while the cut lasts (the time it took is printed), both clear
// once the runner is re-attached, and the job ends SUCCESS with exactly the script's output: no line lost or doubled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost, type NetHost } from '../../harness/netns';
import type { SshdHandle, SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { describeJobLink, type JobView } from '../../../src-shared/contract/jobs';
import { addServer, linesOf, requireRunnerBuild, resetHome, runAndWait, saveEvent, start, waitFor } from './runner-exec-fixtures';

/** The cut: shorter than every old timeout (6 s heartbeat + 1.5 s grace; 10 s SSH liveness). */
const CUT_MS = 8_000;
const N = 16_000;
const expected = Array.from({ length: N }, (_, i) => `line ${i + 1}`);

let host: NetHost;
let sshd: SshdHandle;
let user: SshdKeyUser;
let tc: TestCore;
let serverId: string;
/** Per log: status changes with the time they were announced. Per job: link states with their times. */
const logStatuses = new Map<string, Array<{ status: string; at: number }>>();
const jobLinks = new Map<string, Array<{ link: JobView['link']; at: number }>>();

beforeAll(async () => {
  requireRunnerBuild();
  host = await createHost('rlinkloss', 233);
  // Harness user cronium-k103: this suite's alone.
  sshd = await host.startSshd({ users: 1, firstUser: 103 });
  user = sshd.extraUsers[0]!;
  resetHome(user);
  tc = await createTestCore();
  await tc.core.start();
  serverId = await addServer(tc.core, sshd, user, 'runner-linkloss');
  tc.core.bus.subscribe((name, payload) => {
    if (name === 'logs/changed') {
      const log = (payload as { log: { id: string; status: string } }).log;
      const list = logStatuses.get(log.id) ?? [];
      if (list.at(-1)?.status !== log.status) list.push({ status: log.status, at: Date.now() });
      logStatuses.set(log.id, list);
    }
    if (name === 'jobs/changed') {
      const job = (payload as { job: JobView }).job;
      const list = jobLinks.get(job.id) ?? [];
      list.push({ link: job.link ?? null, at: Date.now() });
      jobLinks.set(job.id, list);
    }
  });
  const warm = await saveEvent(tc.core, serverId, { scriptType: 'bash', content: 'echo warm\n' });
  expect((await runAndWait(tc.core, warm.id)).status).toBe('SUCCESS');
}, 180_000);

afterAll(async () => {
  await tc?.cleanup();
  if (user) resetHome(user);
  await host?.destroy();
});

async function trial(kind: 'blackhole' | 'link-down') {
  // About 16 s of output: the cut falls in the middle, the script goes on printing through it.
  const event = await saveEvent(tc.core, serverId, {
    scriptType: 'bash',
    content: `for i in $(seq 1 ${N}); do echo "line $i"; if [ $((i % 500)) -eq 0 ]; then sleep 0.5; fi; done\n`,
  });
  const job = await start(tc.core, event.id);
  const logId = await waitFor('the log', async () => (await tc.core.jobs.get(job.id)).logId);
  await waitFor('the first lines', async () => (await linesOf(tc.core, logId)).length > 1000, 60_000, 20);

  const cutAt = Date.now();
  if (kind === 'blackhole') await host.blackhole();
  else await host.cutLink();
  let partialMs: number | null = null;
  let linkMs: number | null = null;
  let shownOnJob = '';
  try {
    // Both must show while the cut lasts.
    await waitFor('the log to go PARTIAL and the job to show the lost link', async () => {
      const partial = logStatuses.get(logId)?.find((s) => s.status === 'PARTIAL' && s.at >= cutAt);
      const view = await tc.core.jobs.get(job.id);
      if (partial && partialMs === null) partialMs = partial.at - cutAt;
      if (view.link && linkMs === null) {
        linkMs = Date.now() - cutAt;
        shownOnJob = describeJobLink(view.link);
      }
      return partialMs !== null && linkMs !== null;
    }, CUT_MS - 500, 25);
    expect((await tc.core.jobs.get(job.id)).status).toBe('RUNNING');
    await new Promise((r) => setTimeout(r, Math.max(0, cutAt + CUT_MS - Date.now())));
  } finally {
    if (kind === 'blackhole') await host.unblackhole();
    else await host.restoreLink();
  }

  const done = await tc.core.jobs.waitForJob(job.id);
  expect(done.status, done.reason ?? '').toBe('SUCCESS');
  expect(done.link ?? null).toBeNull();
  const statuses = (logStatuses.get(logId) ?? []).map((s) => s.status);
  expect(statuses.filter((s) => s !== 'PENDING')).toEqual(['STREAMING', 'PARTIAL', 'STREAMING', 'SUCCESS']);
  const lines = await linesOf(tc.core, logId);
  expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(expected);
  const system = lines.filter((l) => l.stream === 'system').map((l) => l.text).join('\n');
  expect(system).toMatch(/link lost at \d\d:\d\d:\d\d/);
  expect(system).toMatch(/link back at \d\d:\d\d:\d\d after/);
  // The job's link state went from lost to cleared.
  const links = (jobLinks.get(job.id) ?? []).map((l) => (l.link ? 'lost' : 'ok'));
  expect(links).toContain('lost');
  expect(links.at(-1)).toBe('ok');
  expect(shownOnJob).toMatch(/^link lost at \d\d:\d\d:\d\d, reconnecting/);
  console.log(`[link-loss] ${kind} ${CUT_MS / 1000} s: PARTIAL after ${partialMs} ms, job link state after ${linkMs} ms ("${shownOnJob}"), ${N} lines, none lost or doubled`);
}

describe('link loss shown within the cut', () => {
  it('a silent packet drop (bridge port black hole) of 8 s', async () => {
    await trial('blackhole');
  }, 180_000);

  it('a link cut (veth down) of 8 s', async () => {
    await trial('link-down');
  }, 180_000);
});
