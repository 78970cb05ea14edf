/** events/* handlers: the event catalogue through EventService; "Run now" through JobService. */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export function eventsHandlers(
  core: Core,
): HandlersFor<'events/list' | 'events/get' | 'events/save' | 'events/duplicate' | 'events/delete' | 'events/run' | 'events/history'> {
  return {
    'events/list': (input) => core.events.list(input ?? {}),
    'events/get': ({ id }) => core.events.get(id),
    'events/save': (input) => core.events.save(input),
    'events/duplicate': ({ id }) => core.events.duplicate(id),
    'events/delete': async ({ id }) => {
      await core.events.delete(id);
      return { ok: true as const };
    },
    'events/run': async ({ id, serverIds }) => ({ jobs: await core.jobs.runEvent({ eventId: id, serverIds, trigger: 'manual' }) }),
    'events/history': ({ id, limit }) => core.events.history(id, limit),
  };
}
