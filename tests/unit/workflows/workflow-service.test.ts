// Saving workflows on a real SQLite file (the app's migrations): what the editor is told when a graph is wrong (a
// cycle naming its steps, a missing event, a bad condition, a step without a server), the defaults (the event's first
// server), versions, and what start-up does with a run a crash left RUNNING. Steps run through a fake job runner here;
// tests/integration/workflows runs them on real servers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { AppError } from '../../../src-main/core/errors';
import { Scheduler } from '../../../src-main/core/scheduler/scheduler';
import { MemoryFireStore } from '../../../src-main/core/scheduler/fire-store';
import { WorkflowService, INTERRUPTED_REASON } from '../../../src-main/core/workflows/workflow-service';
import { CRASH_REASON_RUNNING } from '../../../src-main/core/jobs/job-service';
import type { StepJobResult, WorkflowJobRunner } from '../../../src-main/core/workflows/workflow-executor';
import { findCycle, graphProblems } from '../../../src-main/core/workflows/workflow-graph';
import { checkCondition } from '../../../src-main/core/workflows/workflow-condition';
import { WorkflowInput, type WorkflowInput as WorkflowInputType } from '../../../src-shared/contract/workflows';
import { ManualClock } from '../../harness/manual-clock';
import { ErrorCode } from '../../../src-shared/errors';

const MIGRATIONS = path.resolve(__dirname, '../../../migrations');
const AT = '2025-06-01T10:00:00.000Z';

/** Fake edge: every step's job (a bare jobs row, so the step can point at it) succeeds at once with output { from: <node id> }. */
class InstantJobRunnerForTests implements WorkflowJobRunner {
  private n = 0;
  async start(req: { node: { id: string } }) {
    const jobId = `${req.node.id}#${++this.n}`;
    db.sqlite.prepare(`INSERT INTO jobs (id, status, created_at, updated_at) VALUES (?, 'SUCCESS', ?, ?)`).run(jobId, AT, AT);
    return { jobId };
  }
  async wait(jobId: string): Promise<StepJobResult> {
    return { status: 'SUCCESS', exitCode: 0, output: { from: jobId.split('#')[0] }, condition: null, reason: null };
  }
  async cancel() {}
}

let dir: string;
let db: AppDatabase;
let service: WorkflowService;
/** The ScheduleBook the service is built with (constructor injection; no hook is set afterwards). */
let schedules: Scheduler;

function addServer(id: string, name: string) {
  db.sqlite
    .prepare(`INSERT INTO servers (id, name, host, port, username, auth_type, credential_ref, created_at, updated_at) VALUES (?, ?, '127.0.0.1', 22, 'u', 'key', 'ref', ?, ?)`)
    .run(id, name, AT, AT);
}
function addEvent(id: string, name: string, serverIds: string[]) {
  db.sqlite.prepare(`INSERT INTO events (id, name, script_type, content, created_at, updated_at) VALUES (?, ?, 'bash', 'true', ?, ?)`).run(id, name, AT, AT);
  for (const s of serverIds) db.sqlite.prepare('INSERT INTO event_servers (event_id, server_id) VALUES (?, ?)').run(id, s);
}

const save = (input: WorkflowInputType) => service.save(WorkflowInput.parse(input));

