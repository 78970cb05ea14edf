/** serverSchedules/* handlers: the server-held schedules view (where each fires, stale copies) and "sync and collect now". */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export type ServerSchedulesCallName = 'serverSchedules/list' | 'serverSchedules/collect';

export function serverSchedulesHandlers(core: Core): HandlersFor<ServerSchedulesCallName> {
  return {
    'serverSchedules/list': () => core.serverSchedules.views(),
    'serverSchedules/collect': async (input) => (input?.serverId ? [await core.serverSchedules.sync(input.serverId)] : core.serverSchedules.sweep()),
  };
}
