/** variables/* handlers: the list the Variables view shows (secret values never leave the main process). */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export type VariablesCallName = 'variables/list';

export function variablesHandlers(core: Core): HandlersFor<VariablesCallName> {
  return {
    'variables/list': async () => {
      const rows = await core.variables.list();
      const eventIds = [...new Set(rows.filter((r) => r.scope.startsWith('event:')).map((r) => r.scope.slice('event:'.length)))];
      const names = await core.events.store.names(eventIds);
      return {
        items: rows.map((r) => ({ ...r, eventName: r.scope.startsWith('event:') ? (names.get(r.scope.slice('event:'.length)) ?? null) : null })),
      };
    },
  };
}
