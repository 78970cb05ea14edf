/**
 * AppUpdater: the desktop build's app updates through electron-updater, behind the router's AppUpdatesPort so core,
 * rpc and the renderer never import it. The user's settings choose the channel (stable / beta) and, optionally, a
 * generic feed URL an organisation hosts; the UI asks to check, to download and to restart to update (nothing is
 * downloaded unasked). Unsupported (and electron-updater never loaded) when the app is not packaged: there is no
 * app-update.yml and no signature to check. It must never crash or block the app: every failure is a state with its
 * message, and logged.
 */
import { every, systemClock, type Clock } from '../core/clock';
import { messageOf } from '../core/errors';
import type { AppUpdatesPort } from '../rpc/app-updates';
import type { AppUpdateState } from '../../src-shared/contract/rollout';
import type { UpdateSettings } from '../../src-shared/contract/settings';

/** The part of electron-updater's autoUpdater this uses (its AppUpdater), so tests can hand in a stand-in. */
export interface AutoUpdaterLike {
  logger: unknown;
  autoDownload: boolean;
  autoInstallOnAppQuit: boolean;
  allowPrerelease: boolean;
  allowDowngrade: boolean;
  channel: string | null;
  setFeedURL(options: { provider: 'generic'; url: string; channel?: string }): void;
  checkForUpdates(): Promise<unknown>;
  downloadUpdate(): Promise<unknown>;
  quitAndInstall(isSilent?: boolean, isForceRunAfter?: boolean): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

export interface AppUpdaterOptions {
  isPackaged: boolean;
  currentVersion: string;
  settings: () => UpdateSettings;
  /** Every state change (the shell forwards it to the windows as 'updates/changed'). */
  publish: (state: AppUpdateState) => void;
  /** How often to check again after the first check. */
  intervalMs?: number;
  /** The timers of the repeated check (the system clock unless a test or the core hands in its own). */
  clock?: Clock;
  /** electron-updater's autoUpdater; loaded lazily so an unpackaged app never loads it. */
  load?: () => Promise<AutoUpdaterLike>;
}

const SIX_HOURS_MS = 6 * 60 * 60 * 1000;
export const UNPACKAGED_MESSAGE = 'Updates apply to the installed desktop build only; this copy runs unpackaged (development), so it has no release feed.';

const updaterLog = {
  info: (...args: unknown[]) => console.info('[updater]', ...args),
  warn: (...args: unknown[]) => console.warn('[updater]', ...args),
  error: (...args: unknown[]) => console.error('[updater]', ...args),
  debug: () => undefined,
};

export class AppUpdater implements AppUpdatesPort {
  private updater: AutoUpdaterLike | null = null;
  private timer: { cancel(): void } | null = null;
  private current: AppUpdateState;

  constructor(private readonly opts: AppUpdaterOptions) {
    this.current = this.make(opts.isPackaged ? 'idle' : 'unsupported', { message: opts.isPackaged ? null : UNPACKAGED_MESSAGE });
  }

  /** Loads electron-updater (packaged only), applies the settings, checks once and then on an interval. */
  async start(): Promise<void> {
    if (!this.opts.isPackaged) {
      updaterLog.info('idle: the app is not packaged, so there is no release feed to check');
      return;
    }
    try {
      const load = this.opts.load ?? (async () => (await import('electron-updater')).autoUpdater as unknown as AutoUpdaterLike);
      const updater = await load();
      updater.logger = updaterLog;
      // The user decides: "download" and "restart to update" are buttons, never automatic.
      updater.autoDownload = false;
      updater.autoInstallOnAppQuit = false;
      updater.on('checking-for-update', () => this.set('checking'));
      updater.on('update-available', (info: { version?: string }) => this.set('available', { availableVersion: info?.version ?? null }));
      updater.on('update-not-available', () => this.set('not-available', { availableVersion: null }));
      updater.on('download-progress', (p: { percent?: number }) => this.set('downloading', { percent: Math.round(p?.percent ?? 0) }));
      updater.on('update-downloaded', (info: { version?: string }) => this.set('downloaded', { availableVersion: info?.version ?? this.current.availableVersion, percent: 100 }));
      updater.on('error', (err: unknown) => {
        updaterLog.error('update failed:', err);
        this.set('error', { message: `update failed: ${messageOf(err)}` });
      });
      this.updater = updater;
      this.applySettings();
      void this.check();
      this.timer = every(this.opts.clock ?? systemClock, this.opts.intervalMs ?? SIX_HOURS_MS, () => void this.check());
    } catch (err) {
      updaterLog.error('could not start; updates are off for this session:', err);
      this.set('unsupported', { message: `updates are off for this session: ${messageOf(err)}` });
    }
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** The channel or feed changed in Settings: the next check uses them. */
  applySettings(): void {
    const updater = this.updater;
    if (!updater) {
      this.current = { ...this.current, channel: this.opts.settings().channel, feedUrl: this.opts.settings().feedUrl };
      return;
    }
    const { channel, feedUrl } = this.opts.settings();
    updater.allowPrerelease = channel === 'beta';
    // Back from beta to stable: the stable release may be older than the beta that is installed.
    updater.allowDowngrade = channel === 'stable';
    if (feedUrl) updater.setFeedURL({ provider: 'generic', url: feedUrl, channel: channel === 'beta' ? 'beta' : 'latest' });
    else updater.channel = channel === 'beta' ? 'beta' : 'latest';
    this.current = { ...this.current, channel, feedUrl };
  }

  state(): AppUpdateState {
    return this.current;
  }

  async check(): Promise<AppUpdateState> {
    if (!this.updater) return this.current;
    try {
      await this.updater.checkForUpdates();
    } catch (err) {
      updaterLog.error('update check failed:', err);
      this.set('error', { message: `update check failed: ${messageOf(err)}` });
    }
    return this.current;
  }

  async download(): Promise<AppUpdateState> {
    if (!this.updater) return this.current;
    if (this.current.state !== 'available' && this.current.state !== 'error') {
      return { ...this.current, message: 'there is no update to download; check for updates first' };
    }
    this.set('downloading', { percent: 0, message: null });
    try {
      await this.updater.downloadUpdate();
    } catch (err) {
      updaterLog.error('download failed:', err);
      this.set('error', { message: `download failed: ${messageOf(err)}` });
    }
    return this.current;
  }

  async install(): Promise<AppUpdateState> {
    if (!this.updater) return this.current;
    if (this.current.state !== 'downloaded') return { ...this.current, message: 'no update is downloaded yet' };
    // Closes the windows, then quits through before-quit (the core stops cleanly), installs and starts the new version.
    this.updater.quitAndInstall(false, true);
    return this.current;
  }

  private set(state: AppUpdateState['state'], change: Partial<AppUpdateState> = {}): void {
    this.current = this.make(state, {
      availableVersion: 'availableVersion' in change ? change.availableVersion : this.current.availableVersion,
      percent: change.percent ?? (state === 'downloading' ? this.current.percent : null),
      // A message belongs to the state that set it.
      message: change.message ?? null,
    });
    try {
      this.opts.publish(this.current);
    } catch (err) {
      updaterLog.warn('publishing the update state failed:', err);
    }
  }

  private make(state: AppUpdateState['state'], from: Partial<AppUpdateState>): AppUpdateState {
    const s = this.opts.settings();
    return {
      state,
      currentVersion: this.opts.currentVersion,
      availableVersion: from.availableVersion ?? null,
      percent: from.percent ?? null,
      message: from.message ?? null,
      channel: s.channel,
      feedUrl: s.feedUrl,
    };
  }
}
