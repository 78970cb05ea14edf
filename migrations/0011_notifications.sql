-- 0011 (issue 16): the notification centre's history, and every saved version of an event's script (for the diff
-- between two versions). Notifications never hold script output or secrets: names, states and reasons only.

CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,                   -- job_failed, job_succeeded, job_recovered, runner_unhealthy, link_lost, schedule_missed
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  target_kind TEXT,                     -- what a click opens: log, server, event, workflow
  target_id TEXT,
  group_id TEXT,                        -- entries announced together in one grouped alert share it
  created_at TEXT NOT NULL,
  read_at TEXT
);
CREATE INDEX notifications_created ON notifications (created_at);
CREATE INDEX notifications_unread ON notifications (read_at) WHERE read_at IS NULL;

CREATE TABLE event_script_versions (
  event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  script_type TEXT NOT NULL,
  content TEXT NOT NULL,
  saved_at TEXT NOT NULL,
  PRIMARY KEY (event_id, version)
);

-- Events saved before this migration: their current script is the first version the diff knows.
INSERT INTO event_script_versions (event_id, version, script_type, content, saved_at)
  SELECT id, version, script_type, content, updated_at FROM events;
