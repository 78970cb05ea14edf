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
 * - Run status: CANCELLED or TIMEOUT as above; INTERRUPTED when a step could not survive Cronium stopping (no edge
 *   fires from it; the user resumes the run from a step); FAILURE when some step ended other than SUCCESS and none of
 *   its outgoing edges fired (nothing handled it); HANDLED_FAILURE ("succeeded with a handled failure") when steps
 *   ended other than SUCCESS but each had an outgoing edge that fired; otherwise SUCCESS.
 * - Quitting detaches (detach()): nothing is cancelled or recorded, the run and its running steps stay RUNNING, and
 *   the next start resumes it (resume()): recorded ends are replayed without writing, running steps wait for their
 *   (re-attached) jobs, and the steps after them run as the graph says.
 */
import { messageOf } from '../errors';
import type { Clock } from '../clock';
import type { WorkflowRunStatus, WorkflowStepStatus } from '../../../src-shared/contract/workflows';
import { evaluateCondition } from './workflow-condition';
import type { PlanEdge, PlanNode, WorkflowPlan } from './workflow-graph';

export type StepEndStatus = 'SUCCESS' | 'FAILURE' | 'TIMEOUT' | 'CANCELLED' | 'PARTIAL' | 'INTERRUPTED';

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
  /** Resolves with the final status once the run and everything it recorded have settled (never, once detached). */
  readonly done: Promise<Exclude<WorkflowRunStatus, 'RUNNING'>>;
  /** Cancels the run: running steps are cancelled, the rest skipped; resolves when it has ended. */
  cancel(reason?: string): Promise<void>;
  /** The app is quitting: stop driving the run without cancelling or recording anything; resolves once writes settled. */
  detach(): Promise<void>;
}

/** A step as a previous life of the run recorded it (what resume() starts from). */
export interface PriorStep {
  status: WorkflowStepStatus;
  jobId: string | null;
  input?: unknown;
  output?: unknown;
  condition: boolean | null;
  reason: string | null;
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
  if (result.status === 'INTERRUPTED') return { fires: false, why: 'it was interrupted when Cronium stopped' };
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
  private detached = false;
  /** The step a user resume starts from: it runs even if no edge into it fired. */
  private forced: string | null = null;

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

  /**
   * Continues a run from what was recorded: ended and skipped steps are replayed (no write), their edges release the
   * steps after them; running steps with a job wait for it (re-attached runner jobs); running steps without one start
   * again (the idempotency key keeps a job already created from being created twice). `forceFrom`: a user resume.
   */
  resume(prior: Map<string, PriorStep>, forceFrom: string | null): void {
    this.forced = forceFrom;
    if (this.plan.timeoutSeconds !== null) {
      const seconds = this.plan.timeoutSeconds;
      this.runDeadline = this.deps.clock.setTimeout(
        () => this.end('TIMEOUT', `the workflow did not finish within its timeout of ${seconds} s (counted again from its resume)`),
        seconds * 1000,
      );
    }
    const settled: StepState[] = [];
    const attach: StepState[] = [];
    for (const step of this.steps.values()) {
      const p = prior.get(step.node.id);
      if (!p) continue;
      step.input = p.input;
      if (p.status === 'WAITING') continue;
      step.jobId = p.jobId;
      if (p.status === 'RUNNING') {
        step.status = 'RUNNING';
        attach.push(step);
        continue;
      }
      step.status = p.status;
      if (p.status !== 'SKIPPED') {
        step.result = { status: p.status, exitCode: null, condition: p.condition, reason: p.reason, ...(p.output !== undefined ? { output: p.output } : {}) };
      }
      settled.push(step);
    }
    for (const step of settled) {
      if (step.result) this.release(step, step.result);
      else this.releaseSkipped(step);
    }
    for (const step of attach) {
      if (step.jobId) this.follow(step, step.jobId);
      else this.launch(step, step.input);
    }
    const forced = forceFrom ? this.steps.get(forceFrom) : undefined;
    if (forced && forced.status === 'WAITING' && forced.incoming.length === 0) this.launch(forced, forced.input ?? this.input);
    this.finishIfSettled();
  }

  detach(): Promise<void> {
    this.detached = true;
    this.runDeadline?.cancel();
    for (const step of this.steps.values()) step.deadline?.cancel();
    return this.chain;
  }

  cancel(reason = 'cancelled by the user'): Promise<void> {
    this.end('CANCELLED', reason);
    return this.done.then(() => undefined);
  }

  /** Records in order; a failed write is logged and the run goes on (the next write or reconcile repairs it). */
  private record(write: () => Promise<void>): void {
    if (this.detached) return;
    this.chain = this.chain
      .then(write)
      .catch((err) => console.error(`[workflows] run ${this.runId}: recording a change failed:`, err))
      .then(() => this.deps.onChanged?.(this.runId));
  }

