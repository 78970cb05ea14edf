// The desktop shell around a real core (SQLite file in a temp folder, real router and handlers): what the user sees
// in the window, the tray and notifications. Electron itself is the fake; everything behind the IPC channel is real.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import path from 'node:path';
import { createTestCore, REPO_ROOT, type TestCore } from '../../harness/test-core';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../../src-shared/contract/wire';
import { jobChanged } from './job-events';
import { ManualClock } from '../../harness/manual-clock';
import {
  BrowserWindow,
  invokeFromRenderer,
  notifications,
  powerMonitor,
  protocolHandlers,
  registeredInvokeChannels,
  resetFakeElectron,
  session,
  trays,
} from './fake-electron';

vi.mock('electron', () => import('./fake-electron'));
const { DesktopShell } = await import('../../../src-main/electron/desktop-shell');

const paths = {
  preload: path.join(REPO_ROOT, 'dist', 'preload', 'preload.cjs'),
  renderer: path.join(REPO_ROOT, 'dist', 'renderer'),
  icon: path.join(REPO_ROOT, 'resources', 'icons', 'icon.png'),
  trayIcon: path.join(REPO_ROOT, 'resources', 'icons', 'tray.png'),
};

describe('the desktop shell', () => {
  let testCore: TestCore;
  let secrets: MemorySecretStore;
  let shell: InstanceType<typeof DesktopShell>;
  let win: BrowserWindow;
  let clock: ManualClock;

  // The bus is typed by the merged contract; 'jobs/changed' is emitted by the jobs service, simulated here.
  const emitJob = (payload: unknown) => (testCore.core.bus.emit as (name: string, payload: unknown) => void)('jobs/changed', payload);
  const invoke = (name: string, input?: unknown) =>
    invokeFromRenderer(IPC_INVOKE_CHANNEL, { sender: win.webContents, senderFrame: win.webContents.mainFrame }, name, input) as Promise<{
      ok: boolean;
      value?: any;
      error?: { code: string; message: string };
    }>;
  const eventsSentToWindow = (name: string) => win.webContents.sent.filter((f) => f[0] === IPC_EVENT_CHANNEL && f[1] === name).map((f) => f[2]);

  beforeEach(async () => {
    resetFakeElectron();
    secrets = new MemorySecretStore();
    clock = new ManualClock('2026-03-02T12:00:00.000Z');
    testCore = await createTestCore({ secrets, clock });
    // main.ts starts the whole core; this test starts only the notification service the shell's alerts come from.
    testCore.core.notifications.start();
    shell = new DesktopShell(testCore.core, paths);
    shell.start();
    win = BrowserWindow.getAllWindows()[0];
  });
  afterEach(async () => {
    shell.stop();
    await testCore.cleanup();
  });

  describe('when the app starts', () => {
    it('opens one hardened window on app://cronium with the preload, and serves the UI over app://', () => {
      expect(BrowserWindow.getAllWindows()).toHaveLength(1);
      expect(win.webContents.loadedUrl).toBe('app://cronium/index.html');
      expect(win.options.webPreferences).toMatchObject({ preload: paths.preload, sandbox: true, contextIsolation: true, nodeIntegration: false });
      expect(protocolHandlers.has('app')).toBe(true);
      expect(registeredInvokeChannels()).toEqual([IPC_INVOKE_CHANNEL]);
      expect(session.defaultSession.permissionCheckHandler?.({}, 'media', 'app://cronium')).toBe(false);
    });

    it('puts an icon in the tray saying nothing is running', () => {
      expect(trays).toHaveLength(1);
      expect(trays[0].image.path).toBe(paths.trayIcon);
      expect(trays[0].tooltip).toBe('Cronium Desktop: no jobs running');
    });

    it('answers the page over IPC from the real core', async () => {
      const info = await invoke('system/info');
      expect(info).toMatchObject({ ok: true, value: { mode: 'serve', dataDir: testCore.dataDir, keychain: { available: true } } });
    });
  });

  describe('when the keychain is unavailable', () => {
    it('still serves the UI and tells it what is missing', async () => {
      secrets.setUnavailable('No desktop keyring is reachable: start a D-Bus session and a Secret Service.');
      const info = await invoke('system/info');
      expect(info.ok).toBe(true);
      expect(info.value.keychain).toEqual({ available: false, message: 'No desktop keyring is reachable: start a D-Bus session and a Secret Service.' });
    });
  });

  /** Lets the notification service record what the bus carried and close its group window. */
  const settleAlerts = async () => {
    await testCore.core.notifications.idle();
    await clock.advance(testCore.core.settings.current().notifications.groupWindowSeconds * 1000);
  };

  describe('when a job fails', () => {
    beforeEach(async () => {
      emitJob(jobChanged('a', 'RUNNING'));
      emitJob(jobChanged('a', 'FAILURE', { reason: 'exit code 2' }));
      await settleAlerts();
    });

    it('notifies, lists the result in the tray and counts the unread notification there', () => {
      expect(notifications.map((n) => [n.options.title, n.options.body])).toEqual([['backup a', 'db-1: failed (exit code 2)']]);
      expect(trays[0].contextMenu?.items.map((i) => i.label)).toContain('backup a on db-1: failed');
      expect(trays[0].contextMenu?.items.map((i) => i.label)).toContain('1 unread notification');
      expect(trays[0].tooltip).toBe('Cronium Desktop: no jobs running, 1 unread notification');
    });

    describe('and the user clicks the notification while the window is hidden', () => {
      it('shows and focuses the window and asks the UI to open that log', () => {
        expect(win.simulateClose()).toBe(false);
        expect(win.visible).toBe(false);
        notifications[0].click();
        expect(win.visible).toBe(true);
        expect(win.focused).toBe(true);
        expect(eventsSentToWindow('system/openLog')).toEqual([{ logId: 'log-a' }]);
      });
    });

    describe('and the user picks the result in the tray menu', () => {
      it('asks the UI to open that log', () => {
        trays[0].clickMenuItem('backup a on db-1: failed');
        expect(eventsSentToWindow('system/openLog')).toEqual([{ logId: 'log-a' }]);
      });
    });
  });

  describe('when the user turns on success notifications from the page', () => {
    it('saves the setting and notifies on the next success', async () => {
      emitJob(jobChanged('s1', 'SUCCESS'));
      await settleAlerts();
      expect(notifications).toHaveLength(0);
      const updated = await invoke('settings/update', { notifications: { onSuccess: true } });
      expect(updated.ok).toBe(true);
      expect(eventsSentToWindow('settings/changed')).toHaveLength(1);
      emitJob(jobChanged('s2', 'SUCCESS'));
      await settleAlerts();
      expect(notifications.map((n) => n.options.body)).toEqual(['db-1: succeeded']);
    });
  });

  describe('when the user closes the window', () => {
    it('hides it to the tray, and closes it for real once the app is quitting', () => {
      expect(win.simulateClose()).toBe(false);
      expect(win.isDestroyed()).toBe(false);
      trays[0].clickMenuItem('Open Cronium');
      expect(win.visible).toBe(true);
      shell.prepareToQuit();
      expect(win.simulateClose()).toBe(true);
      expect(shell.windows()).toEqual([]);
    });
  });

  describe('when the machine wakes from sleep', () => {
    it('asks the scheduler to apply the misfire policies to what was missed', () => {
      const notifyWake = vi.spyOn(testCore.core.scheduler.wiring, 'notifyWake').mockResolvedValue();
      powerMonitor.emit('resume');
      expect(notifyWake).toHaveBeenCalledTimes(1);
    });
  });

  describe('when the shell stops', () => {
    it('stops serving IPC and removes the tray icon', () => {
      shell.stop();
      expect(registeredInvokeChannels()).toEqual([]);
      expect(trays[0].isDestroyed()).toBe(true);
    });
  });
});