async function refusal(input: WorkflowInputType): Promise<AppError> {
  try {
    await save(input);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('the save was accepted');
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-workflows-'));
  db = openDatabase(path.join(dir, 'cronium.sqlite'), MIGRATIONS);
  const clock = new ManualClock(AT);
  schedules = new Scheduler({ clock, store: new MemoryFireStore() });
  service = new WorkflowService({ db, bus: new EventBus(), clock, schedules, jobs: new InstantJobRunnerForTests() });
  addServer('srv-b', 'beta');
  addServer('srv-a', 'alpha');
  addEvent('ev-build', 'build', ['srv-b', 'srv-a']);
  addEvent('ev-test', 'test', ['srv-b']);
  addEvent('ev-orphan', 'orphan', []);
});
afterEach(async () => {
  await schedules.stop();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('WorkflowService.save', () => {
  describe('when the user saves a valid graph', () => {
    it("stores it with each step's server defaulting to the event's first server, and bumps the version on each save", async () => {
      const input: WorkflowInputType = {
        name: 'deploy',
        nodes: [
          { id: 'n1', eventId: 'ev-build' },
          { id: 'n2', eventId: 'ev-test', serverId: 'srv-b', executionMode: 'runner-ssh', runnerRequirements: { minVersion: '1.2.0', capabilities: ['helpers'] }, timeoutSeconds: 30 },
        ],
        edges: [{ id: 'e1', source: 'n1', target: 'n2', kind: 'ON_CONDITION', condition: 'exitCode == 0' }],
        timeoutSeconds: 600,
      };
      const first = await save(input);
      expect(first.version).toBe(1);
      expect(first.nodes.find((n) => n.id === 'n1')).toMatchObject({ serverId: 'srv-a', serverName: 'alpha', eventName: 'build' });
      expect(first.nodes.find((n) => n.id === 'n2')).toMatchObject({ executionMode: 'runner-ssh', runnerRequirements: { minVersion: '1.2.0', capabilities: ['helpers'] }, timeoutSeconds: 30 });
      expect(first.edges).toEqual([{ id: 'e1', source: 'n1', target: 'n2', kind: 'ON_CONDITION', condition: 'exitCode == 0' }]);
      const second = await save({ ...input, id: first.id, name: 'deploy v2' });
      expect(second.version).toBe(2);
      expect(second.name).toBe('deploy v2');
      expect(await service.list()).toHaveLength(1);
    });
  });

  describe('when the graph has a cycle', () => {
    it('refuses it and names the steps of the cycle, on the graph and on each step', async () => {
      const err = await refusal({
        name: 'loop',
        nodes: [
          { id: 'a', eventId: 'ev-build', label: 'Build' },
          { id: 'b', eventId: 'ev-test', label: 'Test' },
          { id: 'c', eventId: 'ev-test', label: 'Ship' },
        ],
        edges: [
          { id: 'e1', source: 'a', target: 'b', kind: 'ALWAYS' },
          { id: 'e2', source: 'b', target: 'c', kind: 'ON_SUCCESS' },
          { id: 'e3', source: 'c', target: 'a', kind: 'ON_FAILURE' },
        ],
      });
      expect(err.code).toBe(ErrorCode.INVALID_WORKFLOW);
      expect(err.extra.fields!.graph).toMatch(/Build → Test → Ship → Build form a cycle/);
      expect(err.message).toMatch(/cycle/);
      expect(err.extra.fields!['nodes.a']).toBe('part of a cycle');
      expect(err.extra.fields!['nodes.c']).toBe('part of a cycle');
      expect(await service.list()).toEqual([]);
    });
  });

  describe('when a step is wrong', () => {
    it('marks a missing event, a step without a server, an unknown server and a bad condition on their items', async () => {
      const err = await refusal({
        name: 'broken',
        nodes: [
          { id: 'gone', eventId: 'ev-deleted' },
          { id: 'noserver', eventId: 'ev-orphan' },
          { id: 'badserver', eventId: 'ev-test', serverId: 'srv-nope' },
          { id: 'ok', eventId: 'ev-test' },
        ],
        edges: [
          { id: 'cond', source: 'ok', target: 'noserver', kind: 'ON_CONDITION', condition: 'exitCode ==' },
          { id: 'dangling', source: 'ok', target: 'nowhere', kind: 'ALWAYS' },
        ],
      });
      expect(err.extra.fields).toMatchObject({
        'nodes.gone': expect.stringMatching(/does not exist/),
        'nodes.noserver': expect.stringMatching(/orphan has no server/),
        'nodes.badserver': expect.stringMatching(/server chosen .* does not exist/),
        'edges.cond': expect.stringMatching(/does not parse/),
        'edges.dangling': expect.stringMatching(/not in the workflow \(nowhere\)/),
      });
      expect(err.message).toMatch(/and 4 more problems marked on the graph/);
    });

    it('refuses an invalid schedule at its field', async () => {
      const err = await refusal({ name: 's', nodes: [{ id: 'x1', eventId: 'ev-test' }], edges: [], schedule: { kind: 'cron', expression: '61 * * * *' } });
      expect(Object.keys(err.extra.fields!).some((k) => k.startsWith('schedule'))).toBe(true);
    });
  });
});

describe('graph and condition checks', () => {
  it('finds no cycle in a diamond and one in a loop', () => {
    const nodes = ['a', 'b', 'c', 'd'].map((id) => ({ id, label: id }));
    const diamond = [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']].map(([s, t], i) => ({ id: `e${i}`, source: s!, target: t!, kind: 'ALWAYS' as const, condition: null }));
    expect(findCycle(nodes, diamond)).toBeNull();
    expect(graphProblems(nodes, diamond)).toEqual({});
    const loop = [...diamond, { id: 'back', source: 'd', target: 'b', kind: 'ALWAYS' as const, condition: null }];
    expect(findCycle(nodes, loop)).toEqual(['b', 'd', 'b']);
  });

  it('accepts conditions over the step variables and refuses unknown names and non-boolean results', () => {
    expect(checkCondition('exitCode == 0 || output.retry == true')).toBeNull();
    expect(checkCondition('status == "PARTIAL" && condition == true')).toBeNull();
    expect(checkCondition('foo == 1')).toMatch(/Unknown variable: foo/);
    expect(checkCondition('1 + 2')).toMatch(/must be true or false/);
  });
});

describe('WorkflowService runs', () => {
  describe('when the user runs a saved workflow', () => {
    it('passes outputs along and records every step', async () => {
      const wf = await save({
        name: 'chain',
        nodes: [{ id: 'r1', eventId: 'ev-build' }, { id: 'r2', eventId: 'ev-test' }],
        edges: [{ id: 'r1-r2', source: 'r1', target: 'r2', kind: 'ON_SUCCESS' }],
      });
      const started = await service.startRun(wf.id, { trigger: 'manual' });
      expect(started.status).toBe('RUNNING');
      const run = await service.waitForRun(started.id);
      expect(run.status).toBe('SUCCESS');
      expect(run.steps.find((s) => s.nodeId === 'r2')).toMatchObject({ status: 'SUCCESS', input: { from: 'r1' }, output: { from: 'r2' } });
      expect((await service.runs(wf.id, 10)).map((r) => r.id)).toEqual([started.id]);
      expect((await service.get(wf.id)).lastRun).toMatchObject({ id: started.id, status: 'SUCCESS' });
    });

    it('returns the same run for the same idempotency key (a scheduled time starts once)', async () => {
      const wf = await save({ name: 'once', nodes: [{ id: 'o1', eventId: 'ev-test' }], edges: [] });
      const a = await service.startRun(wf.id, { trigger: 'schedule', idempotencyKey: 'workflow:x:2025' });
      const b = await service.startRun(wf.id, { trigger: 'schedule', idempotencyKey: 'workflow:x:2025' });
      expect(b.id).toBe(a.id);
      await service.waitForRun(a.id);
    });
  });

  describe('when a workflow with a schedule is saved, disabled and deleted', () => {
    it('keeps the scheduler it was built with current, and its views carry that next run', async () => {
      await schedules.start({ dispatch: async () => ({ jobIds: [] }), isRunning: () => false });
      const input: WorkflowInputType = { name: 'hourly', nodes: [{ id: 'h1', eventId: 'ev-test' }], edges: [], schedule: { kind: 'interval', everySeconds: 3600 } };
      const wf = await save(input);
      expect(wf.nextRunAt).not.toBeNull();
      expect(wf.nextRunAt).toBe(schedules.nextFire('workflow', wf.id)?.toISOString());
      expect((await save({ ...input, id: wf.id, enabled: false })).nextRunAt).toBeNull();
      expect(schedules.nextFire('workflow', wf.id)).toBeNull();
      await save({ ...input, id: wf.id });
      await service.delete(wf.id);
      expect(schedules.nextFire('workflow', wf.id)).toBeNull();
    });
  });

  describe('when the app starts again after quitting during a run', () => {
    const crashed = () =>
      save({ name: 'crashed', nodes: [{ id: 'c1', eventId: 'ev-build' }, { id: 'c2', eventId: 'ev-test' }], edges: [{ id: 'c1-c2', source: 'c1', target: 'c2', kind: 'ON_SUCCESS' }] });
    const addJob = (id: string, status: string, reason: string | null) =>
      db.sqlite.prepare('INSERT INTO jobs (id, status, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(id, status, reason, AT, AT);

    it('resumes it: the step whose job survived finishes and the step after it runs with its output', async () => {
      const wf = await crashed();
      const plan = await service.store.plan(wf.id);
      const runId = await service.store.createRun(plan, { trigger: 'manual', idempotencyKey: null, at: AT });
      addJob('c1#left', 'RUNNING', null); // a runner job that re-attaches
      await service.store.stepStarted(runId, 'c1', { jobId: 'c1#left', input: undefined, at: AT });

      expect(await service.reconcile()).toBe(1);
      expect((await service.runDetail(runId)).status).toBe('RUNNING');
      expect(await service.resumeDetached()).toBe(1);
      const run = await service.waitForRun(runId);
      expect(run.status).toBe('SUCCESS');
      expect(run.steps.find((s) => s.nodeId === 'c1')).toMatchObject({ status: 'SUCCESS', jobId: 'c1#left' });
      expect(run.steps.find((s) => s.nodeId === 'c2')).toMatchObject({ status: 'SUCCESS', input: { from: 'c1' } });
    });

    it('ends a step whose job could not survive INTERRUPTED (not FAILURE), and the run too; resuming from that step finishes it', async () => {
      const wf = await crashed();
      const plan = await service.store.plan(wf.id);
      const runId = await service.store.createRun(plan, { trigger: 'manual', idempotencyKey: null, at: AT });
      addJob('c1#direct', 'FAILURE', CRASH_REASON_RUNNING); // what the jobs' reconciliation leaves of a direct-ssh job
      await service.store.stepStarted(runId, 'c1', { jobId: 'c1#direct', input: undefined, at: AT });

      await service.reconcile();
      await service.resumeDetached();
      const run = await service.waitForRun(runId);
      expect(run.status).toBe('INTERRUPTED');
      expect(run.reason).toContain('resume the run from a step');
      expect(run.steps.find((s) => s.nodeId === 'c1')).toMatchObject({ status: 'INTERRUPTED', reason: `${INTERRUPTED_REASON}: ${CRASH_REASON_RUNNING}` });
      expect(run.steps.find((s) => s.nodeId === 'c2')?.status).toBe('SKIPPED');

      const resumed = await service.waitForRun((await service.resumeRun(runId, 'c1')).id);
      expect(resumed.id).not.toBe(runId);
      expect(resumed.status).toBe('SUCCESS');
      expect(Object.fromEntries(resumed.steps.map((s) => [s.nodeId, s.status]))).toEqual({ c1: 'SUCCESS', c2: 'SUCCESS' });
      expect((await service.runDetail(runId)).status).toBe('INTERRUPTED'); // the old run stays as it ended
    });
  });

  describe('when the user resumes an ended run from a step', () => {
    it('runs that step and the ones after it again, reusing the earlier steps as recorded (their output feeds it)', async () => {
      const wf = await save({
        name: 'three', nodes: [{ id: 't1', eventId: 'ev-build' }, { id: 't2', eventId: 'ev-test' }, { id: 't3', eventId: 'ev-test' }],
        edges: [{ id: 't1-t2', source: 't1', target: 't2', kind: 'ON_SUCCESS' }, { id: 't2-t3', source: 't2', target: 't3', kind: 'ON_SUCCESS' }],
      });
      const first = await service.waitForRun((await service.startRun(wf.id)).id);
      const job = (run: typeof first, node: string) => run.steps.find((s) => s.nodeId === node)!.jobId;

      const again = await service.waitForRun((await service.resumeRun(first.id, 't2')).id);
      expect(again.status).toBe('SUCCESS');
      expect(job(again, 't1')).toBe(job(first, 't1')); // reused, not run again
      expect(job(again, 't2')).not.toBe(job(first, 't2'));
      expect(job(again, 't3')).not.toBe(job(first, 't3'));
      expect(again.steps.find((s) => s.nodeId === 't2')).toMatchObject({ status: 'SUCCESS', input: { from: 't1' } });
    });

    it('refuses a step the workflow does not have, and a run of a workflow edited since', async () => {
      const wf = await save({ name: 'one', nodes: [{ id: 'u1', eventId: 'ev-test' }], edges: [] });
      const run = await service.waitForRun((await service.startRun(wf.id)).id);
      await expect(service.resumeRun(run.id, 'nope')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      await save({ id: wf.id, name: 'one', nodes: [{ id: 'u1', eventId: 'ev-build' }], edges: [] });
      await expect(service.resumeRun(run.id, 'u1')).rejects.toMatchObject({ code: 'WORKFLOW_CHANGED' });
    });
  });
});
