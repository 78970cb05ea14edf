// Quitting the app in the middle of a workflow (issue 13 item 3), against a real OpenSSH server and the real runner:
// core.stop() (what serve mode's stop and Electron's quit call) detaches the workflow and its runner step; a new core
// on the same data folder resumes the run, the middle step's remote script having run on undisturbed (its own output,
// a line every 200 ms and a final "done", arrives complete and in order). A direct-ssh step cannot survive the quit:
// it ends INTERRUPTED, the run too, and the user resumes the run from that step.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { KeytarSecretStore } from '../../../src-main/core/secrets/keytar-secret-store';
import { WorkflowInput, type WorkflowRunView } from '../../../src-shared/contract/workflows';
import type { ExecutionMode } from '../../../src-shared/contract/settings';
import { addServer, requireRunnerBuild, resetHome, saveEvent, stdoutOf, waitFor } from '../runner-exec/runner-exec-fixtures';

let sshd: SshdHandle;
let user: SshdKeyUser;
let dataDir: string;
let serverId: string;
const open = new Set<TestCore>();

const TICKS = 25;
/** What the middle step prints when nothing interrupted it: a line every 200 ms, then "done". */
const MIDDLE_OUTPUT = [...Array.from({ length: TICKS }, (_, i) => `tick ${i + 1}`), 'done'];

async function core(): Promise<TestCore> {
  const tc = await createTestCore({ dataDir, secrets: new KeytarSecretStore() });
  open.add(tc);
  return tc;
}

async function quit(tc: TestCore): Promise<void> {
  open.delete(tc);
  await tc.cleanup(); // core.stop(); the data folder stays
}

beforeAll(async () => {
  requireRunnerBuild();
  sshd = await startSshd({ users: 1, firstUser: 110 });
  user = sshd.extraUsers[0]!;
  resetHome(user);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-quit-wf-'));
  const tc = await core();
  serverId = await addServer(tc.core, sshd, user, 'quit-mid-workflow');
  await quit(tc);
}, 120_000);

