-- 0006: server-held schedules (issue 15). An event may fire from the app (as before) or on its servers, where the
-- resident runner holds a signed copy of its schedule. server_residents: one row per server with a resident runner
-- (what was installed there, how it runs, the clock skew measured, the last collection). server_schedule_copies: one
-- row per (event, server) copy installed, to show stale copies and each server's next and last collected fire.
ALTER TABLE events ADD COLUMN fires_on TEXT NOT NULL DEFAULT 'app' CHECK (fires_on IN ('app', 'server'));
ALTER TABLE jobs ADD COLUMN fired_on_server INTEGER NOT NULL DEFAULT 0;

CREATE TABLE server_residents (
  server_id TEXT PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
  manifest_sha256 TEXT,
  content_key TEXT,
  installed_at TEXT,
  start_mode TEXT,
  systemd_note TEXT,
  linger_command TEXT,
  running INTEGER NOT NULL DEFAULT 0,
  restarts INTEGER NOT NULL DEFAULT 0,
  skew_ms INTEGER,
  manifest_error TEXT,
  last_error TEXT,
  last_contact_at TEXT,
  last_collected_at TEXT,
  updated_at TEXT NOT NULL
);

CREATE TABLE server_schedule_copies (
  event_id TEXT NOT NULL,
  server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
  installed_version INTEGER,
  installed_at TEXT,
  next_fire TEXT,
  last_collected_fire TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (event_id, server_id)
);
CREATE INDEX server_schedule_copies_server ON server_schedule_copies (server_id);
