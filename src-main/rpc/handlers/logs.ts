/** logs/* handlers: log lists, lines and search through LogStore; live subscriptions through LogStreamService. */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export function logsHandlers(
  core: Core,
): HandlersFor<'logs/list' | 'logs/get' | 'logs/lines' | 'logs/search' | 'logs/subscribe' | 'logs/unsubscribe'> {
  return {
    'logs/list': (input) => core.logs.store.list(input ?? { limit: 100, offset: 0 }),
    'logs/get': ({ id }) => core.logs.store.get(id),
    'logs/lines': ({ id, afterSeq, limit }) => core.logs.store.lines(id, afterSeq, limit),
    'logs/search': ({ id, query, limit }) => core.logs.store.search(id, query, limit),
    'logs/subscribe': async ({ id }, ctx) => {
      // Refuses unknown ids, so a typo does not leave a subscription behind.
      await core.logs.store.get(id);
      // Kept per client connection: only this client gets the lines, and closing it releases the subscription.
      core.logs.stream.subscribe(id, ctx.connectionId);
      return { ok: true as const };
    },
    'logs/unsubscribe': ({ id }, ctx) => {
      core.logs.stream.unsubscribe(id, ctx.connectionId);
      return { ok: true as const };
    },
  };
}
