-- Issue 16: a workflow run in which a step failed but a failure or condition connection handled it is no longer shown
-- as plain SUCCESS. New runs end HANDLED_FAILURE (workflow-executor.ts); this reclassifies the runs recorded before.
UPDATE workflow_runs
SET status = 'HANDLED_FAILURE'
WHERE status = 'SUCCESS'
  AND EXISTS (
    SELECT 1 FROM workflow_step_runs s
    WHERE s.run_id = workflow_runs.id AND s.status IN ('FAILURE', 'TIMEOUT', 'PARTIAL', 'CANCELLED')
  );
