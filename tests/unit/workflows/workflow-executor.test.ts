// The DAG rules of WorkflowExecutor with a fake job runner (steps end when the test says so) and a manual clock:
// which edges fire, the join rule, skip propagation, output -> input, conditions on partial results, step and run
// timeouts, cancel. The real job path is covered by tests/integration/workflows.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../harness/manual-clock';
import {
  STEP_DEADLINE_GRACE_MS,
  WorkflowExecutor,
  type RunRecorder,
  type StepJobRequest,
  type StepJobResult,
  type WorkflowJobRunner,
} from '../../../src-main/core/workflows/workflow-executor';
import type { PlanEdge, PlanNode, WorkflowPlan } from '../../../src-main/core/workflows/workflow-graph';
import type { WorkflowStepStatus } from '../../../src-shared/contract/workflows';

/** Fake edge: a "job" per started step that ends only when the test calls finish(), or on cancel (CANCELLED). */
class FakeJobRunnerForTests implements WorkflowJobRunner {
  readonly started: StepJobRequest[] = [];
  readonly cancelled: string[] = [];
  private readonly waiters = new Map<string, (r: StepJobResult) => void>();
  private readonly results = new Map<string, StepJobResult>();
  failStartOf = new Set<string>();

  async start(req: StepJobRequest) {
    if (this.failStartOf.has(req.node.id)) throw new Error('its server refused the connection');
    this.started.push(req);
    return { jobId: `job-${req.node.id}` };
  }
  wait(jobId: string): Promise<StepJobResult> {
    const done = this.results.get(jobId);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => this.waiters.set(jobId, resolve));
  }
  async cancel(jobId: string) {
    this.cancelled.push(jobId);
    this.end(jobId, { status: 'CANCELLED', exitCode: null, condition: null, reason: 'cancelled' });
  }
  finish(nodeId: string, result: Partial<StepJobResult> & Pick<StepJobResult, 'status'>) {
    this.end(`job-${nodeId}`, { exitCode: result.status === 'SUCCESS' ? 0 : 1, condition: null, reason: null, ...result });
  }
  isRunning(nodeId: string) {
    return this.waiters.has(`job-${nodeId}`) || (this.started.some((s) => s.node.id === nodeId) && !this.results.has(`job-${nodeId}`));
  }
  inputOf(nodeId: string) {
    return this.started.find((s) => s.node.id === nodeId)?.input;
  }
  private end(jobId: string, result: StepJobResult) {
    if (this.results.has(jobId)) return;
    this.results.set(jobId, result);
    const wake = this.waiters.get(jobId);
    this.waiters.delete(jobId);
    wake?.(result);
  }
}

class MemoryRecorder implements RunRecorder {
  readonly steps = new Map<string, { status: WorkflowStepStatus; reason: string | null; output?: unknown }>();
  run: { status: string; reason: string | null } | null = null;
  async stepStarted(_runId: string, nodeId: string) {
    this.steps.set(nodeId, { status: 'RUNNING', reason: null });
  }
  async stepEnded(_runId: string, nodeId: string, change: { status: WorkflowStepStatus; reason: string | null; output?: unknown }) {
    this.steps.set(nodeId, { status: change.status, reason: change.reason, output: change.output });
  }
  async runEnded(_runId: string, change: { status: string; reason: string | null }) {
    this.run = change;
  }
  status(nodeId: string) {
    return this.steps.get(nodeId)?.status ?? 'WAITING';
  }
}

const node = (id: string, extra: Partial<PlanNode> = {}): PlanNode => ({
  id, label: id, eventId: `event-${id}`, serverId: 'server-1', executionMode: null, runnerRequirements: null, timeoutSeconds: null, ...extra,
});
const edge = (source: string, target: string, kind: PlanEdge['kind'] = 'ALWAYS', condition: string | null = null): PlanEdge => ({
  id: `${source}->${target}:${kind}`, source, target, kind, condition,
});
const plan = (nodes: PlanNode[], edges: PlanEdge[], timeoutSeconds: number | null = null): WorkflowPlan => ({
  workflowId: 'wf', version: 1, name: 'test', timeoutSeconds, nodes, edges,
});

