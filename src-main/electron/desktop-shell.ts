/**
 * DesktopShell: everything the desktop app puts around a started core: the app:// protocol, session hardening, the
 * IPC transport, the window (hidden to the tray on close), the tray and notifications fed from the core's events.
 * main.ts owns the process lifecycle and hands it a core; this must never contain business logic or start the core.
 */
import { BrowserWindow, app, nativeImage, powerMonitor, session } from 'electron';
import type { Core } from '../core/core';
import { createHandlers } from '../rpc/handlers';
import type { AppUpdatesPort } from '../rpc/app-updates';
import { Router } from '../rpc/router';
import { installAppProtocol } from './app-protocol';
import { IpcTransport } from './ipc-transport';
import { NotificationController } from './notifications';
import { TrayController } from './tray';
import type { TrayAction } from './tray-model';
import { createMainWindow, hardenSession } from './window';

export interface DesktopShellPaths {
  /** dist/preload/preload.cjs */
  preload: string;
  /** dist/renderer, served as app://cronium/ */
  renderer: string;
  /** resources/icons/icon.png */
  icon: string;
  /** resources/icons/tray.png */
  trayIcon: string;
}

export class DesktopShell {
  private window: BrowserWindow | null = null;
  private tray: TrayController | null = null;
  private transport: IpcTransport | null = null;
  private unsubscribe: (() => void) | null = null;
  private quitting = false;

  constructor(
    private readonly core: Core,
    private readonly paths: DesktopShellPaths,
    /** The updater (updater.ts); without it the router answers that updates are unsupported. */
    private readonly updates?: AppUpdatesPort,
  ) {}

  /** Call once, after app 'ready' and after the core started. */
  start(): void {
    hardenSession(session.defaultSession);
    installAppProtocol(this.paths.renderer);

    this.transport = new IpcTransport(new Router(createHandlers(this.core, { updates: this.updates }), this.core.bus, [this.core.logs.stream]), () => this.windows());
    this.transport.start();

    try {
      this.tray = new TrayController({ iconPath: this.paths.trayIcon, onAction: (action) => this.onTrayAction(action) });
    } catch (err) {
      console.warn('[desktop-shell] no tray on this desktop; closing the window will quit the app:', err);
    }
    // Alerts come from the core's notification service (preferences, quiet hours and grouping already applied).
    const notifications = new NotificationController({
      onOpenLog: (logId) => this.showLog(logId),
      onOpenWindow: () => this.showWindow(),
      icon: nativeImage.createFromPath(this.paths.icon),
    });
    this.unsubscribe = this.core.bus.subscribe((name, payload) => {
      this.tray?.handleEvent(name, payload);
      notifications.handleEvent(name, payload);
    });

    // After sleep, schedules missed while the machine was suspended get their misfire policies applied at once.
    powerMonitor.on('resume', this.onResume);

    this.showWindow();
  }

  /** Whether closing the window should keep the app running (a tray icon is there to reopen it or quit). */
  get keepsRunningWithoutWindow(): boolean {
    return this.tray !== null;
  }

  /** From now on closing the window closes it for real. */
  prepareToQuit(): void {
    this.quitting = true;
  }

  windows(): BrowserWindow[] {
    return this.window && !this.window.isDestroyed() ? [this.window] : [];
  }

  showWindow(): BrowserWindow {
    if (!this.window || this.window.isDestroyed()) {
      const win = createMainWindow({ preloadPath: this.paths.preload, iconPath: this.paths.icon });
      // With a tray the app keeps running (schedules keep firing): closing the window hides it until Quit.
      win.on('close', (event) => {
        if (!this.quitting && this.tray) {
          event.preventDefault();
          win.hide();
        }
      });
      win.on('closed', () => {
        if (this.window === win) this.window = null;
      });
      this.window = win;
      return win;
    }
    if (this.window.isMinimized()) this.window.restore();
    this.window.show();
    this.window.focus();
    return this.window;
  }

  /** A notification or tray entry was clicked: bring the window forward and have the UI open that log. */
  showLog(logId: string): void {
    const win = this.showWindow();
    const ask = () => this.core.bus.emit('system/openLog', { logId });
    if (win.webContents.isLoading()) win.webContents.once('did-finish-load', ask);
    else ask();
  }

  /** Stops serving the UI; the core is stopped by main.ts afterwards. */
  stop(): void {
    this.quitting = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.transport?.stop();
    this.transport = null;
    this.tray?.destroy();
    this.tray = null;
    powerMonitor.off('resume', this.onResume);
  }

  private readonly onResume = (): void => {
    this.core.scheduler.wiring.notifyWake().catch((err: unknown) => {
      console.error('[desktop-shell] catching up on schedules after resume failed:', err instanceof Error ? err.message : err);
    });
  };

  private onTrayAction(action: TrayAction): void {
    if (action.type === 'open-window') this.showWindow();
    else if (action.type === 'open-log') this.showLog(action.logId);
    else app.quit();
  }
}
