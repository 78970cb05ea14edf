/**
 * WorkflowExecutor: runs one workflow run over its DAG. It owns which step starts when, what each step receives as
 * input, which edges fire, which steps are skipped, the per-step and whole-run deadlines and the run's final status.
 * It never runs a script itself (the WorkflowJobRunner port does, through the JobService) and never writes the
 * database itself (the RunRecorder port does, in the order the changes happened).
 *
 * Rules (the Workflows pane's help repeats them):
 * - Edges fire on the source step's end: ALWAYS on any end; ON_SUCCESS on SUCCESS; ON_FAILURE on FAILURE, TIMEOUT and
 *   PARTIAL (an interrupted step did not succeed, whatever it printed); ON_CONDITION when its condition is true: the
 *   expression (workflow-condition.ts) or, with none, the value the step set with setCondition(). A condition is
 *   evaluated on whatever the step produced, so an interrupted (PARTIAL) step is judged on the condition and output
 *   it had set by then. A CANCELLED step fires only ALWAYS edges.
 * - Join: a step starts once every predecessor has settled (ended or been skipped) and at least one incoming edge
 *   fired. If every predecessor settled and none of its edges fired, the step is SKIPPED, and so on downstream.
 * - Input: a step with one fired incoming edge gets that predecessor's output; with several, an object keyed by each
 *   of those predecessors' labels (their node id when two labels are the same). Roots get the run's input.
 * - Timeouts: a step's timeoutSeconds goes to its job (the script's limit); the executor also gives the whole step,
 *   queueing and runner deployment included, that long plus STEP_DEADLINE_GRACE_MS, then cancels it (TIMEOUT). The
 *   whole-run timeout cancels every running step (they end TIMEOUT), skips the rest, and ends the run TIMEOUT.
 * - Run status: CANCELLED or TIMEOUT as above; FAILURE when some step ended other than SUCCESS and none of its
 *   outgoing edges fired (nothing handled it); otherwise SUCCESS.
 */
import { messageOf } from '../errors';
import type { Clock } from '../clock';
import type { WorkflowRunStatus, WorkflowStepStatus } from '../../../src-shared/contract/workflows';
import { evaluateCondition } from './workflow-condition';
import type { PlanEdge, PlanNode, WorkflowPlan } from './workflow-graph';

export type StepEndStatus = 'SUCCESS' | 'FAILURE' | 'TIMEOUT' | 'CANCELLED' | 'PARTIAL';

export interface StepJobRequest {
  runId: string;
  node: PlanNode;
  input: unknown;
  /** Stable per run and node: a restart or a retry of the start never creates the step's job twice. */
  idempotencyKey: string;
}

export interface StepJobResult {
  status: StepEndStatus;
  exitCode: number | null;
  output?: unknown;
  condition: boolean | null;
  reason: string | null;
}

/** How steps become jobs: the app's adapter goes through core.jobs (and core.runners for runner steps). */
export interface WorkflowJobRunner {
  /** Creates the step's job; throws (with a message for the step's reason) when it cannot be started. */
  start(req: StepJobRequest): Promise<{ jobId: string }>;
  /** Resolves once the job has ended. */
  wait(jobId: string): Promise<StepJobResult>;
  cancel(jobId: string): Promise<void>;
}

/** Where a run's progress is kept. Called in order, one call at a time per run. */
export interface RunRecorder {
  stepStarted(runId: string, nodeId: string, change: { jobId: string | null; input: unknown; at: string }): Promise<void>;
  stepEnded(
    runId: string,
    nodeId: string,
    change: { status: WorkflowStepStatus; output?: unknown; condition: boolean | null; reason: string | null; at: string },
  ): Promise<void>;
  runEnded(runId: string, change: { status: Exclude<WorkflowRunStatus, 'RUNNING'>; reason: string | null; at: string }): Promise<void>;
}

/** Extra time a step gets beyond its timeout before the executor cancels it, so the job's own TIMEOUT comes first. */
export const STEP_DEADLINE_GRACE_MS = 15_000;

