-- 0005 (issue 14, SSH layer): the 'agent' credential kind, opt-in agent forwarding, and jump hosts.
-- auth_type's CHECK must admit 'agent', and SQLite changes a CHECK only by rebuilding the table (its 12-step ALTER):
-- the migrator runs this file with foreign keys off so that dropping the old table does not cascade into the rows
-- that reference servers(id), and runs foreign_key_check before it commits.
-- migrator: foreign_keys off

CREATE TABLE servers_0005 (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  host TEXT NOT NULL,
  port INTEGER NOT NULL DEFAULT 22,
  username TEXT NOT NULL,
  -- 'agent': the keys of the ssh-agent at SSH_AUTH_SOCK; the keychain then holds no secret for this server
  auth_type TEXT NOT NULL CHECK (auth_type IN ('key', 'password', 'agent')),
  credential_ref TEXT NOT NULL,
  host_key_fingerprint TEXT,
  host_key_algorithm TEXT,
  tags TEXT NOT NULL DEFAULT '[]',
  max_concurrent_jobs INTEGER NOT NULL DEFAULT 4,
  last_connection_at TEXT,
  last_connection_ok INTEGER,
  last_connection_message TEXT,
  last_latency_ms REAL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  -- OpenSSH agent forwarding on this server's sessions: off unless the user turns it on (agent credential only)
  agent_forwarding INTEGER NOT NULL DEFAULT 0 CHECK (agent_forwarding IN (0, 1)),
  -- JSON array of server ids, the jump hosts (ProxyJump) nearest to the workstation first; each hop is a server
  -- with its own credential and pinned host key
  jump_server_ids TEXT NOT NULL DEFAULT '[]'
);

INSERT INTO servers_0005 (
  id, name, host, port, username, auth_type, credential_ref, host_key_fingerprint, host_key_algorithm, tags,
  max_concurrent_jobs, last_connection_at, last_connection_ok, last_connection_message, last_latency_ms, created_at, updated_at
)
SELECT
  id, name, host, port, username, auth_type, credential_ref, host_key_fingerprint, host_key_algorithm, tags,
  max_concurrent_jobs, last_connection_at, last_connection_ok, last_connection_message, last_latency_ms, created_at, updated_at
FROM servers;

DROP TABLE servers;
ALTER TABLE servers_0005 RENAME TO servers;
