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
  auth_type: 'key' | 'password' | 'agent';
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
  /** 0005: agent forwarding, opt-in per server (agent credential only). */
  agent_forwarding: Generated<SqlBool>;
  /** 0005: JSON array of server ids, the jump hosts nearest to the workstation first. */
  jump_server_ids: Generated<JsonText>;
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
  // 0010
  target_tags: Generated<JsonText>;
  max_parallel: number | null;
  options: Generated<JsonText>;
  schedule_parameters: Generated<JsonText>;
  /** 0006: 'app' (the app's scheduler fires it) or 'server' (the resident runner on each target does). */
  fires_on: Generated<'app' | 'server'>;
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
  // 0010
  run_id: Generated<string | null>;
  /** 0006: fired by the resident runner on the server (a server-held schedule), collected afterwards. */
  fired_on_server: Generated<SqlBool>;
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

/** A block of a log's lines (0009_log_blocks.sql); read and written only by LogStore through its codec. */
export interface LogBlocksTable {
  id: Generated<number>;
  log_id: string;
  first_seq: number;
  last_seq: number;
  line_count: number;
  output_count: number;
  first_line: number;
  byte_start: number;
  byte_count: number;
  stored_bytes: number;
  sealed: 0 | 1;
  created_at: IsoTime;
  data: Buffer;
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
  // 0010
  target_tag: Generated<string | null>;
  parameters: Generated<JsonText | null>;
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

// 0011: the notification centre's history and every saved version of an event's script.

export interface NotificationsTable {
  id: string;
  kind: string;
  title: string;
  body: string;
  target_kind: string | null;
  target_id: string | null;
  group_id: string | null;
  created_at: IsoTime;
  read_at: IsoTime | null;
}

export interface EventScriptVersionsTable {
  event_id: string;
  version: number;
  script_type: 'bash' | 'python' | 'node';
  content: string;
  saved_at: IsoTime;
}

// 0012: alert rules, their deliveries and each delivery attempt (issue 17).

export interface AlertRulesTable {
  id: string;
  name: string;
  subject_kind: 'event' | 'workflow' | 'runner';
  subject_id: string | null;
  triggers: JsonText;
  channel_kind: 'webhook' | 'email' | 'command';
  channel_config: JsonText;
  secret_ref: string | null;
  max_per_window: Generated<number>;
  window_seconds: Generated<number>;
  dedup_seconds: Generated<number>;
  enabled: Generated<SqlBool>;
  created_at: IsoTime;
  updated_at: IsoTime;
}

export interface AlertDeliveriesTable {
  id: string;
  rule_id: string | null;
  rule_name: string;
  channel_kind: string;
  trigger: string;
  subject_kind: string;
  subject_id: string | null;
  subject_name: string | null;
  dedup_key: string;
  summary: string;
  message: JsonText;
  status: 'pending' | 'delivered' | 'failed';
  attempts: Generated<number>;
  suppressed: Generated<number>;
  last_error: string | null;
  created_at: IsoTime;
  finished_at: IsoTime | null;
}

export interface AlertAttemptsTable {
  id: Generated<number>;
  delivery_id: string;
  attempt: number;
  at: IsoTime;
  ok: SqlBool;
  error: string | null;
  duration_ms: number;
}

// 0010: one run of an event over its resolved servers (the fleet summary, re-run failed, run again).
export interface EventRunsTable {
  id: string;
  event_id: string | null;
  trigger: string;
  target_tags: Generated<JsonText>;
  server_ids: Generated<JsonText>;
  parameters: Generated<JsonText>;
  secret_parameter_names: Generated<JsonText>;
  max_parallel: number | null;
  rerun_of: string | null;
  workflow_run_id: string | null;
  created_at: IsoTime;
}

// 0008: execution-mode switches made by the migration wizard (undo reads them).
export interface ModeMigrationsTable {
  id: string;
  batch_id: string;
  event_id: string;
  previous_mode: string;
  new_mode: string;
  event_version: number;
  migrated_at: IsoTime;
  undone_at: IsoTime | null;
}

/** 0006: the resident runner on one server (server-held schedules). */
export interface ServerResidentsTable {
  server_id: string;
  manifest_sha256: string | null;
  /** Hash of the schedules last installed (without the issue time): equal means the server's copy is current. */
  content_key: string | null;
  installed_at: IsoTime | null;
  start_mode: string | null;
  systemd_note: string | null;
  linger_command: string | null;
  running: Generated<SqlBool>;
  restarts: Generated<number>;
  skew_ms: number | null;
  manifest_error: string | null;
  last_error: string | null;
  last_contact_at: IsoTime | null;
  last_collected_at: IsoTime | null;
  updated_at: IsoTime;
}

/** 0006: one server's installed copy of a server-held schedule. */
export interface ServerScheduleCopiesTable {
  event_id: string;
  server_id: string;
  installed_version: number | null;
  installed_at: IsoTime | null;
  next_fire: IsoTime | null;
  last_collected_fire: IsoTime | null;
  updated_at: IsoTime;
}

export interface DB {
  migrations: MigrationsTable;
  servers: ServersTable;
  events: EventsTable;
  event_servers: EventServersTable;
  jobs: JobsTable;
  logs: LogsTable;
  log_blocks: LogBlocksTable;
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
  event_runs: EventRunsTable;
  alert_rules: AlertRulesTable;
  alert_deliveries: AlertDeliveriesTable;
  alert_attempts: AlertAttemptsTable;
  notifications: NotificationsTable;
  event_script_versions: EventScriptVersionsTable;
  mode_migrations: ModeMigrationsTable;
  server_residents: ServerResidentsTable;
  server_schedule_copies: ServerScheduleCopiesTable;
}

export type TableName = keyof DB;
export type Row<T extends TableName> = Selectable<DB[T]>;
export type NewRow<T extends TableName> = Insertable<DB[T]>;
export type RowUpdate<T extends TableName> = Updateable<DB[T]>;