export interface RunHandle {
  readonly runId: string;
  /** Resolves with the final status once the run and everything it recorded have settled. */
  readonly done: Promise<Exclude<WorkflowRunStatus, 'RUNNING'>>;
  /** Cancels the run: running steps are cancelled, the rest skipped; resolves when it has ended. */
  cancel(reason?: string): Promise<void>;
}

export interface WorkflowExecutorDeps {
  clock: Clock;
  jobs: WorkflowJobRunner;
  recorder: RunRecorder;
  /** After every recorded change of a run (to push 'workflows/runChanged'). */
  onChanged?: (runId: string) => void;
}

const FAILURE_LIKE: ReadonlySet<StepEndStatus> = new Set(['FAILURE', 'TIMEOUT', 'PARTIAL']);

/** Whether an edge fires for its source step's result; `why` says why not (or why a condition failed to evaluate). */
export function edgeFires(edge: PlanEdge, result: StepJobResult, input: unknown): { fires: boolean; why?: string } {
  switch (edge.kind) {
    case 'ALWAYS':
      return { fires: true };
    case 'ON_SUCCESS':
      return result.status === 'SUCCESS' ? { fires: true } : { fires: false, why: `it ended ${result.status} (edge on success)` };
    case 'ON_FAILURE':
      return FAILURE_LIKE.has(result.status) ? { fires: true } : { fires: false, why: `it ended ${result.status} (edge on failure)` };
    case 'ON_CONDITION': {
      if (result.status === 'CANCELLED') return { fires: false, why: 'it was cancelled (edge on condition)' };
      if (!edge.condition) {
        return result.condition === true
          ? { fires: true }
          : { fires: false, why: result.condition === null ? 'it never called setCondition (edge on condition)' : 'its condition was false' };
      }
      const { value, error } = evaluateCondition(edge.condition, {
        status: result.status,
        exitCode: result.exitCode,
        output: result.output,
        condition: result.condition,
        input,
      });
      if (value) return { fires: true };
      return { fires: false, why: error ? `${error} (${edge.condition})` : `the condition ${edge.condition} was false` };
    }
  }
}

interface StepState {
  node: PlanNode;
  status: WorkflowStepStatus;
  incoming: PlanEdge[];
  outgoing: PlanEdge[];
  settledPredecessors: Set<string>;
  fired: Array<{ from: PlanNode; output: unknown }>;
  notFired: string[];
  input: unknown;
  jobId: string | null;
  result: StepJobResult | null;
  deadline: { cancel(): void } | null;
  /** Set when the executor ended the step itself (deadline, run timeout, run cancel): the status it ends with. */
  endedBy: { status: StepEndStatus; reason: string } | null;
  /** Whether at least one outgoing edge fired: a failure nothing handles fails the run. */
  handled: boolean;
}

class RunExecution implements RunHandle {
  readonly done: Promise<Exclude<WorkflowRunStatus, 'RUNNING'>>;
  private readonly steps = new Map<string, StepState>();
  private chain: Promise<void> = Promise.resolve();
  private ending: { status: 'TIMEOUT' | 'CANCELLED'; reason: string } | null = null;
  private runDeadline: { cancel(): void } | null = null;
  private resolveDone!: (status: Exclude<WorkflowRunStatus, 'RUNNING'>) => void;
  private finished = false;

  constructor(
    readonly runId: string,
    private readonly plan: WorkflowPlan,
    private readonly input: unknown,
    private readonly deps: WorkflowExecutorDeps,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    for (const node of plan.nodes) {
      this.steps.set(node.id, {
        node, status: 'WAITING', incoming: [], outgoing: [], settledPredecessors: new Set(), fired: [], notFired: [],
        input: undefined, jobId: null, result: null, deadline: null, endedBy: null, handled: false,
      });
    }
    for (const edge of plan.edges) {
      this.steps.get(edge.source)?.outgoing.push(edge);
      this.steps.get(edge.target)?.incoming.push(edge);
    }
  }

