-- 0002: the SSH runner change list, taken as written (UUID -> TEXT, JSONB -> JSON text, TIMESTAMP -> ISO text).

CREATE TABLE runner_artifacts (
  id TEXT PRIMARY KEY,
  version TEXT NOT NULL,
  os TEXT NOT NULL,
  arch TEXT NOT NULL,
  checksum TEXT NOT NULL,
  signature TEXT,
  binary_path TEXT NOT NULL,
  created_at TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'sea',     -- 'sea' (single executable) or 'js' (needs Node on the server)
  size_bytes INTEGER,
  compressed_size_bytes INTEGER,
  UNIQUE (version, os, arch, kind)
);

CREATE TABLE runner_deployments (
  id TEXT PRIMARY KEY,
  server_id TEXT REFERENCES servers(id) ON DELETE CASCADE,
  runner_version TEXT NOT NULL,
  deployed_at TEXT NOT NULL,
  last_health_check TEXT,
  status TEXT NOT NULL,                 -- active, failed, updating, superseded, removed
  metadata TEXT                         -- JSON: artifact id, kind, path, reason, health, previous deployment
);
CREATE INDEX runner_deployments_server ON runner_deployments(server_id, deployed_at);

CREATE TABLE execution_payloads (
  id TEXT PRIMARY KEY,
  event_id TEXT REFERENCES events(id) ON DELETE CASCADE,
  event_version INTEGER NOT NULL,
  checksum TEXT NOT NULL,
  payload_path TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_used TEXT,
  size_bytes INTEGER
);
CREATE UNIQUE INDEX execution_payloads_event_version ON execution_payloads(event_id, event_version, checksum);

ALTER TABLE jobs ADD COLUMN runner_id TEXT REFERENCES runner_deployments(id);
ALTER TABLE jobs ADD COLUMN payload_id TEXT REFERENCES execution_payloads(id);
ALTER TABLE jobs ADD COLUMN execution_mode TEXT;          -- 'direct-ssh', 'runner-ssh', 'container'
ALTER TABLE jobs ADD COLUMN requested_mode TEXT;          -- what was asked: 'auto', ...
ALTER TABLE jobs ADD COLUMN fallback_reason TEXT;         -- why auto fell back to direct-ssh

ALTER TABLE logs ADD COLUMN runner_version TEXT;
ALTER TABLE logs ADD COLUMN stream_started_at TEXT;
ALTER TABLE logs ADD COLUMN partial_output TEXT;          -- a bounded tail of the output
ALTER TABLE logs ADD COLUMN runner_metadata TEXT;         -- JSON: runner diagnostics, last acked sequence, gaps
