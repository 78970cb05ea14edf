// Issue 11 item 1: one home for "run this event on this server". A manual run, a scheduled run and a workflow step all
// go through core/execution's ModePolicy: each job has exactly one decision recorded by the policy (with its trigger),
// and the app's `event` helper (core/execution JobHelpers, used by the runner session and the listener routes) answers
// the mode the policy recorded for the job.
// Real parts: a loopback OpenSSH sshd, the built runner, a real core; the runner is deployed on demand by the policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import type { DecisionRecord } from '../../../src-main/core/execution/mode-policy';
import { EventInput } from '../../../src-shared/contract/events';
import { WorkflowInput } from '../../../src-shared/contract/workflows';
import { addServer, requireRunnerBuild, resetHome, stdoutOf, waitFor } from './runner-exec-fixtures';

let sshd: SshdHandle;
let user: SshdKeyUser;
let tc: TestCore;
let serverId: string;
const decisions: DecisionRecord[] = [];

beforeAll(async () => {
  requireRunnerBuild();
  sshd = await startSshd({ users: 1, firstUser: 101 });
  user = sshd.extraUsers[0]!;
  resetHome(user);
  tc = await createTestCore();
  await tc.core.start();
  tc.core.execution.policy.onDecision((d) => decisions.push(d));
  serverId = await addServer(tc.core, sshd, user, 'single-path');
}, 120_000);

afterAll(async () => {
  await tc?.cleanup();
  if (user) resetHome(user);
  await sshd?.stop();
});

const decisionsOf = (jobId: string) => decisions.filter((d) => d.jobId === jobId);

describe('the execution home (core/execution)', () => {
  it('decides the mode of manual, scheduled and workflow jobs and answers the event helper, all through the one ModePolicy', async () => {
    // auto with the runner on: the policy makes the runner ready and the script asks `event` how it runs.
    const ev = await tc.core.events.save(EventInput.parse({
      name: 'single path', scriptType: 'bash', executionMode: 'auto', timeoutSeconds: 120, serverIds: [serverId],
      content: 'cronium_event\n',
    }));

    const [manual] = await tc.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' });
    const manualDone = await tc.core.jobs.waitForJob(manual!.id);
    expect(manualDone.status).toBe('SUCCESS');

    // A schedule fires through the scheduler wiring (every second), then is switched off again.
    await tc.core.events.save(EventInput.parse({
      id: ev.id, name: 'single path', scriptType: 'bash', executionMode: 'auto', timeoutSeconds: 120, serverIds: [serverId],
      content: 'cronium_event\n', schedule: { kind: 'interval', everySeconds: 1 },
    }));
    const scheduled = await waitFor('a scheduled job', async () => (await tc.core.jobs.list({ eventId: ev.id })).find((j) => j.trigger === 'schedule'), 30_000, 100);
    await tc.core.events.save(EventInput.parse({
      id: ev.id, name: 'single path', scriptType: 'bash', executionMode: 'auto', timeoutSeconds: 120, serverIds: [serverId],
      content: 'cronium_event\n', schedule: null,
    }));
    const scheduledDone = await tc.core.jobs.waitForJob(scheduled.id);
    expect(scheduledDone.status).toBe('SUCCESS');

    const wf = await tc.core.workflows.save(WorkflowInput.parse({ name: 'single path wf', nodes: [{ id: 'only', eventId: ev.id, serverId }], edges: [] }));
    const run = await tc.core.workflows.waitForRun((await tc.core.workflows.startRun(wf.id, { trigger: 'manual' })).id);
    expect(run.status).toBe('SUCCESS');
    const stepJobId = run.steps[0]!.jobId!;

    for (const [jobId, trigger] of [[manual!.id, 'manual'], [scheduled.id, 'schedule'], [stepJobId, 'workflow']] as const) {
      const mine = decisionsOf(jobId);
      expect(mine, `decisions of the ${trigger} job`).toEqual([
        { jobId, trigger, requestedMode: 'auto', mode: 'runner-ssh', fallbackReason: null, error: null, stage: 'start' },
      ]);
      const job = await tc.core.jobs.get(jobId);
      expect(job.executionMode).toBe('runner-ssh');
      // The script's `cronium_event` ran (the runner answers it from the job's manifest) ...
      const printed = JSON.parse((await stdoutOf(tc.core, job.logId!)).join('\n')) as Record<string, unknown>;
      expect(printed).toMatchObject({ jobId, eventId: ev.id });
      // ... and the app's `event` helper (what the runner session and the listener routes answer) reports the decision
      // the policy recorded for this job.
      const answer = await tc.core.execution.helpers.event({
        jobId, eventId: ev.id, eventName: 'single path', eventVersion: job.eventVersion ?? 0, serverId, serverName: 'single-path', attempt: 1,
      });
      expect(answer).toMatchObject({ jobId, eventId: ev.id, requestedMode: 'auto', executionMode: 'runner-ssh', fallbackReason: null });
    }
  }, 240_000);

  it('records the fallback reason when the runner cannot be used and auto may fall back', async () => {
    tc.core.settings.update({ runner: { enabled: true, fallbackToDirect: true }, flags: { ssh_runner_auto_deploy: false } });
    // A second server (same sshd, same user) with no runner deployed and auto deploy off: runner impossible, fallback.
    const other = await addServer(tc.core, sshd, sshd.keyUser, 'single-path-no-runner');
    try {
      const ev = await tc.core.events.save(EventInput.parse({ name: 'fallback', scriptType: 'bash', executionMode: 'auto', timeoutSeconds: 60, serverIds: [other], content: 'echo direct\n' }));
      const [job] = await tc.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' });
      const done = await tc.core.jobs.waitForJob(job!.id);
      expect(done.status).toBe('SUCCESS');
      expect(done.executionMode).toBe('direct-ssh');
      expect(done.fallbackReason).toMatch(/no runner could be used on single-path-no-runner/);
      expect(decisionsOf(job!.id)).toEqual([
        { jobId: job!.id, trigger: 'manual', requestedMode: 'auto', mode: 'direct-ssh', fallbackReason: done.fallbackReason, error: null, stage: 'start' },
      ]);
    } finally {
      tc.core.settings.update({ flags: { ssh_runner_auto_deploy: true } });
    }
  }, 120_000);
});
