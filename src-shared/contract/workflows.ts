/**
 * Workflows: a DAG of event steps joined by typed edges (ALWAYS, ON_SUCCESS, ON_FAILURE, ON_CONDITION), its runs and
 * each step's run. Pure schemas: whether events exist, whether the graph has a cycle and whether a condition parses
 * are decided in the main process (src-main/core/workflows) and reported as INVALID_WORKFLOW with per-item fields
 * ("nodes.<id>", "edges.<id>", "graph") so the editor can put each message on the graph where it belongs.
 */
import { z } from 'zod';
import { call, Ok } from './define';
import { SelectableExecutionMode } from './settings';
import { RunnerRequirements } from './events';
import { ParameterValues } from './run-parameters';
import { ScheduleSettingsFields, ScheduleSettingsViewFields } from './schedule';

export const WorkflowEdgeKind = z.enum(['ALWAYS', 'ON_SUCCESS', 'ON_FAILURE', 'ON_CONDITION']);
export type WorkflowEdgeKind = z.infer<typeof WorkflowEdgeKind>;

/** Node and edge ids are chosen by the editor (any short string), so a graph can be drawn before it is saved. */
const ItemId = z.string().trim().min(1).max(64);

export const WorkflowNodeInput = z.object({
  id: ItemId,
  eventId: z.string().min(1, 'choose an event for this step'),
  /** null = the event's first server. */
  serverId: z.string().min(1).nullable().default(null),
  /** Shown on the graph and used as the key of this step's output when a join step receives several inputs. */
  label: z.string().trim().max(100).nullable().default(null),
  /** null = the event's own execution mode. */
  executionMode: SelectableExecutionMode.nullable().default(null),
  /** null = the event's own requirements. */
  runnerRequirements: RunnerRequirements.nullable().default(null),
  /** Per-step timeout; null = the event's timeout. */
  timeoutSeconds: z.number().int().min(1, 'at least 1 second').max(7 * 86400, 'at most 7 days').nullable().default(null),
  /** Values of the event's run-time parameters for this step (non-secret options only; defaults fill the rest). */
  parameters: ParameterValues.default({}),
  position: z.object({ x: z.number().finite(), y: z.number().finite() }).default({ x: 0, y: 0 }),
});
export type WorkflowNodeInput = z.input<typeof WorkflowNodeInput>;

export const WorkflowEdgeInput = z.object({
  id: ItemId,
  source: ItemId,
  target: ItemId,
  kind: WorkflowEdgeKind,
  /**
   * ON_CONDITION only. Empty = the value the source step set with setCondition(). Otherwise a CEL expression over
   * `status` (string), `exitCode` (int, or null when the process never exited), `output` (the step's output()),
   * `condition` (setCondition's value or null) and `input`, e.g. `exitCode == 0 && output.count > 3`.
   */
  condition: z.string().trim().max(2000).nullable().default(null),
});
export type WorkflowEdgeInput = z.input<typeof WorkflowEdgeInput>;

export const WorkflowInput = z.object({
  id: z.string().min(1).optional(),
  name: z.string().trim().min(1, 'give the workflow a name').max(200),
  description: z.string().max(4000).default(''),
  nodes: z.array(WorkflowNodeInput).max(200, 'at most 200 steps'),
  edges: z.array(WorkflowEdgeInput).max(1000),
  /** Whole-run timeout: running steps are cancelled and the run ends TIMEOUT. null = none. */
  timeoutSeconds: z.number().int().min(1).max(30 * 86400).nullable().default(null),
  ...ScheduleSettingsFields,
});
export type WorkflowInput = z.input<typeof WorkflowInput>;

export const WorkflowNodeView = WorkflowNodeInput.extend({
  eventName: z.string().nullable(),
  serverName: z.string().nullable(),
});
export type WorkflowNodeView = z.infer<typeof WorkflowNodeView>;

