-- 0013: an index for "this event's recent jobs on this server" (issue 18). The notifications ask it on every success
-- (was the run before this one a failure?); with only jobs_event, SQLite read every job of the event to filter by
-- server, which at 200 servers cost seconds of main thread per fleet run.

CREATE INDEX jobs_event_server ON jobs(event_id, server_id, created_at);