async function settle() {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

function setup(p: WorkflowPlan, input?: unknown, failToStart: string[] = []) {
  const clock = new ManualClock('2025-06-01T10:00:00Z');
  const jobs = new FakeJobRunnerForTests();
  for (const id of failToStart) jobs.failStartOf.add(id);
  const recorder = new MemoryRecorder();
  const executor = new WorkflowExecutor({ clock, jobs, recorder });
  const handle = executor.start(p, 'run-1', input);
  return { clock, jobs, recorder, handle };
}

describe('WorkflowExecutor', () => {
  describe('when the user runs A -> (B on success, C on failure)', () => {
    const graph = () => plan([node('A'), node('B'), node('C')], [edge('A', 'B', 'ON_SUCCESS'), edge('A', 'C', 'ON_FAILURE')]);

    it('runs B and skips C after A succeeds, and the run succeeds', async () => {
      const { jobs, recorder, handle } = setup(graph());
      await settle();
      expect(jobs.started.map((s) => s.node.id)).toEqual(['A']);
      jobs.finish('A', { status: 'SUCCESS' });
      await settle();
      expect(jobs.started.map((s) => s.node.id)).toEqual(['A', 'B']);
      expect(recorder.status('C')).toBe('SKIPPED');
      expect(recorder.steps.get('C')!.reason).toMatch(/A: it ended SUCCESS \(edge on failure\)/);
      jobs.finish('B', { status: 'SUCCESS' });
      expect(await handle.done).toBe('SUCCESS');
    });

    it('runs C and skips B after A fails; the failure is handled, so the run succeeds with a handled failure, never plain SUCCESS', async () => {
      const { jobs, recorder, handle } = setup(graph());
      await settle();
      jobs.finish('A', { status: 'FAILURE', exitCode: 3, reason: 'exit code 3' });
      await settle();
      expect(recorder.status('B')).toBe('SKIPPED');
      expect(jobs.isRunning('C')).toBe(true);
      jobs.finish('C', { status: 'SUCCESS' });
      expect(await handle.done).toBe('HANDLED_FAILURE');
      expect(recorder.status('A')).toBe('FAILURE');
      expect(recorder.run?.status).toBe('HANDLED_FAILURE');
      expect(recorder.run?.reason).toMatch(/A ended FAILURE \(exit code 3\); handled by/);
    });

    it('fails the run when a failing step has no edge that handles it', async () => {
      const { jobs, recorder, handle } = setup(plan([node('A'), node('B')], [edge('A', 'B', 'ON_SUCCESS')]));
      await settle();
      jobs.finish('A', { status: 'FAILURE', reason: 'exit code 2' });
      expect(await handle.done).toBe('FAILURE');
      expect(recorder.run!.reason).toMatch(/A ended FAILURE \(exit code 2\)/);
      expect(recorder.status('B')).toBe('SKIPPED');
    });
  });

  describe('when an edge is ON_CONDITION', () => {
    it('follows the value the step set with setCondition when the edge has no expression', async () => {
      const { jobs, recorder, handle } = setup(plan([node('A'), node('yes'), node('no')], [edge('A', 'yes', 'ON_CONDITION'), edge('A', 'no', 'ON_SUCCESS')]));
      await settle();
      jobs.finish('A', { status: 'SUCCESS', condition: true });
      await settle();
      expect(jobs.isRunning('yes')).toBe(true);
      jobs.finish('yes', { status: 'SUCCESS' });
      jobs.finish('no', { status: 'SUCCESS' });
      expect(await handle.done).toBe('SUCCESS');
      expect(recorder.status('yes')).toBe('SUCCESS');
    });

    it('does not fire when setCondition was never called', async () => {
      const { jobs, recorder, handle } = setup(plan([node('A'), node('B')], [edge('A', 'B', 'ON_CONDITION')]));
      await settle();
      jobs.finish('A', { status: 'SUCCESS', condition: null });
      await handle.done;
      expect(recorder.status('B')).toBe('SKIPPED');
      expect(recorder.steps.get('B')!.reason).toMatch(/never called setCondition/);
    });

    it('evaluates an expression over exit code and output', async () => {
      const { jobs, recorder, handle } = setup(
        plan([node('A'), node('big'), node('small')], [edge('A', 'big', 'ON_CONDITION', 'exitCode == 0 && output.count > 10'), edge('A', 'small', 'ON_CONDITION', 'output.count <= 10')]),
      );
      await settle();
      jobs.finish('A', { status: 'SUCCESS', output: { count: 42 } });
      await settle();
      expect(jobs.isRunning('big')).toBe(true);
      expect(recorder.status('small')).toBe('SKIPPED');
      jobs.finish('big', { status: 'SUCCESS' });
      await handle.done;
    });

    it('counts an expression that cannot be evaluated as false, and says why', async () => {
      const { jobs, recorder, handle } = setup(plan([node('A'), node('B')], [edge('A', 'B', 'ON_CONDITION', 'output.missing == 1')]));
      await settle();
      jobs.finish('A', { status: 'SUCCESS', output: { other: 1 } });
      await handle.done;
      expect(recorder.status('B')).toBe('SKIPPED');
      expect(recorder.steps.get('B')!.reason).toMatch(/could not be evaluated.*missing/);
    });

    it('judges an interrupted (PARTIAL) step on the condition it had set, and fires ON_FAILURE for it', async () => {
      const { jobs, recorder, handle } = setup(
        plan([node('A'), node('cond'), node('onFail')], [edge('A', 'cond', 'ON_CONDITION', 'status == "PARTIAL" && condition == true'), edge('A', 'onFail', 'ON_FAILURE')]),
      );
      await settle();
      jobs.finish('A', { status: 'PARTIAL', exitCode: null, condition: true, output: { done: 3 } });
      await settle();
      expect(jobs.isRunning('cond')).toBe(true);
      expect(jobs.isRunning('onFail')).toBe(true);
      jobs.finish('cond', { status: 'SUCCESS' });
      jobs.finish('onFail', { status: 'SUCCESS' });
      expect(await handle.done).toBe('HANDLED_FAILURE');
      expect(recorder.status('A')).toBe('PARTIAL');
    });
  });

  describe('when steps join (A -> C, B -> C)', () => {
    it('starts the join only after every predecessor settled, with both outputs keyed by label', async () => {
      const { jobs, handle } = setup(plan([node('A'), node('B'), node('C')], [edge('A', 'C', 'ON_SUCCESS'), edge('B', 'C', 'ON_SUCCESS')]));
      await settle();
      expect(jobs.started.map((s) => s.node.id).sort()).toEqual(['A', 'B']);
      jobs.finish('A', { status: 'SUCCESS', output: { a: 1 } });
      await settle();
      expect(jobs.isRunning('C')).toBe(false);
      jobs.finish('B', { status: 'SUCCESS', output: 'b-out' });
      await settle();
      expect(jobs.inputOf('C')).toEqual({ A: { a: 1 }, B: 'b-out' });
      jobs.finish('C', { status: 'SUCCESS' });
      expect(await handle.done).toBe('SUCCESS');
    });

    it('runs the join when at least one incoming edge fired', async () => {
      const { jobs, handle } = setup(plan([node('A'), node('B'), node('C')], [edge('A', 'C', 'ON_SUCCESS'), edge('B', 'C', 'ON_SUCCESS'), edge('B', 'C', 'ON_FAILURE')]));
      await settle();
      jobs.finish('A', { status: 'FAILURE' });
      jobs.finish('B', { status: 'SUCCESS', output: 7 });
      await settle();
      // Only B's edge fired: C gets B's output as is. A failed with nothing handling it: the run fails.
      expect(jobs.inputOf('C')).toBe(7);
      jobs.finish('C', { status: 'SUCCESS' });
      expect(await handle.done).toBe('FAILURE');
    });
  });

  describe('when a branch is not taken', () => {
    it('skips everything downstream of a skipped step', async () => {
      const { jobs, recorder, handle } = setup(plan([node('A'), node('B'), node('C'), node('D')], [edge('A', 'B', 'ON_FAILURE'), edge('B', 'C'), edge('C', 'D')]));
      await settle();
      jobs.finish('A', { status: 'SUCCESS' });
      expect(await handle.done).toBe('SUCCESS');
      expect(['B', 'C', 'D'].map((id) => recorder.status(id))).toEqual(['SKIPPED', 'SKIPPED', 'SKIPPED']);
      expect(recorder.steps.get('C')!.reason).toMatch(/B was skipped/);
      expect(jobs.started.map((s) => s.node.id)).toEqual(['A']);
    });
  });

  describe('when outputs flow along a chain', () => {
    it("gives each step its predecessor's output as input, and the roots the run's input", async () => {
      const { jobs, handle } = setup(plan([node('A'), node('B')], [edge('A', 'B')]), { seed: 1 });
      await settle();
      expect(jobs.inputOf('A')).toEqual({ seed: 1 });
      jobs.finish('A', { status: 'SUCCESS', output: { rows: [1, 2] } });
      await settle();
      expect(jobs.inputOf('B')).toEqual({ rows: [1, 2] });
      expect(jobs.started[1]!.idempotencyKey).toBe('workflow:run-1:B');
      jobs.finish('B', { status: 'SUCCESS' });
      await handle.done;
    });
  });

  describe('when a step cannot be started', () => {
    it('fails that step with the reason and follows its failure edges', async () => {
      const { jobs, recorder, handle } = setup(plan([node('A'), node('B')], [edge('A', 'B', 'ON_FAILURE')]), undefined, ['A']);
      await settle();
      expect(recorder.status('A')).toBe('FAILURE');
      expect(recorder.steps.get('A')!.reason).toMatch(/could not be started: its server refused the connection/);
      jobs.finish('B', { status: 'SUCCESS' });
      expect(await handle.done).toBe('HANDLED_FAILURE');
    });
  });

  describe('when time runs out', () => {
    it('ends a step that outlives its timeout (plus grace) as TIMEOUT and fires its failure edges', async () => {
      const { clock, jobs, recorder, handle } = setup(plan([node('A', { timeoutSeconds: 30 }), node('B')], [edge('A', 'B', 'ON_FAILURE')]));
      await settle();
      await clock.advance(30_000 + STEP_DEADLINE_GRACE_MS - 1);
      expect(jobs.cancelled).toEqual([]);
      await clock.advance(1);
      await settle();
      expect(jobs.cancelled).toEqual(['job-A']);
      expect(recorder.status('A')).toBe('TIMEOUT');
      expect(recorder.steps.get('A')!.reason).toMatch(/did not finish within its timeout of 30 s/);
      expect(jobs.isRunning('B')).toBe(true);
      jobs.finish('B', { status: 'SUCCESS' });
      expect(await handle.done).toBe('HANDLED_FAILURE');
    });

    it('cancels running steps, skips the rest and ends the run TIMEOUT at the whole-run timeout', async () => {
      const { clock, jobs, recorder, handle } = setup(plan([node('A'), node('B'), node('C')], [edge('A', 'C'), edge('B', 'C')], 60));
      await settle();
      jobs.finish('A', { status: 'SUCCESS' });
      await clock.advance(59_999);
      expect(jobs.cancelled).toEqual([]);
      await clock.advance(1);
      expect(await handle.done).toBe('TIMEOUT');
      expect(jobs.cancelled).toEqual(['job-B']);
      expect(recorder.status('A')).toBe('SUCCESS');
      expect(recorder.status('B')).toBe('TIMEOUT');
      expect(recorder.status('C')).toBe('SKIPPED');
      expect(recorder.run!.reason).toMatch(/within its timeout of 60 s/);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('when the user cancels the run', () => {
    it('cancels the running steps and skips the waiting ones', async () => {
      const { jobs, recorder, handle } = setup(plan([node('A'), node('B')], [edge('A', 'B')]));
      await settle();
      await handle.cancel();
      expect(await handle.done).toBe('CANCELLED');
      expect(recorder.status('A')).toBe('CANCELLED');
      expect(recorder.status('B')).toBe('SKIPPED');
      expect(jobs.started).toHaveLength(1);
    });
  });
});
