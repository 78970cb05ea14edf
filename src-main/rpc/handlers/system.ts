/** system/* handlers: what the app is and whether its keychain works. */
import type { Core } from '../../core/core';
import { isAppError } from '../../core/errors';
import type { HandlersFor } from '../router';

export function systemHandlers(core: Core): HandlersFor<'system/info' | 'system/ping'> {
  return {
    'system/info': async () => {
      let keychain: { available: boolean; message?: string } = { available: true };
      try {
        await core.secrets.check();
      } catch (err) {
        keychain = { available: false, message: isAppError(err) ? err.message : String(err) };
      }
      return {
        appVersion: core.config.appVersion,
        mode: core.config.mode,
        dataDir: core.config.dataDir,
        listenerPort: core.listener.port,
        keychain,
      };
    },
    'system/ping': () => ({ at: new Date(core.clock.now()).toISOString() }),
  };
}
