/**
 * AppUpdatesPort: the one way the router reaches app updates. The Electron shell implements it with electron-updater
 * (src-main/electron/updater.ts); serve mode and tests get `updatesUnsupported`, which says that updates apply to
 * the desktop build only. Keeps 'electron' and 'electron-updater' out of core, rpc and the renderer.
 */
import type { AppUpdateState } from '../../src-shared/contract/rollout';
import type { UpdateSettings } from '../../src-shared/contract/settings';

export interface AppUpdatesPort {
  state(): AppUpdateState;
  check(): Promise<AppUpdateState>;
  download(): Promise<AppUpdateState>;
  /** Quits and installs a downloaded update. */
  install(): Promise<AppUpdateState>;
}

export const SERVE_MODE_UPDATES_MESSAGE =
  'Updates apply to the desktop build only: this window is served by `cronium serve`; update the installed desktop app (or redeploy serve mode) to get a new version.';

/** For serve mode (and an unpackaged build): every call answers with the same 'unsupported' state and its reason. */
export function updatesUnsupported(currentVersion: string, settings: () => UpdateSettings, message = SERVE_MODE_UPDATES_MESSAGE): AppUpdatesPort {
  const state = (): AppUpdateState => ({
    state: 'unsupported', currentVersion, availableVersion: null, percent: null, message,
    channel: settings().channel, feedUrl: settings().feedUrl,
  });
  return { state, check: async () => state(), download: async () => state(), install: async () => state() };
}
