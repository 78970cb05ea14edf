/** servers/* handlers: the server catalogue, connection tests and host-key trust, through ServerService. */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export function serversHandlers(
  core: Core,
): HandlersFor<
  'servers/list' | 'servers/get' | 'servers/save' | 'servers/delete' | 'servers/test' | 'servers/trustHostKey' | 'servers/importPreview' | 'servers/importApply'
> {
  return {
    'servers/list': (input) => core.servers.list(input ?? {}),
    'servers/get': ({ id }) => core.servers.get(id),
    'servers/save': (input) => core.servers.save(input),
    'servers/delete': async ({ id }) => {
      await core.servers.delete(id);
      return { ok: true as const };
    },
    'servers/test': ({ id }) => core.servers.test(id),
    'servers/trustHostKey': ({ id, fingerprint, replace }) => core.servers.trustHostKey(id, fingerprint, replace),
    'servers/importPreview': (input) => core.servers.importPreview(input),
    'servers/importApply': (input) => core.servers.importApply(input),
  };
}
