// The updater glue: unsupported (electron-updater never loaded) in an unpackaged build; when packaged, the channel and
// feed from Settings reach electron-updater, "download" and "restart to update" happen only when asked, every state
// change is published, and a failing feed never crashes the app. electron-updater needs a running Electron, so a
// stand-in records what the shell asks of it; the router is the real one, reached through the desktop shell's port.
import type { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppUpdateState } from '../../../src-shared/contract/rollout';
import type { UpdateSettings } from '../../../src-shared/contract/settings';

vi.mock('electron', () => import('./fake-electron'));

const updaterState = vi.hoisted(() => ({ imported: 0, checks: 0, downloads: 0, installs: [] as unknown[][], feeds: [] as unknown[], failCheck: false, nextVersion: '2.0.0' as string | null }));
vi.mock('electron-updater', async () => {
  const { EventEmitter } = await import('node:events');
  updaterState.imported += 1;
  class FakeAutoUpdater extends EventEmitter {
    logger: unknown = null;
    autoDownload = true;
    autoInstallOnAppQuit = true;
    allowPrerelease = false;
    allowDowngrade = false;
    channel: string | null = null;
    setFeedURL(options: unknown) {
      updaterState.feeds.push(options);
    }
    async checkForUpdates() {
      updaterState.checks += 1;
      if (updaterState.failCheck) throw new Error('net::ERR_NAME_NOT_RESOLVED');
      this.emit('checking-for-update');
      if (updaterState.nextVersion) this.emit('update-available', { version: updaterState.nextVersion });
      else this.emit('update-not-available', {});
      return null;
    }
    async downloadUpdate() {
      updaterState.downloads += 1;
      this.emit('download-progress', { percent: 42.4 });
      this.emit('update-downloaded', { version: updaterState.nextVersion });
      return [];
    }
    quitAndInstall(...args: unknown[]) {
      updaterState.installs.push(args);
    }
  }
  return { autoUpdater: new FakeAutoUpdater() };
});
const { AppUpdater, UNPACKAGED_MESSAGE } = await import('../../../src-main/electron/updater');

async function autoUpdater() {
  return (await import('electron-updater')).autoUpdater as unknown as EventEmitter & { allowPrerelease: boolean; autoDownload: boolean; channel: string | null; logger: unknown };
}

describe('the app updater', () => {
  let errors: unknown[][];
  let published: AppUpdateState[];
  let settings: UpdateSettings;
  let updater: InstanceType<typeof AppUpdater> | null;

  const make = (isPackaged: boolean, intervalMs?: number) =>
    (updater = new AppUpdater({ isPackaged, currentVersion: '1.0.0', settings: () => settings, publish: (s) => published.push(s), ...(intervalMs ? { intervalMs } : {}) }));

  beforeEach(async () => {
    // One autoUpdater per process, as in electron-updater: the previous test's updater lets go of it.
    (await autoUpdater()).removeAllListeners();
    Object.assign(updaterState, { checks: 0, downloads: 0, installs: [], feeds: [], failCheck: false, nextVersion: '2.0.0' });
    settings = { channel: 'stable', feedUrl: '' };
    published = [];
    errors = [];
    updater = null;
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args));
    vi.spyOn(console, 'info').mockImplementation(() => undefined);
  });
  afterEach(() => {
    updater?.stop();
    vi.restoreAllMocks();
  });

  describe('when the app runs unpackaged (development)', () => {
    it('says updates apply to the installed desktop build only, and never loads electron-updater', async () => {
      const before = updaterState.imported;
      const u = make(false);
      await u.start();
      expect(u.state()).toMatchObject({ state: 'unsupported', message: UNPACKAGED_MESSAGE, currentVersion: '1.0.0' });
      expect(await u.download()).toMatchObject({ state: 'unsupported' });
      expect(updaterState.imported).toBe(before);
      expect(updaterState.checks).toBe(0);
    });
  });

  describe('when the app is packaged', () => {
    it('checks at start and on an interval, downloading nothing unasked', async () => {
      vi.useFakeTimers();
      try {
        const u = make(true, 1000);
        await u.start();
        expect(updaterState.checks).toBe(1);
        expect((await autoUpdater()).autoDownload).toBe(false);
        await vi.advanceTimersByTimeAsync(2500);
        expect(updaterState.checks).toBe(3);
        u.stop();
        await vi.advanceTimersByTimeAsync(5000);
        expect(updaterState.checks).toBe(3);
        expect(updaterState.downloads).toBe(0);
        expect(u.state()).toMatchObject({ state: 'available', availableVersion: '2.0.0' });
      } finally {
        vi.useRealTimers();
      }
    });

    it('downloads when the user asks, then restarts to update when asked', async () => {
      const u = make(true);
      await u.start();
      expect(await u.install()).toMatchObject({ message: 'no update is downloaded yet' });
      expect(updaterState.installs).toEqual([]);
      const downloaded = await u.download();
      expect(downloaded).toMatchObject({ state: 'downloaded', availableVersion: '2.0.0', percent: 100 });
      expect(published.map((s) => s.state)).toEqual(['checking', 'available', 'downloading', 'downloading', 'downloaded']);
      expect(published.find((s) => s.percent === 42)).toBeDefined();
      await u.install();
      expect(updaterState.installs).toEqual([[false, true]]);
    });

    it('uses the beta channel and an organisation\'s own feed from Settings', async () => {
      const u = make(true);
      await u.start();
      expect((await autoUpdater()).allowPrerelease).toBe(false);
      expect((await autoUpdater()).channel).toBe('latest');
      settings = { channel: 'beta', feedUrl: 'https://updates.example.org/cronium' };
      u.applySettings();
      expect((await autoUpdater()).allowPrerelease).toBe(true);
      expect(updaterState.feeds.at(-1)).toEqual({ provider: 'generic', url: 'https://updates.example.org/cronium', channel: 'beta' });
      expect(u.state()).toMatchObject({ channel: 'beta', feedUrl: 'https://updates.example.org/cronium' });
    });

    it('turns a failed check into an error state with its reason instead of crashing', async () => {
      updaterState.failCheck = true;
      const u = make(true);
      await u.start();
      expect(await u.check()).toMatchObject({ state: 'error', message: 'update check failed: net::ERR_NAME_NOT_RESOLVED' });
      expect(errors.some((e) => e[0] === '[updater]' && String(e[1]).includes('update check failed'))).toBe(true);
    });

    it('reports errors electron-updater raises later', async () => {
      const u = make(true);
      await u.start();
      const au = await autoUpdater();
      expect(au.logger).not.toBeNull();
      expect(() => au.emit('error', new Error('sha512 checksum mismatch'))).not.toThrow();
      expect(u.state()).toMatchObject({ state: 'error', message: 'update failed: sha512 checksum mismatch' });
    });
  });

  describe('when the window asks through the router', () => {
    it('reaches the updater through the desktop shell\'s port, and serve mode says desktop build only', async () => {
      const { createHandlers } = await import('../../../src-main/rpc/handlers');
      const { SERVE_MODE_UPDATES_MESSAGE } = await import('../../../src-main/rpc/app-updates');
      const u = make(true);
      await u.start();
      const core = { config: { appVersion: '1.0.0' }, settings: { current: () => ({ updates: settings }) } } as never;
      const desktop = createHandlers(core, { updates: u });
      expect(await desktop['updates/download'](undefined as never, {} as never)).toMatchObject({ state: 'downloaded' });
      const serve = createHandlers(core);
      expect(await serve['updates/state'](undefined as never, {} as never)).toMatchObject({ state: 'unsupported', message: SERVE_MODE_UPDATES_MESSAGE });
    });
  });
});
