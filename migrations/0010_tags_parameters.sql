-- 0010: groups by tag and run-time parameters (issue 14, points 4 and 5).
-- An event (and a workflow step) may target server tags, resolved when a run starts; every run of an event is recorded
-- in event_runs with the servers it resolved to and its parameter values. Secret parameter values are never stored:
-- event_runs keeps only their names (a "run again" asks for them again).

ALTER TABLE events ADD COLUMN target_tags TEXT NOT NULL DEFAULT '[]';        -- JSON array of tags
ALTER TABLE events ADD COLUMN max_parallel INTEGER;                          -- whole-run limit K, NULL = none
ALTER TABLE events ADD COLUMN options TEXT NOT NULL DEFAULT '[]';            -- JSON array of declared options
ALTER TABLE events ADD COLUMN schedule_parameters TEXT NOT NULL DEFAULT '{}'; -- JSON values a scheduled run uses

ALTER TABLE workflow_nodes ADD COLUMN target_tag TEXT;                       -- a step may target a tag instead of a server
ALTER TABLE workflow_nodes ADD COLUMN parameters TEXT;                       -- JSON values the step supplies

CREATE TABLE event_runs (
  id TEXT PRIMARY KEY,
  event_id TEXT REFERENCES events(id) ON DELETE CASCADE,
  trigger TEXT NOT NULL,                          -- manual, schedule, workflow
  target_tags TEXT NOT NULL DEFAULT '[]',         -- JSON: the tags asked for
  server_ids TEXT NOT NULL DEFAULT '[]',          -- JSON: the servers they resolved to when the run started
  parameters TEXT NOT NULL DEFAULT '{}',          -- JSON: non-secret parameter values
  secret_parameter_names TEXT NOT NULL DEFAULT '[]', -- JSON: names of secret options given (values never stored)
  max_parallel INTEGER,
  rerun_of TEXT,                                  -- the run this one repeats (re-run failed, run again)
  workflow_run_id TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX event_runs_event ON event_runs(event_id, created_at);

ALTER TABLE jobs ADD COLUMN run_id TEXT;
CREATE INDEX jobs_run ON jobs(run_id);