/**
 * INTERRUPTED: a step could not survive Cronium stopping (a direct-ssh job ends with its connection); resume the run from a step.
 * HANDLED_FAILURE: the run succeeded with a handled failure (a step failed and a failure/condition connection took over);
 * a run in which a step failed is never reported as plain SUCCESS.
 */
export const WorkflowRunStatus = z.enum(['RUNNING', 'SUCCESS', 'HANDLED_FAILURE', 'FAILURE', 'TIMEOUT', 'CANCELLED', 'INTERRUPTED']);
export type WorkflowRunStatus = z.infer<typeof WorkflowRunStatus>;

export const WorkflowStepStatus = z.enum(['WAITING', 'RUNNING', 'SUCCESS', 'FAILURE', 'TIMEOUT', 'CANCELLED', 'PARTIAL', 'SKIPPED', 'INTERRUPTED']);
export type WorkflowStepStatus = z.infer<typeof WorkflowStepStatus>;

export const WorkflowView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  nodes: z.array(WorkflowNodeView),
  edges: z.array(WorkflowEdgeInput.extend({ condition: z.string().nullable() })),
  timeoutSeconds: z.number().int().nullable(),
  ...ScheduleSettingsViewFields,
  version: z.number().int(),
  nextRunAt: z.string().nullable(),
  lastRun: z.object({ id: z.string(), status: WorkflowRunStatus, startedAt: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type WorkflowView = z.infer<typeof WorkflowView>;

export const WorkflowStepRunView = z.object({
  id: z.string(),
  nodeId: z.string(),
  jobId: z.string().nullable(),
  /** The step's current log (opens in the Logs pane). */
  logId: z.string().nullable(),
  status: WorkflowStepStatus,
  input: z.unknown().optional(),
  output: z.unknown().optional(),
  condition: z.boolean().nullable(),
  exitCode: z.number().int().nullable(),
  reason: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type WorkflowStepRunView = z.infer<typeof WorkflowStepRunView>;

export const WorkflowRunView = z.object({
  id: z.string(),
  workflowId: z.string(),
  workflowVersion: z.number().int(),
  status: WorkflowRunStatus,
  trigger: z.enum(['manual', 'schedule']),
  reason: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  steps: z.array(WorkflowStepRunView),
});
export type WorkflowRunView = z.infer<typeof WorkflowRunView>;

export const WorkflowRunSummary = WorkflowRunView.omit({ steps: true });
export type WorkflowRunSummary = z.infer<typeof WorkflowRunSummary>;

const ById = z.object({ id: z.string().min(1) });

export const workflowsCalls = {
  'workflows/list': call(z.object({}).strict().optional(), z.array(WorkflowView)),
  'workflows/get': call(ById, WorkflowView),
  /** Creates or replaces the graph; the version goes up by one. Refused with INVALID_WORKFLOW and fields per item. */
  'workflows/save': call(WorkflowInput, WorkflowView),
  'workflows/delete': call(ById, Ok),
  /** Starts a manual run and returns it at once (its steps move on through 'workflows/runChanged'). */
  'workflows/run': call(ById, WorkflowRunView),
  'workflows/cancelRun': call(z.object({ runId: z.string().min(1) }), WorkflowRunView),
  /**
   * Starts a new run of an ended run's workflow from the chosen step: that step and every step after it run again;
   * the other steps keep their recorded status and output (their outputs feed the steps that run).
   */
  'workflows/resumeRun': call(z.object({ runId: z.string().min(1), fromNodeId: z.string().min(1) }), WorkflowRunView),
  /** Run history, newest first. */
  'workflows/runs': call(
    z.object({ id: z.string().min(1), limit: z.number().int().min(1).max(500).default(50) }),
    z.array(WorkflowRunSummary),
  ),
  'workflows/runDetail': call(z.object({ runId: z.string().min(1) }), WorkflowRunView),
};

export const workflowsEvents = {
  'workflows/changed': z.object({ workflow: WorkflowView.nullable(), deletedId: z.string().optional() }),
  /** A run or one of its steps changed (pushed live while it runs). */
  'workflows/runChanged': z.object({ run: WorkflowRunView }),
};
