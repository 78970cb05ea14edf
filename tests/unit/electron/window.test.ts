// The main window and its session: hardened options, no navigation, no new windows, no permissions.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { BrowserWindow, FakeSession, FakeWebContents, openedExternally, resetFakeElectron } from './fake-electron';

vi.mock('electron', () => import('./fake-electron'));
const { buildMainWindowOptions, createMainWindow, hardenSession, hardenWebContents } = await import('../../../src-main/electron/window');

describe('the main window', () => {
  beforeEach(() => resetFakeElectron());

  describe('when the window is created', () => {
    const options = buildMainWindowOptions({ preloadPath: '/app/dist/preload/preload.cjs', iconPath: '/app/resources/icons/icon.png' });

    it('runs the page sandboxed, context-isolated and without Node', () => {
      expect(options.webPreferences).toMatchObject({
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        experimentalFeatures: false,
      });
    });

    it('loads only the preload it is given', () => {
      expect(options.webPreferences?.preload).toBe('/app/dist/preload/preload.cjs');
      expect(options.icon).toBe('/app/resources/icons/icon.png');
    });

    it('loads the app page from app://cronium and shows it only once it is ready', () => {
      const win = createMainWindow({ preloadPath: '/p.cjs' }) as unknown as BrowserWindow;
      expect(win.webContents.loadedUrl).toBe('app://cronium/index.html');
      expect(win.options.webPreferences.sandbox).toBe(true);
      expect(win.visible).toBe(false);
      win.emit('ready-to-show');
      expect(win.visible).toBe(true);
    });
  });

  describe('when the page tries to navigate', () => {
    let contents: FakeWebContents;
    beforeEach(() => {
      contents = new FakeWebContents('app://cronium/index.html');
      hardenWebContents(contents as never);
    });

    it('stays where it is and opens an http(s) link in the browser instead', async () => {
      expect(contents.simulateNavigation('https://example.com/docs')).toBe(false);
      await Promise.resolve();
      expect(openedExternally).toEqual(['https://example.com/docs']);
    });

    it('stays where it is and opens nothing for a file: or javascript: URL', async () => {
      expect(contents.simulateNavigation('file:///etc/passwd')).toBe(false);
      expect(contents.simulateNavigation('javascript:alert(1)')).toBe(false);
      expect(contents.simulateNavigation('app://cronium/other.html')).toBe(false);
      await Promise.resolve();
      expect(openedExternally).toEqual([]);
    });

    it('refuses redirects and webviews', () => {
      expect(contents.simulateNavigation('https://evil.example', 'will-redirect')).toBe(false);
      expect(contents.simulateNavigation('about:blank', 'will-attach-webview')).toBe(false);
    });
  });

  describe('when the page calls window.open', () => {
    it('denies the new window, sending only http(s) links to the browser', async () => {
      const contents = new FakeWebContents('app://cronium/index.html');
      hardenWebContents(contents as never);
      expect(contents.windowOpenHandler?.({ url: 'https://example.com' })).toEqual({ action: 'deny' });
      expect(contents.windowOpenHandler?.({ url: 'smb://attacker/share' })).toEqual({ action: 'deny' });
      expect(contents.windowOpenHandler?.({ url: 'app://cronium/index.html' })).toEqual({ action: 'deny' });
      await Promise.resolve();
      expect(openedExternally).toEqual(['https://example.com/']);
    });
  });

  describe('when the page asks for a permission', () => {
    it.each(['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'hid', 'serial'])('denies %s', (permission) => {
      const s = new FakeSession();
      hardenSession(s as never);
      const answers: boolean[] = [];
      s.permissionRequestHandler?.({}, permission, (granted) => answers.push(granted));
      expect(answers).toEqual([false]);
      expect(s.permissionCheckHandler?.({}, permission, 'app://cronium')).toBe(false);
      expect(s.devicePermissionHandler?.({ deviceType: permission, origin: 'app://cronium' })).toBe(false);
    });
  });
});