  private now(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  private launch(step: StepState, input: unknown): void {
    if (this.detached) return;
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

  /** A step resumed with its job already created (e.g. a runner job re-attached after a restart): wait for its end. */
  private follow(step: StepState, jobId: string): void {
    const node = step.node;
    if (node.timeoutSeconds !== null) {
      const seconds = node.timeoutSeconds;
      step.deadline = this.deps.clock.setTimeout(
        () => this.interrupt(step, { status: 'TIMEOUT', reason: `the step did not finish within its timeout of ${seconds} s` }),
        seconds * 1000 + STEP_DEADLINE_GRACE_MS,
      );
    }
    void (async () => {
      let result: StepJobResult;
      try {
        result = await this.deps.jobs.wait(jobId);
      } catch (err) {
        result = { status: 'FAILURE', exitCode: null, condition: null, reason: `the step's job could not be followed after the restart: ${messageOf(err)}` };
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
    if (this.detached) return;
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
    this.release(step, result);
    this.finishIfSettled();
  }

  /** Fires or not each outgoing edge of an ended step, and lets the steps after it start or be skipped. */
  private release(step: StepState, result: StepJobResult): void {
    const node = step.node;
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
  }

  private skip(step: StepState, reason: string): void {
    if (this.detached) return;
    step.status = 'SKIPPED';
    const node = step.node;
    const at = this.now();
    this.record(() => this.deps.recorder.stepEnded(this.runId, node.id, { status: 'SKIPPED', condition: null, reason, at }));
    this.releaseSkipped(step);
  }

  private releaseSkipped(step: StepState): void {
    const node = step.node;
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
    if (step.node.id === this.forced && !this.ending) {
      this.launch(step, this.inputFrom(step.fired.length > 0 ? step.fired : this.predecessorOutputs(step)));
    } else if (this.ending) {
      this.skip(step, `not started: ${this.ending.reason}`);
    } else if (step.fired.length === 0) {
      this.skip(step, `no connection into this step fired: ${step.notFired.join('; ') || 'none of its predecessors ran'}`);
    } else {
      this.launch(step, this.inputFrom(step.fired));
    }
  }

  /** Every predecessor's output (a forced step that no edge released still gets what came before it). */
  private predecessorOutputs(step: StepState): Array<{ from: PlanNode; output: unknown }> {
    const sources = [...new Set(step.incoming.map((e) => e.source))];
    return sources.map((id) => this.steps.get(id)!).map((p) => ({ from: p.node, output: p.result?.output }));
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
    if (this.finished || this.detached) return;
    for (const step of this.steps.values()) if (step.status === 'WAITING' || step.status === 'RUNNING') return;
    this.finished = true;
    this.runDeadline?.cancel();
    let status: Exclude<WorkflowRunStatus, 'RUNNING'>;
    let reason: string | null = null;
    if (this.ending) {
      status = this.ending.status;
      reason = this.ending.reason;
    } else if ([...this.steps.values()].some((s) => s.status === 'INTERRUPTED')) {
      status = 'INTERRUPTED';
      const interrupted = [...this.steps.values()].filter((s) => s.status === 'INTERRUPTED');
      reason = `${interrupted.map((s) => `${s.node.label} was interrupted${s.result?.reason ? ` (${s.result.reason})` : ''}`).join('; ')}; resume the run from a step to go on`;
    } else {
      const failed = [...this.steps.values()].filter((s) => s.result && s.result.status !== 'SUCCESS');
      const unhandled = failed.filter((s) => !s.handled);
      const ended = (s: StepState) => `${s.node.label} ended ${s.result!.status}${s.result!.reason ? ` (${s.result!.reason})` : ''}`;
      // A step that failed is never hidden behind a plain SUCCESS: handled failures get their own status and reason.
      status = unhandled.length > 0 ? 'FAILURE' : failed.length > 0 ? 'HANDLED_FAILURE' : 'SUCCESS';
      if (unhandled.length > 0) reason = unhandled.map(ended).join('; ');
      else if (failed.length > 0) reason = `${failed.map(ended).join('; ')}; handled by the workflow's failure or condition connections`;
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

  /** Continues a RUNNING run from its recorded steps (after a restart, or a user resume from `forceFrom`). */
  resume(plan: WorkflowPlan, runId: string, prior: Map<string, PriorStep>, forceFrom: string | null = null): RunHandle {
    const run = new RunExecution(runId, plan, undefined, this.deps);
    run.resume(prior, forceFrom);
    return run;
  }
}
