/** jobs/* handlers: job lists, details and cancel, through JobService. */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export function jobsHandlers(core: Core): HandlersFor<'jobs/list' | 'jobs/get' | 'jobs/cancel'> {
  return {
    'jobs/list': (input) => core.jobs.list(input ?? {}),
    'jobs/get': ({ id }) => core.jobs.get(id),
    'jobs/cancel': ({ id }) => core.jobs.cancel(id),
  };
}
