/**
 * WorkflowStore: the workflow tables (workflows, workflow_nodes, workflow_edges, workflow_runs, workflow_step_runs)
 * read and written in one place, and the RunRecorder the executor writes a run's progress through. It never checks a
 * graph (workflow-graph.ts and the service do) and never starts a run.
 * workflows.schedule holds JSON { spec, misfirePolicy, overlapPolicy }: a workflow's schedule with its policies, so the
 * base schema needs no extra columns for them.
 */
import { sql } from 'kysely';
import type { AppDatabase } from '../db/database';
import { newId } from '../db/ids';
import { parseJsonColumn } from '../db/json-column';
import type { Row } from '../db/schema';
import { AppError } from '../errors';
import type { RunnerRequirements } from '../../../src-shared/contract/events';
import type { ParameterValue } from '../../../src-shared/contract/run-parameters';
import type { MisfirePolicy, OverlapPolicy, ScheduleSpec } from '../../../src-shared/contract/schedule';
import type { SelectableExecutionMode } from '../../../src-shared/contract/settings';
import type { z } from 'zod';
import type {
  WorkflowEdgeKind,
  WorkflowRunStatus,
  WorkflowRunSummary,
  WorkflowRunView,
  WorkflowStepRunView,
  WorkflowStepStatus,
  WorkflowView,
} from '../../../src-shared/contract/workflows';
import type { RunRecorder } from './workflow-executor';
import type { PlanNode, WorkflowPlan } from './workflow-graph';

export interface StoredSchedule {
  spec: ScheduleSpec;
  misfirePolicy: MisfirePolicy;
  overlapPolicy: OverlapPolicy;
}

/** A checked workflow ready to write (server ids resolved, ids unique). */
export interface WorkflowRecord {
  id: string;
  name: string;
  description: string;
  timeoutSeconds: number | null;
  schedule: StoredSchedule | null;
  timeZone: string | null;
  enabled: boolean;
  nodes: Array<{
    id: string;
    eventId: string;
    serverId: string;
    label: string | null;
    executionMode: z.infer<typeof SelectableExecutionMode> | null;
    runnerRequirements: RunnerRequirements | null;
    timeoutSeconds: number | null;
    parameters: Record<string, ParameterValue>;
    position: { x: number; y: number };
  }>;
  edges: Array<{ id: string; source: string; target: string; kind: WorkflowEdgeKind; condition: string | null }>;
}

/** undefined stays undefined (SQL NULL); anything else is stored as JSON text. */
function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/**
 * Names of the workflows with a step that runs this event or on this server, sorted: what deleting it would break.
 * Event and server deletion both ask this, so the join lives here next to the workflow tables.
 */
export async function workflowsUsing(db: AppDatabase, ref: { eventId: string } | { serverId: string }): Promise<string[]> {
  const [column, id] = 'eventId' in ref ? (['workflow_nodes.event_id', ref.eventId] as const) : (['workflow_nodes.server_id', ref.serverId] as const);
  const rows = await db.kysely
    .selectFrom('workflow_nodes')
    .innerJoin('workflows', 'workflows.id', 'workflow_nodes.workflow_id')
    .select('workflows.name')
    .distinct()
    .where(column, '=', id)
    .orderBy('workflows.name')
    .execute();
  return rows.map((r) => r.name);
}

/** The input a workflow step gave its job (JSON text), or null when the job is not a step or had none. */
export async function stepInputOfJob(db: AppDatabase, jobId: string): Promise<string | null> {
  const row = await db.kysely.selectFrom('workflow_step_runs').select('input').where('job_id', '=', jobId).executeTakeFirst();
  return row?.input ?? null;
}

export class WorkflowStore implements RunRecorder {
  constructor(private readonly db: AppDatabase) {}

  async row(id: string): Promise<Row<'workflows'>> {
    const row = await this.db.kysely.selectFrom('workflows').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('WORKFLOW_NOT_FOUND', `there is no workflow ${id}; it may have been deleted`);
    return row;
  }

