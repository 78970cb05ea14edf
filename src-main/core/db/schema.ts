/**
 * Kysely table types for every table of migrations 0001 + 0002 (and the migrator's own `migrations` table).
 * They mirror the SQL exactly: ids are UUID text, times ISO text, JSON columns JSON text, booleans 0/1 integers.
 * Columns with a SQL default are Generated<> (optional on insert). Never widen a type here beyond what the SQL allows.
 */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/** ISO-8601 UTC text (see ids.ts nowIso). */
export type IsoTime = string;
/** JSON text; parse with the domain's zod schema. */
export type JsonText = string;
/** SQLite boolean: 0 or 1. */
export type SqlBool = number;

export interface MigrationsTable {
  name: string;
  applied_at: IsoTime;
  checksum: string;
}

export interface ServersTable {
  id: string;
  name: string;
  host: string;
  port: Generated<number>;
  username: string;
  auth_type: 'key' | 'password';
  credential_ref: string;
  host_key_fingerprint: string | null;
  host_key_algorithm: string | null;
  tags: Generated<JsonText>;
  max_concurrent_jobs: Generated<number>;
  last_connection_at: IsoTime | null;
  last_connection_ok: SqlBool | null;
  last_connection_message: string | null;
  last_latency_ms: number | null;
  created_at: IsoTime;
  updated_at: IsoTime;
}

export interface EventsTable {
  id: string;
  name: string;
  description: Generated<string>;
  script_type: 'bash' | 'python' | 'node';
  content: string;
  env: Generated<JsonText>;
  secret_refs: Generated<JsonText>;
  timeout_seconds: Generated<number>;
  retries: Generated<number>;
  retry_backoff_seconds: Generated<number>;
  execution_mode: Generated<string>;
  runner_requirements: JsonText | null;
  schedule: JsonText | null;
  time_zone: string | null;
  misfire_policy: Generated<string>;
  overlap_policy: Generated<string>;
  enabled: Generated<SqlBool>;
  version: Generated<number>;
  created_at: IsoTime;
  updated_at: IsoTime;
}

export interface EventServersTable {
  event_id: string;
  server_id: string;
}

export interface JobsTable {
  id: string;
  event_id: string | null;
  event_version: number | null;
  server_id: string | null;
  workflow_run_id: string | null;
  status: string;
  trigger: Generated<string>;
  attempt: Generated<number>;
  max_attempts: Generated<number>;
  exit_code: number | null;
  signal: string | null;
  reason: string | null;
  output: JsonText | null;
  condition: SqlBool | null;
  remote_pid: number | null;
  idempotency_key: string | null;
  created_at: IsoTime;
  started_at: IsoTime | null;
  finished_at: IsoTime | null;
  updated_at: IsoTime;
  // 0002
  runner_id: string | null;
  payload_id: string | null;
  execution_mode: string | null;
  requested_mode: string | null;
  fallback_reason: string | null;
}

export interface LogsTable {
  id: string;
  job_id: string;
  event_id: string | null;
  server_id: string | null;
  status: string;
  line_count: Generated<number>;
  last_sequence: Generated<number>;
  byte_count: Generated<number>;
  exit_code: number | null;
  started_at: IsoTime | null;
  finished_at: IsoTime | null;
  duration_ms: number | null;
  created_at: IsoTime;
  updated_at: IsoTime;
  // 0002
  runner_version: string | null;
  stream_started_at: IsoTime | null;
  partial_output: string | null;
  runner_metadata: JsonText | null;
  // 0003
  reason: string | null;
}

export interface LogLinesTable {
  log_id: string;
  seq: number;
  stream: 'stdout' | 'stderr' | 'system';
  ts: IsoTime;
  text: string;
}

export interface VariablesTable {
  id: string;
  scope: string;
  key: string;
  value: string | null;
  secret_ref: string | null;
  updated_at: IsoTime;
  /** The job that last set it (null: set by a person, or before 0004). */
  set_by_job_id: string | null;
}

