/** runs/* handlers: an event run as a whole (fleet summary, re-run failed, run again, cancel the rest), through EventRunService. */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export function runsHandlers(core: Core): HandlersFor<'runs/get' | 'runs/list' | 'runs/rerunFailed' | 'runs/runAgain' | 'runs/cancelRest'> {
  return {
    'runs/get': ({ id }) => core.runs.get(id),
    'runs/list': ({ eventId, limit }) => core.runs.listForEvent(eventId, limit),
    'runs/rerunFailed': ({ id, parameters }) => core.runs.rerunFailed(id, parameters),
    'runs/runAgain': ({ id, parameters }) => core.runs.runAgain(id, parameters),
    'runs/cancelRest': ({ id }) => core.runs.cancelRest(id),
  };
}
