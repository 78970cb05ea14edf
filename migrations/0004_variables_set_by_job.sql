-- 0004: which job last set a variable (NULL when set by a person or before this column existed). Shown in the
-- Variables view. Not a foreign key: a variable outlives the jobs that are cleaned up.

ALTER TABLE variables ADD COLUMN set_by_job_id TEXT;
