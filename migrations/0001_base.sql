-- 0001: the base catalogue: servers, events, jobs, logs, variables, workflows, settings, flags, audit.
-- Ids are UUIDs stored as text; timestamps are ISO-8601 UTC text; JSON columns hold JSON text.

CREATE TABLE servers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  host TEXT NOT NULL,
  port INTEGER NOT NULL DEFAULT 22,
  username TEXT NOT NULL,
  auth_type TEXT NOT NULL CHECK (auth_type IN ('key', 'password')),
  -- keychain account holding the private key (and passphrase) or the password; never the secret itself
  credential_ref TEXT NOT NULL,
  host_key_fingerprint TEXT,            -- pinned 'SHA256:...' once the user approved it
  host_key_algorithm TEXT,
  tags TEXT NOT NULL DEFAULT '[]',      -- JSON array of strings
  max_concurrent_jobs INTEGER NOT NULL DEFAULT 4,
  last_connection_at TEXT,
  last_connection_ok INTEGER,
  last_connection_message TEXT,
  last_latency_ms REAL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE events (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  script_type TEXT NOT NULL CHECK (script_type IN ('bash', 'python', 'node')),
  content TEXT NOT NULL,
  env TEXT NOT NULL DEFAULT '{}',             -- JSON object of plain variables
  secret_refs TEXT NOT NULL DEFAULT '[]',     -- JSON array of { name, ref } (values in the keychain)
  timeout_seconds INTEGER NOT NULL DEFAULT 3600,
  retries INTEGER NOT NULL DEFAULT 0,
  retry_backoff_seconds INTEGER NOT NULL DEFAULT 5,
  execution_mode TEXT NOT NULL DEFAULT 'auto',
  runner_requirements TEXT,                   -- JSON { minVersion?, capabilities? }
  schedule TEXT,                              -- JSON schedule spec, NULL = manual only
  time_zone TEXT,                             -- IANA name, NULL = the workstation's
  misfire_policy TEXT NOT NULL DEFAULT 'run_once',
  overlap_policy TEXT NOT NULL DEFAULT 'skip',
  enabled INTEGER NOT NULL DEFAULT 1,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE event_servers (
  event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
  PRIMARY KEY (event_id, server_id)
);

CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  event_id TEXT REFERENCES events(id) ON DELETE SET NULL,
  event_version INTEGER,
  server_id TEXT REFERENCES servers(id) ON DELETE SET NULL,
  workflow_run_id TEXT,
  status TEXT NOT NULL,                 -- QUEUED DISPATCHING RUNNING SUCCESS FAILURE TIMEOUT CANCELLED PARTIAL
  trigger TEXT NOT NULL DEFAULT 'manual', -- manual, schedule, workflow
  attempt INTEGER NOT NULL DEFAULT 1,
  max_attempts INTEGER NOT NULL DEFAULT 1,
  exit_code INTEGER,
  signal TEXT,
  reason TEXT,                          -- why it ended as it did, in words
  output TEXT,                          -- JSON value set by the output() helper
  condition INTEGER,                    -- set by the setCondition() helper
  remote_pid INTEGER,
  idempotency_key TEXT UNIQUE,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX jobs_status ON jobs(status);
CREATE INDEX jobs_event ON jobs(event_id, created_at);
CREATE INDEX jobs_server ON jobs(server_id, status);

CREATE TABLE logs (
  id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  event_id TEXT,
  server_id TEXT,
  status TEXT NOT NULL,                 -- PENDING RUNNING STREAMING SUCCESS FAILURE TIMEOUT CANCELLED PARTIAL
  line_count INTEGER NOT NULL DEFAULT 0,
  last_sequence INTEGER NOT NULL DEFAULT 0,
  byte_count INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER,
  started_at TEXT,
  finished_at TEXT,
  duration_ms INTEGER,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX logs_job ON logs(job_id);
CREATE INDEX logs_status ON logs(status, created_at);
CREATE INDEX logs_event ON logs(event_id, created_at);

CREATE TABLE log_lines (
  log_id TEXT NOT NULL REFERENCES logs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr', 'system')),
  ts TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (log_id, seq)
) WITHOUT ROWID;

CREATE TABLE variables (
  id TEXT PRIMARY KEY,
  scope TEXT NOT NULL,                  -- 'global', 'event:<id>', 'workflow:<id>'
  key TEXT NOT NULL,
  value TEXT,                           -- plain value; NULL when secret
  secret_ref TEXT,                      -- keychain account for secret values
  updated_at TEXT NOT NULL,
  UNIQUE (scope, key)
);

CREATE TABLE workflows (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  schedule TEXT,
  time_zone TEXT,
  timeout_seconds INTEGER,
  enabled INTEGER NOT NULL DEFAULT 1,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE workflow_nodes (
  id TEXT PRIMARY KEY,
  workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
  event_id TEXT NOT NULL REFERENCES events(id),
  server_id TEXT REFERENCES servers(id),
  label TEXT,
  execution_mode TEXT,
  runner_requirements TEXT,
  timeout_seconds INTEGER,
  position_x REAL NOT NULL DEFAULT 0,
  position_y REAL NOT NULL DEFAULT 0
);

CREATE TABLE workflow_edges (
  id TEXT PRIMARY KEY,
  workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
  source_node_id TEXT NOT NULL REFERENCES workflow_nodes(id) ON DELETE CASCADE,
  target_node_id TEXT NOT NULL REFERENCES workflow_nodes(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('ALWAYS', 'ON_SUCCESS', 'ON_FAILURE', 'ON_CONDITION')),
  condition_expr TEXT
);

CREATE TABLE workflow_runs (
  id TEXT PRIMARY KEY,
  workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
  workflow_version INTEGER NOT NULL,
  status TEXT NOT NULL,
  trigger TEXT NOT NULL DEFAULT 'manual',
  idempotency_key TEXT UNIQUE,
  reason TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT
);

CREATE TABLE workflow_step_runs (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
  node_id TEXT NOT NULL,
  job_id TEXT REFERENCES jobs(id),
  status TEXT NOT NULL,                 -- WAITING RUNNING SUCCESS FAILURE TIMEOUT CANCELLED PARTIAL SKIPPED
  input TEXT,
  output TEXT,
  condition INTEGER,
  reason TEXT,
  started_at TEXT,
  finished_at TEXT
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,                  -- JSON
  updated_at TEXT NOT NULL
);

CREATE TABLE feature_flags (
  name TEXT PRIMARY KEY,
  enabled INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,                  -- 'user', 'scheduler', 'system'
  action TEXT NOT NULL,                 -- e.g. 'server.trust_host_key'
  subject TEXT,
  detail TEXT                           -- JSON, never a secret
);

CREATE TABLE schedule_fires (
  id TEXT PRIMARY KEY,
  owner_kind TEXT NOT NULL CHECK (owner_kind IN ('event', 'workflow')),
  owner_id TEXT NOT NULL,
  scheduled_for TEXT NOT NULL,          -- the nominal fire time (UTC ISO)
  idempotency_key TEXT NOT NULL UNIQUE, -- owner + scheduled time: a time never fires twice
  outcome TEXT NOT NULL,                -- fired, skipped_overlap, skipped_misfire, queued
  reason TEXT,
  job_ids TEXT,                         -- JSON array
  fired_at TEXT NOT NULL
);
CREATE INDEX schedule_fires_owner ON schedule_fires(owner_kind, owner_id, scheduled_for);
