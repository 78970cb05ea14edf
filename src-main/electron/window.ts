/**
 * The main window and the hardening every web contents and session gets: sandboxed, context-isolated renderer with
 * no Node, navigation and window.open denied (http(s) links go to the browser through openExternalSafely),
 * permission requests denied. It must never loosen a webPreference or load anything but the app:// entry page.
 */
import { BrowserWindow, type BrowserWindowConstructorOptions, type Session, type WebContents } from 'electron';
import { APP_ENTRY_URL } from './app-protocol';
import { isSafeExternalUrl, openExternalSafely } from './safe-external';

export interface MainWindowPaths {
  /** dist/preload/preload.cjs */
  preloadPath: string;
  /** The window icon (Linux and Windows use it; macOS takes the bundle's). */
  iconPath?: string;
}

/** Pure: the options every app window is created with. */
export function buildMainWindowOptions(paths: MainWindowPaths): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'Cronium Desktop',
    // Shown on 'ready-to-show' so the user never sees an empty white frame.
    show: false,
    backgroundColor: '#1b1f24',
    ...(paths.iconPath ? { icon: paths.iconPath } : {}),
    webPreferences: {
      preload: paths.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  };
}

/**
 * Denies every navigation away from the loaded page and every new window, on any web contents the app creates.
 * A link to an http(s) page opens in the user's browser instead.
 */
export function hardenWebContents(contents: WebContents): void {
  const sendOut = (url: string) => {
    if (isSafeExternalUrl(url)) void openExternalSafely(url);
    else console.warn(`[window] refused to open ${JSON.stringify(url.slice(0, 200))}`);
  };
  contents.on('will-navigate', (event, url) => {
    event.preventDefault();
    sendOut(url);
  });
  contents.on('will-redirect', (event) => {
    event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    sendOut(url);
    return { action: 'deny' };
  });
}

/** Denies every permission (camera, notifications from the page, geolocation, HID, serial, ...) without asking. */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => {
    console.warn(`[window] denied a permission request: ${permission}`);
    callback(false);
  });
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}

export function createMainWindow(paths: MainWindowPaths): BrowserWindow {
  // Navigation and window.open are denied for every web contents by main.ts ('web-contents-created').
  const win = new BrowserWindow(buildMainWindowOptions(paths));
  win.once('ready-to-show', () => win.show());
  void win.loadURL(APP_ENTRY_URL);
  return win;
}
