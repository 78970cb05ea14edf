// The seed's runner-workflow suite (end-to-end scenario 4, multi-runner workflow execution) against real servers: two
// network-namespace hosts, each with its own OpenSSH sshd, and a real core (SQLite file, job service, executors).
// Success and failure branches, a condition on the exit code, two branches on two hosts running at the same time, a
// step timeout and a whole-run timeout, a cycle refused; with the runner-ssh executor in the build, output() passed to
// the next step's input(), setCondition() choosing a branch and two runners on two hosts at once.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost, destroyAll, type NetHost } from '../../harness/netns';
import type { SshdHandle, SshdKeyUser } from '../../harness/sshd';
import { createTestCore, REPO_ROOT, type TestCore } from '../../harness/test-core';
import { EventInput, type EventInput as EventInputType } from '../../../src-shared/contract/events';
import { WorkflowInput, type WorkflowInput as WorkflowInputType, type WorkflowRunView } from '../../../src-shared/contract/workflows';
import { AppError } from '../../../src-main/core/errors';

let h1: NetHost;
let h2: NetHost;
let s1: SshdHandle;
let s2: SshdHandle;
let test: TestCore;
const server: Record<'one' | 'two', string> = { one: '', two: '' };

async function addServer(name: string, sshd: SshdHandle, user: SshdKeyUser): Promise<string> {
  const view = await test.core.servers.save({
    name, host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey, tags: [], maxConcurrentJobs: 4,
  });
  await test.core.servers.trustHostKey(view.id, sshd.hostKeyFingerprint, false);
  return view.id;
}

async function event(name: string, content: string, extra: Partial<EventInputType> = {}): Promise<string> {
  const view = await test.core.events.save(EventInput.parse({ name, scriptType: 'bash', content, timeoutSeconds: 120, serverIds: [server.one], ...extra }));
  return view.id;
}

async function workflow(input: Omit<WorkflowInputType, 'name'> & { name?: string }) {
  return test.core.workflows.save(WorkflowInput.parse({ name: `wf ${Math.random().toString(36).slice(2, 7)}`, ...input }));
}

async function runToEnd(workflowId: string): Promise<WorkflowRunView> {
  const started = await test.core.workflows.startRun(workflowId, { trigger: 'manual' });
  return test.core.workflows.waitForRun(started.id);
}

const stepOf = (run: WorkflowRunView, nodeId: string) => {
  const step = run.steps.find((s) => s.nodeId === nodeId);
  if (!step) throw new Error(`no step ${nodeId} in run ${run.id}`);
  return step;
};

async function logText(logId: string | null): Promise<string> {
  if (!logId) return '';
  const page = await test.core.logs.store.lines(logId, 0, 10_000);
  return page.lines.map((l) => l.text).join('\n');
}

const ev: Record<string, string> = {};

beforeAll(async () => {
  h1 = await createHost('wf1', 211);
  h2 = await createHost('wf2', 212);
  [s1, s2] = await Promise.all([h1.startSshd({ users: 1 }), h2.startSshd({ users: 2 })]);
  test = await createTestCore();
  await test.core.start();
  server.one = await addServer('host-one', s1, s1.keyUser);
  server.two = await addServer('host-two', s2, s2.keyUser);
  ev.ok = await event('ok', 'echo all good');
  ev.fail = await event('fail', 'echo failing >&2; exit 3');
  ev.slow = await event('slow', 'echo sleeping; sleep 30');
  // Prints the address of the host it ran on, so the log proves where each branch went.
  ev.where = await event('where', 'ip -o -4 addr show dev eth0 | awk \'{print "on " $4}\'; sleep 2; echo done', { serverIds: [server.one, server.two] });
}, 120_000);

afterAll(async () => {
  await test?.cleanup();
  // The runners deployed to the extra users' homes (shared by every namespace) go with the test.
  for (const user of [s1?.extraUsers[0], s2?.extraUsers[1]]) {
    if (!user) continue;
    // A runner still waiting to hand its spool to an app that has stopped (it outlives the app by design): end the ones
    // this test deployed, found by their own folder under the test user's home, by pid.
    let listing = '';
    try {
      listing = execFileSync('ps', ['-u', user.username, '-o', 'pid=,args='], { encoding: 'utf8' });
    } catch {
      listing = ''; // ps exits 1 when the user has no process
    }
    const ours = listing.split('\n').filter((l) => l.includes(`${user.home}/.cronium/runners/`));
    for (const line of ours) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGTERM');
    fs.rmSync(path.join(user.home, '.cronium'), { recursive: true, force: true });
  }
  fs.rmSync(barrier, { recursive: true, force: true });
  await destroyAll();
}, 60_000);