  begin(): void {
    if (this.plan.timeoutSeconds !== null) {
      const seconds = this.plan.timeoutSeconds;
      this.runDeadline = this.deps.clock.setTimeout(
        () => this.end('TIMEOUT', `the workflow did not finish within its timeout of ${seconds} s`),
        seconds * 1000,
      );
    }
    const roots = [...this.steps.values()].filter((s) => s.incoming.length === 0);
    if (roots.length === 0) {
      this.finishIfSettled();
      return;
    }
    for (const step of roots) this.launch(step, this.input);
  }

  cancel(reason = 'cancelled by the user'): Promise<void> {
    this.end('CANCELLED', reason);
    return this.done.then(() => undefined);
  }

  /** Records in order; a failed write is logged and the run goes on (the next write or reconcile repairs it). */
  private record(write: () => Promise<void>): void {
    this.chain = this.chain
      .then(write)
      .catch((err) => console.error(`[workflows] run ${this.runId}: recording a change failed:`, err))
      .then(() => this.deps.onChanged?.(this.runId));
  }

  private now(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  private launch(step: StepState, input: unknown): void {
    step.status = 'RUNNING';
    step.input = input;
    const startedAt = this.now();
    const node = step.node;
    const grace = STEP_DEADLINE_GRACE_MS;
    if (node.timeoutSeconds !== null) {
      const seconds = node.timeoutSeconds;
      step.deadline = this.deps.clock.setTimeout(
        () => this.interrupt(step, { status: 'TIMEOUT', reason: `the step did not finish within its timeout of ${seconds} s` }),
        seconds * 1000 + grace,
      );
    }
    void (async () => {
      let result: StepJobResult;
      try {
        const { jobId } = await this.deps.jobs.start({ runId: this.runId, node, input, idempotencyKey: `workflow:${this.runId}:${node.id}` });
        step.jobId = jobId;
        this.record(() => this.deps.recorder.stepStarted(this.runId, node.id, { jobId, input, at: startedAt }));
        // Ended by a deadline or the run's end while the job was being created: cancel it now.
        if (step.endedBy) void this.deps.jobs.cancel(jobId).catch(() => undefined);
        result = await this.deps.jobs.wait(jobId);
      } catch (err) {
        if (step.jobId === null) this.record(() => this.deps.recorder.stepStarted(this.runId, node.id, { jobId: null, input, at: startedAt }));
        result = { status: 'FAILURE', exitCode: null, condition: null, reason: `the step could not be started: ${messageOf(err)}` };
      }
      this.settle(step, result);
    })();
  }

  /** The executor ends a step itself (deadline, run timeout, cancel): cancel its job; its end arrives through wait(). */
  private interrupt(step: StepState, endedBy: { status: StepEndStatus; reason: string }): void {
    if (step.status !== 'RUNNING' || step.endedBy) return;
    step.endedBy = endedBy;
    if (step.jobId) void this.deps.jobs.cancel(step.jobId).catch(() => undefined);
  }

  private settle(step: StepState, jobResult: StepJobResult): void {
    step.deadline?.cancel();
    // A job the executor cancelled ends CANCELLED; the step says why (TIMEOUT). Its condition and output are kept.
    const result: StepJobResult =
      step.endedBy && (jobResult.status === 'CANCELLED' || jobResult.status === 'FAILURE')
        ? { ...jobResult, status: step.endedBy.status, reason: step.endedBy.reason }
        : jobResult;
    step.result = result;
    step.status = result.status;
    const node = step.node;
    const at = this.now(); // now, not when the write runs: a step it releases must not seem to start before it ended
    this.record(() =>
      this.deps.recorder.stepEnded(this.runId, node.id, {
        status: result.status, output: result.output, condition: result.condition, reason: result.reason, at,
      }),
    );
    for (const edge of step.outgoing) {
      const target = this.steps.get(edge.target)!;
      const { fires, why } = this.ending ? { fires: false, why: undefined } : edgeFires(edge, result, step.input);
      if (fires) {
        step.handled = true;
        target.fired.push({ from: node, output: result.output });
      } else if (why) {
        target.notFired.push(`${node.label}: ${why}`);
      }
      this.predecessorSettled(target, node.id);
    }
    this.finishIfSettled();
  }

  private skip(step: StepState, reason: string): void {
    step.status = 'SKIPPED';
    const node = step.node;
    const at = this.now();
    this.record(() => this.deps.recorder.stepEnded(this.runId, node.id, { status: 'SKIPPED', condition: null, reason, at }));
    for (const edge of step.outgoing) {
      const target = this.steps.get(edge.target)!;
      target.notFired.push(`${node.label} was skipped`);
      this.predecessorSettled(target, node.id);
    }
  }

  private predecessorSettled(step: StepState, from: string): void {
    step.settledPredecessors.add(from);
    const predecessors = new Set(step.incoming.map((e) => e.source));
    if (step.status !== 'WAITING' || step.settledPredecessors.size < predecessors.size) return;
    if (this.ending) {
      this.skip(step, `not started: ${this.ending.reason}`);
    } else if (step.fired.length === 0) {
      this.skip(step, `no connection into this step fired: ${step.notFired.join('; ') || 'none of its predecessors ran'}`);
    } else {
      this.launch(step, this.inputFrom(step.fired));
    }
  }

  private inputFrom(fired: Array<{ from: PlanNode; output: unknown }>): unknown {
    if (fired.length === 1) return fired[0]!.output;
    const labels = fired.map((f) => f.from.label);
    const input: Record<string, unknown> = {};
    for (const f of fired) {
      const unique = labels.filter((l) => l === f.from.label).length === 1;
      input[unique ? f.from.label : f.from.id] = f.output ?? null;
    }
    return input;
  }

  private end(status: 'TIMEOUT' | 'CANCELLED', reason: string): void {
    if (this.ending || this.finished) return;
    this.ending = { status, reason };
    this.runDeadline?.cancel();
    const stepStatus: StepEndStatus = status === 'TIMEOUT' ? 'TIMEOUT' : 'CANCELLED';
    for (const step of this.steps.values()) if (step.status === 'RUNNING') this.interrupt(step, { status: stepStatus, reason });
    // Steps waiting on running ones are skipped when those settle; steps whose predecessors all settled already ran.
    this.finishIfSettled();
  }

  private finishIfSettled(): void {
    if (this.finished) return;
    for (const step of this.steps.values()) if (step.status === 'WAITING' || step.status === 'RUNNING') return;
    this.finished = true;
    this.runDeadline?.cancel();
    let status: Exclude<WorkflowRunStatus, 'RUNNING'>;
    let reason: string | null = null;
    if (this.ending) {
      status = this.ending.status;
      reason = this.ending.reason;
    } else {
      const unhandled = [...this.steps.values()].filter((s) => s.result && s.result.status !== 'SUCCESS' && !s.handled);
      status = unhandled.length > 0 ? 'FAILURE' : 'SUCCESS';
      if (unhandled.length > 0) {
        reason = unhandled.map((s) => `${s.node.label} ended ${s.result!.status}${s.result!.reason ? ` (${s.result!.reason})` : ''}`).join('; ');
      }
    }
    const at = this.now();
    this.record(() => this.deps.recorder.runEnded(this.runId, { status, reason, at }));
    void this.chain.then(() => this.resolveDone(status));
  }
}

export class WorkflowExecutor {
  constructor(private readonly deps: WorkflowExecutorDeps) {}

  /** Starts a run whose row and WAITING steps already exist; returns at once. */
  start(plan: WorkflowPlan, runId: string, input?: unknown): RunHandle {
    const run = new RunExecution(runId, plan, input, this.deps);
    run.begin();
    return run;
  }
}
