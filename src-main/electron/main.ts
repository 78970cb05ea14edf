/**
 * The Electron entry point: lifecycle only. One instance; at ready it builds the core (createCore) with the OS
 * keychain, the router and the IPC transport, the app:// protocol, the window, tray, notifications and updater, and
 * stops the core before quitting. It must never hold business logic: everything the UI does goes through the router.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BrowserWindow, app, dialog, nativeImage, session } from 'electron';
import { createCore, type Core } from '../core/core';
import { KeytarSecretStore } from '../core/secrets/keytar-secret-store';
import { createHandlers } from '../rpc/handlers';
import { Router } from '../rpc/router';
import { installAppProtocol, registerAppScheme } from './app-protocol';
import { IpcTransport } from './ipc-transport';
import { NotificationController } from './notifications';
import { TrayController } from './tray';
import type { TrayAction } from './tray-model';
import { startUpdater, type UpdaterHandle } from './updater';
import { createMainWindow, hardenSession, hardenWebContents } from './window';

/** The folder holding package.json: the repo when run with `electron .`, app.asar when packaged. */
const appRoot = app.getAppPath();
const paths = {
  preload: path.join(appRoot, 'dist', 'preload', 'preload.cjs'),
  renderer: path.join(appRoot, 'dist', 'renderer'),
  migrations: path.join(appRoot, 'migrations'),
  resources: path.join(appRoot, 'resources'),
  icon: path.join(appRoot, 'resources', 'icons', 'icon.png'),
  trayIcon: path.join(appRoot, 'resources', 'icons', 'tray.png'),
};

let core: Core | null = null;
let transport: IpcTransport | null = null;
let tray: TrayController | null = null;
let updater: UpdaterHandle | null = null;
let mainWindow: BrowserWindow | null = null;
let quitting = false;
let shutdown: Promise<void> | null = null;
let stopped = false;

function ownWindows(): BrowserWindow[] {
  return mainWindow && !mainWindow.isDestroyed() ? [mainWindow] : [];
}

function showWindow(): BrowserWindow {
  if (!mainWindow || mainWindow.isDestroyed()) {
    const win = createMainWindow({ preloadPath: paths.preload, iconPath: paths.icon });
    // With a tray the app keeps running (schedules keep firing): closing the window hides it until Quit.
    win.on('close', (event) => {
      if (!quitting && tray) {
        event.preventDefault();
        win.hide();
      }
    });
    win.on('closed', () => {
      if (mainWindow === win) mainWindow = null;
    });
    mainWindow = win;
    return win;
  }
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.show();
  mainWindow.focus();
  return mainWindow;
}

/** A notification or tray entry was clicked: bring the window forward and have the UI open that log. */
function showLog(logId: string): void {
  const win = showWindow();
  const ask = () => core?.bus.emit('system/openLog', { logId });
  if (win.webContents.isLoading()) win.webContents.once('did-finish-load', ask);
  else ask();
}

function onTrayAction(action: TrayAction): void {
  if (action.type === 'open-window') showWindow();
  else if (action.type === 'open-log') showLog(action.logId);
  else app.quit();
}

function fatal(title: string, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`[main] ${title}:`, err);
  dialog.showErrorBox(title, message);
  app.exit(1);
}

async function startShell(): Promise<void> {
  hardenSession(session.defaultSession);
  installAppProtocol(paths.renderer);

  const dataDir = app.getPath('userData');
  mkdirSync(dataDir, { recursive: true });
  try {
    core = await createCore(
      {
        dataDir,
        migrationsDir: paths.migrations,
        resourcesDir: paths.resources,
        mode: 'electron',
        appVersion: app.getVersion(),
        env: process.env,
      },
      // Never falls back to another store: without a keychain the app opens and says what is missing
      // (system/info reports it), and calls that need a secret fail with KEYCHAIN_UNAVAILABLE.
      { secrets: new KeytarSecretStore() },
    );
    await core.start();
  } catch (err) {
    fatal('Cronium Desktop could not start', err);
    return;
  }
  const started = core;

  transport = new IpcTransport(new Router(createHandlers(started), started.bus), ownWindows);
  transport.start();

  try {
    tray = new TrayController({ iconPath: paths.trayIcon, onAction: onTrayAction });
  } catch (err) {
    console.warn('[main] no tray on this desktop; closing the window will quit the app:', err);
  }
  const notifications = new NotificationController({
    preferences: () => started.settings.current().notifications,
    onOpenLog: showLog,
    icon: nativeImage.createFromPath(paths.icon),
  });
  started.bus.subscribe((name, payload) => {
    tray?.handleEvent(name, payload);
    notifications.handleEvent(name, payload);
  });

  showWindow();

  started.secrets.check().catch((err: unknown) => {
    console.warn('[main] the keychain is unavailable; the UI shows why:', err instanceof Error ? err.message : err);
  });
  updater = await startUpdater({ isPackaged: app.isPackaged });
}

async function stopShell(): Promise<void> {
  updater?.stop();
  transport?.stop();
  tray?.destroy();
  tray = null;
  await core?.stop();
}

registerAppScheme();
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  // Another Cronium is running: it gets the 'second-instance' event and shows its window.
  app.quit();
} else {
  if (process.platform === 'win32') app.setAppUserModelId('com.cronium.desktop');
  app.on('second-instance', () => {
    if (app.isReady() && core) showWindow();
  });
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));
  app.on('activate', () => {
    if (core) showWindow();
  });
  app.on('window-all-closed', () => {
    if (!tray) app.quit();
  });
  app.on('before-quit', (event) => {
    quitting = true;
    if (stopped) return;
    // Hold the quit until the core has stopped (jobs recorded, database closed), then quit for real.
    event.preventDefault();
    shutdown ??= stopShell()
      .catch((err: unknown) => console.error('[main] error while stopping:', err))
      .finally(() => {
        stopped = true;
        app.quit();
      });
  });
  app
    .whenReady()
    .then(startShell)
    .catch((err: unknown) => fatal('Cronium Desktop could not start', err));
}