describe('workflows on real servers', () => {
  describe('when the first step succeeds', () => {
    it('runs the success branch and skips the failure branch', async () => {
      const wf = await workflow({
        nodes: [{ id: 's-a', eventId: ev.ok!, label: 'A' }, { id: 's-b', eventId: ev.ok!, label: 'B' }, { id: 's-c', eventId: ev.ok!, label: 'C' }],
        edges: [{ id: 's-ab', source: 's-a', target: 's-b', kind: 'ON_SUCCESS' }, { id: 's-ac', source: 's-a', target: 's-c', kind: 'ON_FAILURE' }],
      });
      const run = await runToEnd(wf.id);
      expect(run.status).toBe('SUCCESS');
      expect(stepOf(run, 's-a')).toMatchObject({ status: 'SUCCESS', exitCode: 0 });
      expect(stepOf(run, 's-b').status).toBe('SUCCESS');
      expect(stepOf(run, 's-c')).toMatchObject({ status: 'SKIPPED', jobId: null });
      expect(await logText(stepOf(run, 's-b').logId)).toContain('all good');
      const jobs = await test.core.jobs.list({ workflowRunId: run.id });
      expect(jobs.map((j) => j.trigger)).toEqual(['workflow', 'workflow']);
    }, 60_000);
  });

  describe('when the first step fails', () => {
    it('runs the failure branch with the exit code kept, and a condition on the exit code picks its branch', async () => {
      const wf = await workflow({
        nodes: [
          { id: 'f-a', eventId: ev.fail!, label: 'A' },
          { id: 'f-ok', eventId: ev.ok!, label: 'on success' },
          { id: 'f-fail', eventId: ev.ok!, label: 'on failure' },
          { id: 'f-three', eventId: ev.ok!, label: 'exit 3' },
          { id: 'f-zero', eventId: ev.ok!, label: 'exit 0' },
        ],
        edges: [
          { id: 'f-1', source: 'f-a', target: 'f-ok', kind: 'ON_SUCCESS' },
          { id: 'f-2', source: 'f-a', target: 'f-fail', kind: 'ON_FAILURE' },
          { id: 'f-3', source: 'f-a', target: 'f-three', kind: 'ON_CONDITION', condition: 'exitCode == 3 && status == "FAILURE"' },
          { id: 'f-4', source: 'f-a', target: 'f-zero', kind: 'ON_CONDITION', condition: 'exitCode == 0' },
        ],
      });
      const run = await runToEnd(wf.id);
      expect(stepOf(run, 'f-a')).toMatchObject({ status: 'FAILURE', exitCode: 3 });
      expect(stepOf(run, 'f-ok').status).toBe('SKIPPED');
      expect(stepOf(run, 'f-fail').status).toBe('SUCCESS');
      expect(stepOf(run, 'f-three').status).toBe('SUCCESS');
      expect(stepOf(run, 'f-zero')).toMatchObject({ status: 'SKIPPED', reason: expect.stringMatching(/exitCode == 0 was false/) });
      // The failure was handled by its edges: the run succeeded with a handled failure (never plain SUCCESS).
      expect(run.status).toBe('HANDLED_FAILURE');
    }, 60_000);
  });

  describe('when two branches go to two hosts', () => {
    it('runs them at the same time, each on its own host, and joins after both', async () => {
      const wf = await workflow({
        nodes: [
          { id: 'p-1', eventId: ev.where!, serverId: server.one, label: 'one' },
          { id: 'p-2', eventId: ev.where!, serverId: server.two, label: 'two' },
          { id: 'p-join', eventId: ev.ok!, label: 'join' },
        ],
        edges: [
          { id: 'p-1j', source: 'p-1', target: 'p-join', kind: 'ON_SUCCESS' },
          { id: 'p-2j', source: 'p-2', target: 'p-join', kind: 'ON_SUCCESS' },
        ],
      });
      const run = await runToEnd(wf.id);
      expect(run.status).toBe('SUCCESS');
      const [a, b] = [stepOf(run, 'p-1'), stepOf(run, 'p-2')];
      expect(await logText(a.logId)).toContain(`on ${h1.address}/16`);
      expect(await logText(b.logId)).toContain(`on ${h2.address}/16`);
      const jobA = await test.core.jobs.get(a.jobId!);
      const jobB = await test.core.jobs.get(b.jobId!);
      // Overlap: each started before the other finished (each sleeps 2 s).
      expect(Date.parse(jobA.startedAt!)).toBeLessThan(Date.parse(jobB.finishedAt!));
      expect(Date.parse(jobB.startedAt!)).toBeLessThan(Date.parse(jobA.finishedAt!));
      const join = stepOf(run, 'p-join');
      expect(Date.parse(join.startedAt!)).toBeGreaterThanOrEqual(Math.max(Date.parse(a.finishedAt!), Date.parse(b.finishedAt!)));
    }, 60_000);
  });

  describe('when a step runs past its timeout', () => {
    it('ends the step TIMEOUT and follows its failure edge', async () => {
      const wf = await workflow({
        nodes: [{ id: 't-slow', eventId: ev.slow!, label: 'slow', timeoutSeconds: 2 }, { id: 't-after', eventId: ev.ok!, label: 'after' }],
        edges: [{ id: 't-1', source: 't-slow', target: 't-after', kind: 'ON_FAILURE' }],
      });
      const started = Date.now();
      const run = await runToEnd(wf.id);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(stepOf(run, 't-slow').status).toBe('TIMEOUT');
      expect(stepOf(run, 't-after').status).toBe('SUCCESS');
      expect(run.status).toBe('HANDLED_FAILURE');
    }, 60_000);

    it('ends the whole run TIMEOUT at its run timeout, cancelling the running step and skipping the rest', async () => {
      const wf = await workflow({
        timeoutSeconds: 3,
        nodes: [{ id: 'r-slow', eventId: ev.slow!, label: 'slow' }, { id: 'r-next', eventId: ev.ok!, label: 'next' }],
        edges: [{ id: 'r-1', source: 'r-slow', target: 'r-next', kind: 'ALWAYS' }],
      });
      const run = await runToEnd(wf.id);
      expect(run.status).toBe('TIMEOUT');
      expect(run.reason).toMatch(/timeout of 3 s/);
      expect(stepOf(run, 'r-slow').status).toBe('TIMEOUT');
      expect(stepOf(run, 'r-next').status).toBe('SKIPPED');
      const job = await test.core.jobs.get(stepOf(run, 'r-slow').jobId!);
      expect(job.status).toBe('CANCELLED');
    }, 60_000);
  });

  describe('when the user saves a graph with a cycle', () => {
    it('is refused, naming the steps, and nothing is stored', async () => {
      const before = (await test.core.workflows.list()).length;
      const err = await workflow({
        name: 'loop',
        nodes: [{ id: 'c-a', eventId: ev.ok!, label: 'extract' }, { id: 'c-b', eventId: ev.ok!, label: 'load' }],
        edges: [{ id: 'c-1', source: 'c-a', target: 'c-b', kind: 'ALWAYS' }, { id: 'c-2', source: 'c-b', target: 'c-a', kind: 'ON_FAILURE' }],
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).extra.fields!.graph).toMatch(/extract → load → extract form a cycle/);
      expect(await test.core.workflows.list()).toHaveLength(before);
    });
  });
});

