/**
 * The Electron entry point: process lifecycle only. One instance; at ready it starts the core (createCore) with the
 * OS keychain, then the DesktopShell (window, IPC, tray, notifications) and the updater; before quitting it stops the
 * shell and then the core. It must never hold business logic: everything the UI does goes through the router.
 */
import path from 'node:path';
import { app, dialog } from 'electron';
import { createCore, type Core } from '../core/core';
import { KeytarSecretStore } from '../core/secrets/keytar-secret-store';
import { registerAppScheme } from './app-protocol';
import { DesktopShell } from './desktop-shell';
import { AppUpdater } from './updater';
import { hardenWebContents } from './window';
import { messageOf } from '../core/errors';
import { preparePrivateDataDir } from '../core/db/database';

/** The folder holding package.json: the repo when run with `electron .`, app.asar when packaged. */
const appRoot = app.getAppPath();

let core: Core | null = null;
let shell: DesktopShell | null = null;
let updater: AppUpdater | null = null;
let shutdown: Promise<void> | null = null;
let stopped = false;

function fatal(title: string, err: unknown): void {
  const message = messageOf(err);
  console.error(`[main] ${title}:`, err);
  dialog.showErrorBox(title, message);
  app.exit(1);
}

async function startApp(): Promise<void> {
  const dataDir = app.getPath('userData');
  preparePrivateDataDir(dataDir);
  try {
    core = await createCore(
      {
        dataDir,
        migrationsDir: path.join(appRoot, 'migrations'),
        resourcesDir: path.join(appRoot, 'resources'),
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
  updater = new AppUpdater({
    isPackaged: app.isPackaged,
    currentVersion: app.getVersion(),
    settings: () => started.settings.current().updates,
    publish: (state) => started.bus.emit('updates/changed', state),
    clock: started.clock,
  });
  const appUpdater = updater;
  core.bus.subscribe((name) => {
    if (name === 'settings/changed') appUpdater.applySettings();
  });
  shell = new DesktopShell(core, {
    preload: path.join(appRoot, 'dist', 'preload', 'preload.cjs'),
    renderer: path.join(appRoot, 'dist', 'renderer'),
    icon: path.join(appRoot, 'resources', 'icons', 'icon.png'),
    trayIcon: path.join(appRoot, 'resources', 'icons', 'tray.png'),
  }, updater);
  shell.start();

  core.secrets.check().catch((err: unknown) => {
    console.warn('[main] the keychain is unavailable; the UI shows why:', err instanceof Error ? err.message : err);
  });
  await updater.start();
}

async function stopApp(): Promise<void> {
  updater?.stop();
  shell?.stop();
  await core?.stop();
}

registerAppScheme();
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  // Another Cronium is running: it gets 'second-instance' and shows its window.
  app.quit();
} else {
  if (process.platform === 'win32') app.setAppUserModelId('com.cronium.desktop');
  app.on('second-instance', () => shell?.showWindow());
  app.on('activate', () => shell?.showWindow());
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));
  app.on('window-all-closed', () => {
    if (!shell?.keepsRunningWithoutWindow) app.quit();
  });
  app.on('before-quit', (event) => {
    shell?.prepareToQuit();
    if (stopped) return;
    // Hold the quit until the core has stopped (jobs recorded, database closed), then quit for real.
    event.preventDefault();
    shutdown ??= stopApp()
      .catch((err: unknown) => console.error('[main] error while stopping:', err))
      .finally(() => {
        stopped = true;
        app.quit();
      });
  });
  app
    .whenReady()
    .then(startApp)
    .catch((err: unknown) => fatal('Cronium Desktop could not start', err));
}