export interface WorkflowsTable {
  id: string;
  name: string;
  description: Generated<string>;
  schedule: JsonText | null;
  time_zone: string | null;
  timeout_seconds: number | null;
  enabled: Generated<SqlBool>;
  version: Generated<number>;
  created_at: IsoTime;
  updated_at: IsoTime;
}

export interface WorkflowNodesTable {
  id: string;
  workflow_id: string;
  event_id: string;
  server_id: string | null;
  label: string | null;
  execution_mode: string | null;
  runner_requirements: JsonText | null;
  timeout_seconds: number | null;
  position_x: Generated<number>;
  position_y: Generated<number>;
}

export interface WorkflowEdgesTable {
  id: string;
  workflow_id: string;
  source_node_id: string;
  target_node_id: string;
  kind: 'ALWAYS' | 'ON_SUCCESS' | 'ON_FAILURE' | 'ON_CONDITION';
  condition_expr: string | null;
}

export interface WorkflowRunsTable {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: string;
  trigger: Generated<string>;
  idempotency_key: string | null;
  reason: string | null;
  started_at: IsoTime;
  finished_at: IsoTime | null;
}

export interface WorkflowStepRunsTable {
  id: string;
  run_id: string;
  node_id: string;
  job_id: string | null;
  status: string;
  input: JsonText | null;
  output: JsonText | null;
  condition: SqlBool | null;
  reason: string | null;
  started_at: IsoTime | null;
  finished_at: IsoTime | null;
}

export interface SettingsTable {
  key: string;
  value: JsonText;
  updated_at: IsoTime;
}

export interface FeatureFlagsTable {
  name: string;
  enabled: SqlBool;
  updated_at: IsoTime;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: IsoTime;
  actor: string;
  action: string;
  subject: string | null;
  detail: JsonText | null;
}

export interface ScheduleFiresTable {
  id: string;
  owner_kind: 'event' | 'workflow';
  owner_id: string;
  scheduled_for: IsoTime;
  idempotency_key: string;
  outcome: string;
  reason: string | null;
  job_ids: JsonText | null;
  fired_at: IsoTime;
}

// 0002: the SSH runner change list.

export interface RunnerArtifactsTable {
  id: string;
  version: string;
  os: string;
  arch: string;
  checksum: string;
  signature: string | null;
  binary_path: string;
  created_at: IsoTime;
  kind: Generated<'sea' | 'js'>;
  size_bytes: number | null;
  compressed_size_bytes: number | null;
}

export interface RunnerDeploymentsTable {
  id: string;
  server_id: string | null;
  runner_version: string;
  deployed_at: IsoTime;
  last_health_check: IsoTime | null;
  status: string;
  metadata: JsonText | null;
}

export interface ExecutionPayloadsTable {
  id: string;
  event_id: string | null;
  event_version: number;
  checksum: string;
  payload_path: string;
  created_at: IsoTime;
  last_used: IsoTime | null;
  size_bytes: number | null;
}

export interface DB {
  migrations: MigrationsTable;
  servers: ServersTable;
  events: EventsTable;
  event_servers: EventServersTable;
  jobs: JobsTable;
  logs: LogsTable;
  log_lines: LogLinesTable;
  variables: VariablesTable;
  workflows: WorkflowsTable;
  workflow_nodes: WorkflowNodesTable;
  workflow_edges: WorkflowEdgesTable;
  workflow_runs: WorkflowRunsTable;
  workflow_step_runs: WorkflowStepRunsTable;
  settings: SettingsTable;
  feature_flags: FeatureFlagsTable;
  audit_log: AuditLogTable;
  schedule_fires: ScheduleFiresTable;
  runner_artifacts: RunnerArtifactsTable;
  runner_deployments: RunnerDeploymentsTable;
  execution_payloads: ExecutionPayloadsTable;
}

export type TableName = keyof DB;
export type Row<T extends TableName> = Selectable<DB[T]>;
export type NewRow<T extends TableName> = Insertable<DB[T]>;
export type RowUpdate<T extends TableName> = Updateable<DB[T]>;
