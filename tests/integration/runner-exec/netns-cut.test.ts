// Fault injection with real network namespaces: a server in its own namespace, its link cut (veth down) or silently
// black-holed (bridge port disabled) for longer than the liveness timeouts, then restored, ten times. Each time the job
// keeps running (or finishes) on the server, the log shows PARTIAL, and after re-attaching the stored log is exactly
// the script's output. Prints "trials N, lines lost 0, duplicates 0".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetHost } from '../../harness/netns';
import type { TestCore } from '../../harness/test-core';
import {
  FIRST_USER, countLossAndDuplicates, linesOf, recordLogStatuses, runAndWait, saveEvent, start, startRunnerSuite, waitFor, type RunnerSuite,
} from './runner-exec-fixtures';

let suite: RunnerSuite;
let host: NetHost;
let tc: TestCore;
let serverId: string;
let statuses: Map<string, string[]>;
/** Longer than the pool's liveness timeout (10 s) and the runner socket's dead-after (6 s). */
const CUT_MS = 11_000;
const N = 30_000;
const expected = Array.from({ length: N }, (_, i) => `line ${i + 1}`);

beforeAll(async () => {
  suite = await startRunnerSuite({ userIndex: FIRST_USER + 1, serverName: 'runner-netns', netns: { name: 'rexec', index: 231 } });
  ({ tc, serverId } = suite);
  host = suite.host!;
  statuses = recordLogStatuses(tc.core);
  const warm = await saveEvent(tc.core, serverId, { scriptType: 'bash', content: 'echo warm\n' });
  expect((await runAndWait(tc.core, warm.id)).status).toBe('SUCCESS');
}, 180_000);

afterAll(async () => {
  await suite?.stop();
});

async function trial(kind: 'link-down' | 'blackhole'): Promise<{ lost: number; duplicates: number }> {
  const event = await saveEvent(tc.core, serverId, {
    scriptType: 'bash',
    content: `for i in $(seq 1 ${N}); do echo "line $i"; if [ $((i % 1000)) -eq 0 ]; then sleep 0.2; fi; done\n`,
  });
  const job = await start(tc.core, event.id);
  const logId = await waitFor('the log', async () => (await tc.core.jobs.get(job.id)).logId);
  await waitFor('the first lines', async () => (await linesOf(tc.core, logId)).length > 1000, 60_000, 20);
  if (kind === 'link-down') await host.cutLink();
  else await host.blackhole();
  try {
    await waitFor('the log to go PARTIAL', () => statuses.get(logId)?.includes('PARTIAL'), CUT_MS, 50).catch(() => undefined);
    await new Promise((r) => setTimeout(r, Math.max(0, CUT_MS)));
    expect((await tc.core.jobs.get(job.id)).status).toBe('RUNNING');
  } finally {
    if (kind === 'link-down') await host.restoreLink();
    else await host.unblackhole();
  }
  const done = await tc.core.jobs.waitForJob(job.id);
  expect(done.status).toBe('SUCCESS');
  expect(statuses.get(logId)).toEqual(expect.arrayContaining(['STREAMING', 'PARTIAL', 'SUCCESS']));
  const stdout = (await linesOf(tc.core, logId)).filter((l) => l.stream === 'stdout').map((l) => l.text);
  const result = countLossAndDuplicates(stdout, expected);
  expect(stdout).toEqual(expected);
  return result;
}

describe('runner-ssh execution across network faults', () => {
  describe('when the link is cut or black-holed for longer than the liveness timeout, ten times', () => {
    it('re-attaches after every restore and stores exactly the script output each time', async () => {
      let lost = 0;
      let duplicates = 0;
      const kinds: Array<'link-down' | 'blackhole'> = ['link-down', 'blackhole', 'link-down', 'blackhole', 'link-down', 'blackhole', 'link-down', 'blackhole', 'link-down', 'blackhole'];
      for (const kind of kinds) {
        const started = Date.now();
        const r = await trial(kind);
        lost += r.lost;
        duplicates += r.duplicates;
        console.log(`[netns-cut] ${kind}: recovered and complete in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
      console.log(`[netns-cut] trials ${kinds.length}, lines lost ${lost}, duplicates ${duplicates}`);
      expect(lost).toBe(0);
      expect(duplicates).toBe(0);
    }, 600_000);
  });
});
