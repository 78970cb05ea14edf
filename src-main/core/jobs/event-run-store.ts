/**
 * EventRunStore: the one holder of the `event_runs` table's SQL. A row is one run of an event over the servers its
 * targets resolved to when it started, with the non-secret parameter values and only the names of secret ones (their
 * values are never written here). Jobs point at their run through jobs.run_id (the JobStore's column; list jobs with its `runId` filter).
 */
import type { AppDatabase } from '../db/database';
import type { Row } from '../db/schema';
import { parseJsonColumn } from '../db/json-column';
import type { ParameterValue } from '../../../src-shared/contract/run-parameters';

export interface EventRunRecord {
  id: string;
  eventId: string | null;
  trigger: string;
  targetTags: string[];
  serverIds: string[];
  parameters: Record<string, ParameterValue>;
  secretParameterNames: string[];
  maxParallel: number | null;
  rerunOf: string | null;
  workflowRunId: string | null;
  createdAt: string;
}

export class EventRunStore {
  constructor(private readonly db: AppDatabase) {}

  async insert(run: EventRunRecord): Promise<void> {
    await this.db.kysely
      .insertInto('event_runs')
      .values({
        id: run.id,
        event_id: run.eventId,
        trigger: run.trigger,
        target_tags: JSON.stringify(run.targetTags),
        server_ids: JSON.stringify(run.serverIds),
        parameters: JSON.stringify(run.parameters),
        secret_parameter_names: JSON.stringify(run.secretParameterNames),
        max_parallel: run.maxParallel,
        rerun_of: run.rerunOf,
        workflow_run_id: run.workflowRunId,
        created_at: run.createdAt,
      })
      .execute();
  }

  async find(id: string): Promise<EventRunRecord | undefined> {
    const row = await this.db.kysely.selectFrom('event_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** The newest runs of an event, newest first. */
  async ofEvent(eventId: string, limit: number): Promise<EventRunRecord[]> {
    const rows = await this.db.kysely
      .selectFrom('event_runs')
      .selectAll()
      .where('event_id', '=', eventId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toRecord);
  }
}

function toRecord(r: Row<'event_runs'>): EventRunRecord {
  return {
    id: r.id,
    eventId: r.event_id,
    trigger: r.trigger,
    targetTags: parseJsonColumn<string[]>(r.target_tags, []),
    serverIds: parseJsonColumn<string[]>(r.server_ids, []),
    parameters: parseJsonColumn<Record<string, ParameterValue>>(r.parameters, {}),
    secretParameterNames: parseJsonColumn<string[]>(r.secret_parameter_names, []),
    maxParallel: r.max_parallel,
    rerunOf: r.rerun_of,
    workflowRunId: r.workflow_run_id,
    createdAt: r.created_at,
  };
}
