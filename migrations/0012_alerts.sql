-- 0012: alerts (issue 17). A rule says which subject (an event, a workflow, a runner, or any of a kind) and which
-- triggers (failure, recovery, success, missed schedule) notify one external channel (webhook, SMTP mail, a command
-- on this workstation). Channel secrets (a webhook URL with its token, an SMTP password) live in the keychain; the
-- rule keeps the reference and a display form only. Every delivery and each of its attempts is kept for the
-- Alerts history, with the error in words.

CREATE TABLE alert_rules (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('event', 'workflow', 'runner')),
  subject_id TEXT,                          -- NULL = every subject of that kind
  triggers TEXT NOT NULL,                   -- JSON array: failure, recovery, success, missed
  channel_kind TEXT NOT NULL CHECK (channel_kind IN ('webhook', 'email', 'command')),
  channel_config TEXT NOT NULL,             -- JSON without any secret (format, SMTP host, recipients, command, ...)
  secret_ref TEXT,                          -- keychain account of the channel secret, NULL when it has none
  max_per_window INTEGER NOT NULL DEFAULT 5,
  window_seconds INTEGER NOT NULL DEFAULT 3600,
  dedup_seconds INTEGER NOT NULL DEFAULT 900,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE alert_deliveries (
  id TEXT PRIMARY KEY,
  rule_id TEXT REFERENCES alert_rules(id) ON DELETE SET NULL,
  rule_name TEXT NOT NULL,
  channel_kind TEXT NOT NULL,
  trigger TEXT NOT NULL,                    -- failure, recovery, success, missed, test
  subject_kind TEXT NOT NULL,
  subject_id TEXT,
  subject_name TEXT,
  dedup_key TEXT NOT NULL,
  summary TEXT NOT NULL,
  message TEXT NOT NULL,                    -- JSON: the alert as sent (never a secret)
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  suppressed INTEGER NOT NULL DEFAULT 0,    -- later alerts folded into this one (duplicates, over the rate limit)
  last_error TEXT,
  created_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX alert_deliveries_rule ON alert_deliveries(rule_id, created_at);
CREATE INDEX alert_deliveries_created ON alert_deliveries(created_at);

CREATE TABLE alert_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id TEXT NOT NULL REFERENCES alert_deliveries(id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  at TEXT NOT NULL,
  ok INTEGER NOT NULL,
  error TEXT,                               -- "timed out after 10 s", "HTTP 500 Internal Server Error", "certificate: ..."
  duration_ms INTEGER NOT NULL
);
CREATE INDEX alert_attempts_delivery ON alert_attempts(delivery_id, attempt);
