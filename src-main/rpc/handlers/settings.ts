/** settings/* handlers: read and update settings and feature flags through SettingsService. */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export function settingsHandlers(core: Core): HandlersFor<'settings/get' | 'settings/update'> {
  return {
    'settings/get': () => core.settings.view(),
    'settings/update': (patch) => core.settings.update(patch),
  };
}
