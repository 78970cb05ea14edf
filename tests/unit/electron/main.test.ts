// The Electron entry point's lifecycle, booted for real against the fake Electron: one instance, a real core in a temp
// data folder, the window up, and a quit that waits for the core to stop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT } from '../../harness/test-core';
import { IPC_INVOKE_CHANNEL } from '../../../src-shared/contract/wire';
import { BrowserWindow, app, invokeFromRenderer, privilegedSchemes, registeredInvokeChannels, resetFakeElectron } from './fake-electron';

vi.mock('electron', () => import('./fake-electron'));
// The workstation in this story has no desktop keyring: keytar fails the way it does without a D-Bus session.
// KeytarSecretStore loads keytar with require() (a native module beside app.asar), which vi.mock cannot reach, so the
// failing keytar is handed to the store through its loadKeytar option.
vi.mock('../../../src-main/core/secrets/keytar-secret-store', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src-main/core/secrets/keytar-secret-store')>();
  const fail = async (): Promise<never> => {
    throw new Error('Cannot autolaunch D-Bus without X11 $DISPLAY');
  };
  class KeytarWithoutKeyring extends original.KeytarSecretStore {
    constructor() {
      super({ loadKeytar: async () => ({ getPassword: fail, setPassword: fail, deletePassword: fail }) });
    }
  }
  return { ...original, KeytarSecretStore: KeytarWithoutKeyring };
});
// Resolve the mock once now: vi.resetModules() below re-runs main.ts for each test but keeps this fake instance.
await import('electron');

describe('the Electron entry point', () => {
  let userData: string;

  beforeEach(() => {
    resetFakeElectron();
    vi.resetModules();
    userData = mkdtempSync(path.join(tmpdir(), 'cronium-main-'));
    app.appPath = REPO_ROOT;
    app.paths = { userData };
    vi.stubEnv('HELPER_API_PORT', '0');
  });
  afterEach(async () => {
    if (!app.quitted && registeredInvokeChannels().length > 0) {
      app.quit();
      await vi.waitFor(() => expect(app.quitted).toBe(true));
    }
    vi.unstubAllEnvs();
    rmSync(userData, { recursive: true, force: true });
  });

  const boot = async () => {
    await import('../../../src-main/electron/main');
    await vi.waitFor(() => expect(BrowserWindow.getAllWindows()).toHaveLength(1), { timeout: 10_000 });
    return BrowserWindow.getAllWindows()[0];
  };

  describe('when another instance is already running', () => {
    it('quits without opening anything', async () => {
      app.singleInstanceLock = false;
      await import('../../../src-main/electron/main');
      expect(app.quitRequested).toBe(1);
      expect(BrowserWindow.getAllWindows()).toHaveLength(0);
      expect(registeredInvokeChannels()).toEqual([]);
    });
  });

  describe('when the app starts on a machine without a keyring', () => {
    it('opens the window anyway and tells the UI what is missing', async () => {
      const win = await boot();
      expect(privilegedSchemes.map((s) => s.scheme)).toEqual(['app']);
      expect(win.options.webPreferences.preload).toBe(path.join(REPO_ROOT, 'dist', 'preload', 'preload.cjs'));
      const info = (await invokeFromRenderer(IPC_INVOKE_CHANNEL, { sender: win.webContents, senderFrame: win.webContents.mainFrame }, 'system/info')) as {
        ok: boolean;
        value: { mode: string; dataDir: string; keychain: { available: boolean; message?: string } };
      };
      expect(info.ok).toBe(true);
      expect(info.value.mode).toBe('electron');
      expect(info.value.dataDir).toBe(userData);
      expect(info.value.keychain.available).toBe(false);
      expect(info.value.keychain.message).toMatch(/No desktop keyring is reachable/);
    });
  });

  describe('when the user starts Cronium a second time', () => {
    it('brings the existing window forward', async () => {
      const win = await boot();
      win.simulateClose(); // hidden to the tray
      expect(win.visible).toBe(false);
      app.emit('second-instance');
      expect(win.visible).toBe(true);
      expect(win.focused).toBe(true);
    });
  });

  describe('when the user quits', () => {
    it('stops serving and stops the core before the process quits', async () => {
      await boot();
      app.quit();
      expect(app.quitted).toBe(false); // held until the core has stopped
      await vi.waitFor(() => expect(app.quitted).toBe(true));
      expect(registeredInvokeChannels()).toEqual([]);
    });
  });
});
