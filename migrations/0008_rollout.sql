-- 0008: the rollout's phase 3 (docs/architecture.md "Rollout"): every execution-mode switch the migration wizard made
-- with the user's consent, in batches, so "undo" can put each event back to the mode it had. The audit log records
-- the same acts for people; this table is what undo reads.

CREATE TABLE mode_migrations (
  id TEXT PRIMARY KEY,
  batch_id TEXT NOT NULL,
  event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  previous_mode TEXT NOT NULL,
  new_mode TEXT NOT NULL,
  -- The event's version after the switch; an undo after a later edit still restores the mode, and says so.
  event_version INTEGER NOT NULL,
  migrated_at TEXT NOT NULL,
  undone_at TEXT
);
CREATE INDEX mode_migrations_batch ON mode_migrations (batch_id);
CREATE INDEX mode_migrations_event ON mode_migrations (event_id, migrated_at);
