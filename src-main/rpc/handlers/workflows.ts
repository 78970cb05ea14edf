/**
 * workflows/* handlers: the Workflows pane's calls, straight onto core.workflows. Inputs arrive validated by the router;
 * graph problems come back as INVALID_WORKFLOW with fields keyed nodes.<id> / edges.<id> / graph for the editor.
 */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

type WorkflowCalls =
  | 'workflows/list'
  | 'workflows/get'
  | 'workflows/save'
  | 'workflows/delete'
  | 'workflows/run'
  | 'workflows/cancelRun'
  | 'workflows/resumeRun'
  | 'workflows/runs'
  | 'workflows/runDetail';

export function workflowsHandlers(core: Pick<Core, 'workflows'>): HandlersFor<WorkflowCalls> {
  const { workflows } = core;
  return {
    'workflows/list': () => workflows.list(),
    'workflows/get': ({ id }) => workflows.get(id),
    'workflows/save': (input) => workflows.save(input),
    'workflows/delete': async ({ id }) => {
      await workflows.delete(id);
      return { ok: true as const };
    },
    'workflows/run': ({ id }) => workflows.startRun(id, { trigger: 'manual' }),
    'workflows/cancelRun': ({ runId }) => workflows.cancelRun(runId),
    'workflows/resumeRun': ({ runId, fromNodeId }) => workflows.resumeRun(runId, fromNodeId),
    'workflows/runs': ({ id, limit }) => workflows.runs(id, limit),
    'workflows/runDetail': ({ runId }) => workflows.runDetail(runId),
  };
}
