/** events/* handlers: the event catalogue through EventService; "Run now" through JobService. */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export function eventsHandlers(
  core: Core,
): HandlersFor<'events/list' | 'events/get' | 'events/save' | 'events/duplicate' | 'events/delete' | 'events/run' | 'events/history' | 'events/scriptVersions' | 'events/scriptVersion'> {
  return {
    'events/list': (input) => core.events.list(input ?? {}),
    'events/get': ({ id }) => core.events.get(id),
    'events/save': (input) => core.events.save(input),
    'events/duplicate': ({ id }) => core.events.duplicate(id),
    'events/delete': async ({ id }) => {
      await core.events.delete(id);
      return { ok: true as const };
    },
    'events/run': async ({ id, serverIds, targetTags, parameters, directSshAnyway }) => {
      // Phase 5: with direct-ssh only a fallback, a manual direct run needs the user's explicit choice.
      const event = await core.events.get(id);
      core.execution.policy.checkManualRun(event.name, event.executionMode, directSshAnyway === true);
      const run = await core.jobs.startRun({ eventId: id, serverIds, targetTags, parameters, trigger: 'manual' });
      return { jobs: run.jobs, runId: run.runId };
    },
    'events/history': ({ id, limit }) => core.events.history(id, limit),
    'events/scriptVersions': ({ id }) => core.events.scriptVersions(id),
    'events/scriptVersion': ({ id, version }) => core.events.scriptVersion(id, version),
  };
}