// Runner-ssh parts need the runner executor in the build (src-main/core/jobs/runner-ssh-executor.ts).
const barrier = path.join('/tmp', `cronium-wf-barrier-${process.pid}`);
const runnerBuild = fs.existsSync(path.join(REPO_ROOT, 'src-main/core/jobs/runner-ssh-executor.ts'));

describe.skipIf(!runnerBuild)('workflows on runners (runner-ssh)', () => {
  beforeAll(async () => {
    test.core.settings.update({ flags: { ssh_runner_enabled: true, ssh_runner_auto_deploy: true }, runner: { enabled: true, fallbackToDirect: false } });
    // Namespaces share home folders: each host's runner goes to its own user so two deploys never write one path.
    server.one = await addServer('runner-one', s1, s1.extraUsers[0]!);
    server.two = await addServer('runner-two', s2, s2.extraUsers[1]!);
    ev.produce = await event('produce', 'cronium_output \'{"count": 42, "name": "batch-7"}\'; cronium_set_condition true; echo produced');
    ev.consume = await event('consume', 'echo "got $(cronium_input)"');
    // A barrier in /tmp (shared by the namespaces): each step marks its start, then waits for the other's mark. Run one
    // after the other, the first would wait in vain and print "seen 1".
    fs.mkdirSync(barrier, { recursive: true, mode: 0o777 });
    fs.chmodSync(barrier, 0o777);
    ev.stamp = await event(
      'stamp',
      'touch "$BARRIER/$(id -un)"; echo "start $(date +%s%N)"; for i in $(seq 1 300); do [ "$(ls "$BARRIER" | wc -l)" -ge 2 ] && break; sleep 0.1; done; echo "seen $(ls "$BARRIER" | wc -l)"; sleep 1; echo "end $(date +%s%N)"',
      { serverIds: [server.one, server.two], env: { BARRIER: barrier } },
    );
  }, 120_000);

  it("passes one step's output() to the next step's input() and follows setCondition()", async () => {
    const wf = await workflow({
      nodes: [
        { id: 'o-p', eventId: ev.produce!, serverId: server.one, executionMode: 'runner-ssh', label: 'produce' },
        { id: 'o-c', eventId: ev.consume!, serverId: server.one, executionMode: 'runner-ssh', label: 'consume' },
        { id: 'o-big', eventId: ev.consume!, serverId: server.one, executionMode: 'runner-ssh', label: 'big' },
      ],
      edges: [
        { id: 'o-1', source: 'o-p', target: 'o-c', kind: 'ON_CONDITION' },
        { id: 'o-2', source: 'o-p', target: 'o-big', kind: 'ON_CONDITION', condition: 'output.count > 40' },
      ],
    });
    const run = await runToEnd(wf.id);
    expect(run.status).toBe('SUCCESS');
    expect(stepOf(run, 'o-p')).toMatchObject({ status: 'SUCCESS', output: { count: 42, name: 'batch-7' }, condition: true });
    expect(stepOf(run, 'o-c')).toMatchObject({ status: 'SUCCESS', input: { count: 42, name: 'batch-7' } });
    expect(await logText(stepOf(run, 'o-c').logId)).toContain('"name":"batch-7"');
    expect(stepOf(run, 'o-big').status).toBe('SUCCESS');
    expect((await test.core.jobs.get(stepOf(run, 'o-c').jobId!)).executionMode).toBe('runner-ssh');
  }, 180_000);

  it('runs two branches on two runners on two hosts at the same time', async () => {
    const wf = await workflow({
      nodes: [
        { id: 'm-1', eventId: ev.stamp!, serverId: server.one, executionMode: 'runner-ssh', runnerRequirements: { minVersion: '1.0.0' }, label: 'one' },
        { id: 'm-2', eventId: ev.stamp!, serverId: server.two, executionMode: 'runner-ssh', runnerRequirements: { minVersion: '1.0.0' }, label: 'two' },
      ],
      edges: [],
    });
    const run = await runToEnd(wf.id);
    expect(run.status).toBe('SUCCESS');
    const interval = async (nodeId: string) => {
      const text = await logText(stepOf(run, nodeId).logId);
      const start = Number(/start (\d+)/.exec(text)![1]) / 1e6;
      const end = Number(/end (\d+)/.exec(text)![1]) / 1e6;
      return { start, end };
    };
    for (const nodeId of ['m-1', 'm-2']) expect(await logText(stepOf(run, nodeId).logId)).toContain('seen 2');
    const [a, b] = [await interval('m-1'), await interval('m-2')];
    expect(a.start).toBeLessThan(b.end);
    expect(b.start).toBeLessThan(a.end);
    const deployments = await test.core.runners.listDeployments();
    const active = new Set(deployments.filter((d) => d.status === 'active').map((d) => d.serverId));
    expect(active.has(server.one) && active.has(server.two)).toBe(true);
    for (const nodeId of ['m-1', 'm-2']) expect((await test.core.jobs.get(stepOf(run, nodeId).jobId!)).executionMode).toBe('runner-ssh');
  }, 240_000);
});