  /** Enabled workflows that have a schedule (what the scheduler loads at start). */
  scheduled(): Promise<Array<Pick<Row<'workflows'>, 'id' | 'schedule' | 'time_zone' | 'updated_at'>>> {
    return this.db.kysely
      .selectFrom('workflows')
      .select(['id', 'schedule', 'time_zone', 'updated_at'])
      .where('schedule', 'is not', null)
      .where('enabled', '=', 1)
      .execute();
  }

  async ids(): Promise<string[]> {
    return (await this.db.kysely.selectFrom('workflows').select('id').orderBy('name').execute()).map((r) => r.id);
  }

  /** Node ids already used by other workflows (ids are global keys in workflow_nodes). */
  async foreignNodeIds(workflowId: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.kysely.selectFrom('workflow_nodes').select('id').where('id', 'in', ids).where('workflow_id', '!=', workflowId).execute();
    return rows.map((r) => r.id);
  }

  async foreignEdgeIds(workflowId: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.kysely.selectFrom('workflow_edges').select('id').where('id', 'in', ids).where('workflow_id', '!=', workflowId).execute();
    return rows.map((r) => r.id);
  }

  /** Creates or replaces the workflow and its graph in one transaction; the version goes up by one on every save. */
  async write(rec: WorkflowRecord, at: string): Promise<void> {
    await this.db.kysely.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('workflows').select(['version']).where('id', '=', rec.id).executeTakeFirst();
      const values = {
        name: rec.name,
        description: rec.description,
        schedule: rec.schedule ? JSON.stringify(rec.schedule) : null,
        time_zone: rec.timeZone,
        timeout_seconds: rec.timeoutSeconds,
        enabled: rec.enabled ? 1 : 0,
        updated_at: at,
      };
      if (existing) {
        await trx.updateTable('workflows').set({ ...values, version: existing.version + 1 }).where('id', '=', rec.id).execute();
        await trx.deleteFrom('workflow_edges').where('workflow_id', '=', rec.id).execute();
        await trx.deleteFrom('workflow_nodes').where('workflow_id', '=', rec.id).execute();
      } else {
        await trx.insertInto('workflows').values({ ...values, id: rec.id, version: 1, created_at: at }).execute();
      }
      if (rec.nodes.length > 0) {
        await trx
          .insertInto('workflow_nodes')
          .values(
            rec.nodes.map((n) => ({
              id: n.id, workflow_id: rec.id, event_id: n.eventId, server_id: n.serverId, label: n.label,
              execution_mode: n.executionMode, runner_requirements: n.runnerRequirements ? JSON.stringify(n.runnerRequirements) : null,
              timeout_seconds: n.timeoutSeconds, position_x: n.position.x, position_y: n.position.y,
              parameters: Object.keys(n.parameters).length ? JSON.stringify(n.parameters) : null,
            })),
          )
          .execute();
      }
      if (rec.edges.length > 0) {
        await trx
          .insertInto('workflow_edges')
          .values(rec.edges.map((e) => ({ id: e.id, workflow_id: rec.id, source_node_id: e.source, target_node_id: e.target, kind: e.kind, condition_expr: e.condition })))
          .execute();
      }
    });
  }

  /** Catalogue import only (core/catalogue): keeps the version the imported file carries. */
  async restoreVersion(id: string, version: number): Promise<void> {
    await this.db.kysely.updateTable('workflows').set({ version }).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.row(id);
    await this.db.kysely.transaction().execute(async (trx) => {
      const runIds = trx.selectFrom('workflow_runs').select('id').where('workflow_id', '=', id);
      await trx.deleteFrom('workflow_step_runs').where('run_id', 'in', runIds).execute();
      await trx.deleteFrom('workflow_runs').where('workflow_id', '=', id).execute();
      await trx.deleteFrom('workflow_edges').where('workflow_id', '=', id).execute();
      await trx.deleteFrom('workflow_nodes').where('workflow_id', '=', id).execute();
      await trx.deleteFrom('workflows').where('id', '=', id).execute();
    });
  }

  schedule(row: Row<'workflows'>): StoredSchedule | null {
    return parseJsonColumn<StoredSchedule | null>(row.schedule, null);
  }

  async view(id: string, nextRunAt: string | null): Promise<WorkflowView> {
    const row = await this.row(id);
    const nodes = await this.db.kysely
      .selectFrom('workflow_nodes')
      .leftJoin('events', 'events.id', 'workflow_nodes.event_id')
      .leftJoin('servers', 'servers.id', 'workflow_nodes.server_id')
      .selectAll('workflow_nodes')
      .select(['events.name as event_name', 'servers.name as server_name'])
      .where('workflow_nodes.workflow_id', '=', id)
      .orderBy('workflow_nodes.position_y')
      .orderBy('workflow_nodes.position_x')
      .execute();
    const edges = await this.db.kysely.selectFrom('workflow_edges').selectAll().where('workflow_id', '=', id).orderBy('id').execute();
    const last = await this.db.kysely
      .selectFrom('workflow_runs')
      .select(['id', 'status', 'started_at'])
      .where('workflow_id', '=', id)
      .orderBy('started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    const schedule = this.schedule(row);
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      nodes: nodes.map((n) => ({
        id: n.id,
        eventId: n.event_id,
        serverId: n.server_id,
        label: n.label,
        executionMode: n.execution_mode as WorkflowView['nodes'][number]['executionMode'],
        runnerRequirements: parseJsonColumn<RunnerRequirements | null>(n.runner_requirements, null),
        timeoutSeconds: n.timeout_seconds,
        parameters: parseJsonColumn<Record<string, ParameterValue>>(n.parameters, {}),
        position: { x: n.position_x, y: n.position_y },
        eventName: n.event_name,
        serverName: n.server_name,
      })),
      edges: edges.map((e) => ({ id: e.id, source: e.source_node_id, target: e.target_node_id, kind: e.kind, condition: e.condition_expr })),
      timeoutSeconds: row.timeout_seconds,
      schedule: schedule?.spec ?? null,
      timeZone: row.time_zone,
      misfirePolicy: schedule?.misfirePolicy ?? 'run_once',
      overlapPolicy: schedule?.overlapPolicy ?? 'skip',
      enabled: row.enabled === 1,
      version: row.version,
      nextRunAt,
      lastRun: last ? { id: last.id, status: last.status as WorkflowRunStatus, startedAt: last.started_at } : null,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  /** The graph as a run executes it; labels fall back to the event's name. */
  async plan(id: string): Promise<WorkflowPlan> {
    const row = await this.row(id);
    const nodes = await this.db.kysely
      .selectFrom('workflow_nodes')
      .leftJoin('events', 'events.id', 'workflow_nodes.event_id')
      .selectAll('workflow_nodes')
      .select('events.name as event_name')
      .where('workflow_id', '=', id)
      .execute();
    const edges = await this.db.kysely.selectFrom('workflow_edges').selectAll().where('workflow_id', '=', id).execute();
    return {
      workflowId: id,
      version: row.version,
      name: row.name,
      timeoutSeconds: row.timeout_seconds,
      nodes: nodes.map(
        (n): PlanNode => ({
          id: n.id,
          label: n.label || n.event_name || n.id,
          eventId: n.event_id,
          serverId: n.server_id ?? '',
          executionMode: n.execution_mode as PlanNode['executionMode'],
          runnerRequirements: parseJsonColumn<RunnerRequirements | null>(n.runner_requirements, null),
          timeoutSeconds: n.timeout_seconds,
          parameters: parseJsonColumn<Record<string, ParameterValue>>(n.parameters, {}),
        }),
      ),
      edges: edges.map((e) => ({ id: e.id, source: e.source_node_id, target: e.target_node_id, kind: e.kind, condition: e.condition_expr })),
    };
  }

  // ---- runs -------------------------------------------------------------------------------------------------------

  /** The run with that idempotency key (a scheduled time already started), if any. */
  async runByKey(key: string): Promise<string | null> {
    const row = await this.db.kysely.selectFrom('workflow_runs').select('id').where('idempotency_key', '=', key).executeTakeFirst();
    return row?.id ?? null;
  }

  /** A new RUNNING run with one WAITING step per node. */
  async createRun(plan: WorkflowPlan, opts: { trigger: 'manual' | 'schedule'; idempotencyKey: string | null; at: string }): Promise<string> {
    const runId = newId();
    await this.db.kysely.transaction().execute(async (trx) => {
      await trx
        .insertInto('workflow_runs')
        .values({
          id: runId, workflow_id: plan.workflowId, workflow_version: plan.version, status: 'RUNNING', trigger: opts.trigger,
          idempotency_key: opts.idempotencyKey, reason: null, started_at: opts.at, finished_at: null,
        })
        .execute();
      if (plan.nodes.length > 0) {
        await trx
          .insertInto('workflow_step_runs')
          .values(plan.nodes.map((n) => ({ id: newId(), run_id: runId, node_id: n.id, job_id: null, status: 'WAITING', input: null, output: null, condition: null, reason: null, started_at: null, finished_at: null })))
          .execute();
      }
    });
    return runId;
  }

  async stepStarted(runId: string, nodeId: string, change: { jobId: string | null; input: unknown; at: string }): Promise<void> {
    await this.db.kysely
      .updateTable('workflow_step_runs')
      .set({ status: 'RUNNING', job_id: change.jobId, input: toJson(change.input), started_at: change.at })
      .where('run_id', '=', runId)
      .where('node_id', '=', nodeId)
      .execute();
  }

  async stepEnded(
    runId: string,
    nodeId: string,
    change: { status: WorkflowStepStatus; output?: unknown; condition: boolean | null; reason: string | null; at: string },
  ): Promise<void> {
    await this.db.kysely
      .updateTable('workflow_step_runs')
      .set({
        status: change.status, output: toJson(change.output), condition: change.condition === null ? null : change.condition ? 1 : 0,
        reason: change.reason, finished_at: change.at,
      })
      .where('run_id', '=', runId)
      .where('node_id', '=', nodeId)
      .execute();
  }

  /** Copies the recorded state of these nodes' steps from one run into another (a resume reuses them as they ended). */
  async copySteps(fromRunId: string, toRunId: string, nodeIds: string[]): Promise<void> {
    if (nodeIds.length === 0) return;
    await this.db.kysely.transaction().execute(async (trx) => {
      const rows = await trx.selectFrom('workflow_step_runs').selectAll().where('run_id', '=', fromRunId).where('node_id', 'in', nodeIds).execute();
      for (const r of rows) {
        await trx
          .updateTable('workflow_step_runs')
          .set({ job_id: r.job_id, status: r.status, input: r.input, output: r.output, condition: r.condition, reason: r.reason, started_at: r.started_at, finished_at: r.finished_at })
          .where('run_id', '=', toRunId)
          .where('node_id', '=', r.node_id)
          .execute();
      }
    });
  }

  async runEnded(runId: string, change: { status: Exclude<WorkflowRunStatus, 'RUNNING'>; reason: string | null; at: string }): Promise<void> {
    await this.db.kysely.updateTable('workflow_runs').set({ status: change.status, reason: change.reason, finished_at: change.at }).where('id', '=', runId).execute();
  }

  async runWorkflowId(runId: string): Promise<string> {
    const row = await this.db.kysely.selectFrom('workflow_runs').select('workflow_id').where('id', '=', runId).executeTakeFirst();
    if (!row) throw new AppError('WORKFLOW_RUN_NOT_FOUND', `there is no workflow run ${runId}; it may have been deleted with its workflow`);
    return row.workflow_id;
  }

  async runs(workflowId: string, limit: number): Promise<WorkflowRunSummary[]> {
    const rows = await this.db.kysely.selectFrom('workflow_runs').selectAll().where('workflow_id', '=', workflowId).orderBy('started_at', 'desc').orderBy('id').limit(limit).execute();
    return rows.map(toRunSummary);
  }

  async runView(runId: string): Promise<WorkflowRunView> {
    const row = await this.db.kysely.selectFrom('workflow_runs').selectAll().where('id', '=', runId).executeTakeFirst();
    if (!row) throw new AppError('WORKFLOW_RUN_NOT_FOUND', `there is no workflow run ${runId}; it may have been deleted with its workflow`);
    const steps = await this.db.kysely
      .selectFrom('workflow_step_runs')
      .leftJoin('jobs', 'jobs.id', 'workflow_step_runs.job_id')
      .selectAll('workflow_step_runs')
      .select([
        'jobs.exit_code as exit_code',
        sql<string | null>`(SELECT l.id FROM logs l WHERE l.job_id = workflow_step_runs.job_id ORDER BY l.created_at DESC, l.rowid DESC LIMIT 1)`.as('log_id'),
      ])
      .where('workflow_step_runs.run_id', '=', runId)
      .orderBy('workflow_step_runs.started_at')
      .execute();
    return {
      ...toRunSummary(row),
      steps: steps.map((s): WorkflowStepRunView => {
        const view: WorkflowStepRunView = {
          id: s.id, nodeId: s.node_id, jobId: s.job_id, logId: s.log_id, status: s.status as WorkflowStepStatus,
          condition: s.condition === null ? null : s.condition === 1, exitCode: s.exit_code ?? null, reason: s.reason,
          startedAt: s.started_at, finishedAt: s.finished_at,
        };
        if (s.input !== null) view.input = parseJsonColumn<unknown>(s.input, null);
        if (s.output !== null) view.output = parseJsonColumn<unknown>(s.output, null);
        return view;
      }),
    };
  }

  /** Runs left RUNNING by a previous life of the app. */
  async unfinishedRuns(): Promise<Array<{ id: string; workflowId: string }>> {
    const rows = await this.db.kysely.selectFrom('workflow_runs').select(['id', 'workflow_id']).where('status', '=', 'RUNNING').execute();
    return rows.map((r) => ({ id: r.id, workflowId: r.workflow_id }));
  }

  async unfinishedSteps(runId: string): Promise<Array<{ nodeId: string; status: string; jobStatus: string | null; jobReason: string | null; output: string | null; condition: number | null }>> {
    const rows = await this.db.kysely
      .selectFrom('workflow_step_runs')
      .leftJoin('jobs', 'jobs.id', 'workflow_step_runs.job_id')
      .select(['workflow_step_runs.node_id', 'workflow_step_runs.status', 'jobs.status as job_status', 'jobs.reason as job_reason', 'jobs.output as job_output', 'jobs.condition as job_condition'])
      .where('workflow_step_runs.run_id', '=', runId)
      .where('workflow_step_runs.status', 'in', ['WAITING', 'RUNNING'])
      .execute();
    return rows.map((r) => ({ nodeId: r.node_id, status: r.status, jobStatus: r.job_status, jobReason: r.job_reason, output: r.job_output, condition: r.job_condition }));
  }
}

function toRunSummary(row: Row<'workflow_runs'>): WorkflowRunSummary {
  return {
    id: row.id,
    workflowId: row.workflow_id,
    workflowVersion: row.workflow_version,
    status: row.status as WorkflowRunStatus,
    trigger: row.trigger === 'schedule' ? 'schedule' : 'manual',
    reason: row.reason,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