afterAll(async () => {
  for (const tc of open) await tc.cleanup().catch(() => undefined);
  if (user) {
    // Runners outlive the app by design; end the ones this suite deployed (found by their folder), by pid.
    let listing = '';
    try {
      listing = execFileSync('ps', ['-u', user.username, '-o', 'pid=,args='], { encoding: 'utf8' });
    } catch {
      listing = '';
    }
    for (const line of listing.split('\n').filter((l) => l.includes(`${user.home}/.cronium/runners/`))) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGTERM');
    resetHome(user);
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  await sshd?.stop();
}, 60_000);

/** Saves a 3-step chain first -> middle -> last, the middle step in `middleMode`; returns the workflow id. */
async function threeSteps(tc: TestCore, middleMode: ExecutionMode): Promise<string> {
  const first = await saveEvent(tc.core, serverId, { name: `first ${middleMode}`, scriptType: 'bash', content: 'echo first' });
  const middle = await saveEvent(tc.core, serverId, {
    name: `middle ${middleMode}`, scriptType: 'bash', content: `for i in $(seq 1 ${TICKS}); do echo "tick $i"; sleep 0.2; done; echo done`,
  });
  const last = await saveEvent(tc.core, serverId, { name: `last ${middleMode}`, scriptType: 'bash', content: 'echo last' });
  const wf = await tc.core.workflows.save(WorkflowInput.parse({
    name: `quit mid workflow (${middleMode})`,
    nodes: [
      { id: `a-${middleMode}`, eventId: first.id, serverId, executionMode: 'runner-ssh', label: 'first' },
      { id: `b-${middleMode}`, eventId: middle.id, serverId, executionMode: middleMode, label: 'middle' },
      { id: `c-${middleMode}`, eventId: last.id, serverId, executionMode: 'runner-ssh', label: 'last' },
    ],
    edges: [
      { id: `ab-${middleMode}`, source: `a-${middleMode}`, target: `b-${middleMode}`, kind: 'ON_SUCCESS' },
      { id: `bc-${middleMode}`, source: `b-${middleMode}`, target: `c-${middleMode}`, kind: 'ON_SUCCESS' },
    ],
  }));
  return wf.id;
}

const stepOf = (run: WorkflowRunView, nodeId: string) => run.steps.find((s) => s.nodeId === nodeId)!;

/** Starts the workflow and resolves once the middle step's script has printed a few ticks (it is mid-way). */
async function startAndReachMiddle(tc: TestCore, workflowId: string, middle: string): Promise<{ runId: string; middleJobId: string }> {
  const run = await tc.core.workflows.startRun(workflowId, { trigger: 'manual' });
  const step = await waitFor('the middle step to print its third tick', async () => {
    const s = stepOf(await tc.core.workflows.runDetail(run.id), middle);
    if (s.status !== 'RUNNING' || !s.logId || !s.jobId) return null;
    return (await stdoutOf(tc.core, s.logId)).includes('tick 3') ? s : null;
  }, 120_000, 100);
  return { runId: run.id, middleJobId: step.jobId! };
}

describe('quitting the app in the middle of a workflow', () => {
  it('detaches a runner step; the next start resumes the run, which ends SUCCESS with the step never interrupted', async () => {
    const a = await core();
    await a.core.start();
    const wf = await threeSteps(a, 'runner-ssh');
    const { runId, middleJobId } = await startAndReachMiddle(a, wf, 'b-runner-ssh');
    await quit(a);

    const b = await core();
    await b.core.start();
    const run = await b.core.workflows.waitForRun(runId);
    expect(run.status).toBe('SUCCESS');
    expect(Object.fromEntries(run.steps.map((s) => [s.nodeId, s.status]))).toEqual({ 'a-runner-ssh': 'SUCCESS', 'b-runner-ssh': 'SUCCESS', 'c-runner-ssh': 'SUCCESS' });
    const middle = stepOf(run, 'b-runner-ssh');
    expect(middle.jobId).toBe(middleJobId); // the same job, re-attached, not started again
    const job = await b.core.jobs.get(middleJobId);
    expect(job).toMatchObject({ status: 'SUCCESS', executionMode: 'runner-ssh', attempt: 1 });
    // The script's own output proves it ran on without a break: every tick once, in order, then "done".
    expect(await stdoutOf(b.core, middle.logId!)).toEqual(MIDDLE_OUTPUT);
    expect(await stdoutOf(b.core, stepOf(run, 'c-runner-ssh').logId!)).toEqual(['last']);
    await quit(b);
  }, 300_000);

  it('ends a direct-ssh step INTERRUPTED (not FAILURE) with its reason, and resuming from it finishes the workflow', async () => {
    const a = await core();
    await a.core.start();
    const wf = await threeSteps(a, 'direct-ssh');
    const { runId, middleJobId } = await startAndReachMiddle(a, wf, 'b-direct-ssh');
    await quit(a);

    const b = await core();
    await b.core.start();
    const run = await b.core.workflows.waitForRun(runId);
    expect(run.status).toBe('INTERRUPTED');
    expect(stepOf(run, 'a-direct-ssh').status).toBe('SUCCESS');
    expect(stepOf(run, 'b-direct-ssh')).toMatchObject({ status: 'INTERRUPTED', jobId: middleJobId });
    expect(stepOf(run, 'b-direct-ssh').reason).toMatch(/Cronium stopped while this step ran.*direct-ssh/);
    expect(stepOf(run, 'c-direct-ssh').status).toBe('SKIPPED');

    const resumed = await b.core.workflows.waitForRun((await b.core.workflows.resumeRun(runId, 'b-direct-ssh')).id);
    expect(resumed.status).toBe('SUCCESS');
    expect(stepOf(resumed, 'a-direct-ssh').jobId).toBe(stepOf(run, 'a-direct-ssh').jobId); // reused, not run again
    expect(stepOf(resumed, 'b-direct-ssh').jobId).not.toBe(middleJobId);
    expect(await stdoutOf(b.core, stepOf(resumed, 'b-direct-ssh').logId!)).toEqual(MIDDLE_OUTPUT);
    expect(stepOf(resumed, 'c-direct-ssh').status).toBe('SUCCESS');
    await quit(b);
  }, 300_000);
});
