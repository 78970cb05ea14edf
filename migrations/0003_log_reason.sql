-- 0003: why an attempt's log ended as it did, in words (the job's reason for that attempt). A log of a retried job
-- keeps the reason of its own attempt; the job row only holds the latest one.

ALTER TABLE logs ADD COLUMN reason TEXT;

-- Logs that ended before this column existed take their job's reason.
UPDATE logs SET reason = (SELECT jobs.reason FROM jobs WHERE jobs.id = logs.job_id)
WHERE status IN ('SUCCESS', 'FAILURE', 'TIMEOUT', 'CANCELLED', 'PARTIAL');
