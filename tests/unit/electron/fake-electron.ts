/**
 * FakeElectron: a stand-in for the 'electron' module, because no Electron binary can run on these machines.
 * Tests load it with `vi.mock('electron', () => import('./fake-electron'))` and then drive it like Electron would
 * (emit will-navigate, invoke over IPC from a chosen frame, click a notification) and read what the shell did.
 * It imitates only the behaviour the shell relies on; it decides nothing about what the shell should do.
 */
import { EventEmitter } from 'node:events';

export class FakeWebFrameMain {
  constructor(
    public url: string,
    public readonly parent: FakeWebFrameMain | null = null,
  ) {}
}

/** An Electron event with preventDefault, as will-navigate and friends receive it. */
export class FakePreventableEvent {
  defaultPrevented = false;
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

type WindowOpenHandler = (details: { url: string }) => { action: 'allow' | 'deny' };

let nextContentsId = 1;

export class FakeWebContents extends EventEmitter {
  readonly id = nextContentsId++;
  readonly mainFrame: FakeWebFrameMain;
  /** Every webContents.send(channel, ...args), in order. */
  readonly sent: unknown[][] = [];
  windowOpenHandler: WindowOpenHandler | null = null;
  loadedUrl: string | null = null;
  loading = false;
  private destroyed = false;

  constructor(url = 'about:blank') {
    super();
    this.mainFrame = new FakeWebFrameMain(url);
  }

  send(channel: string, ...args: unknown[]): void {
    if (this.destroyed) throw new Error('Object has been destroyed');
    this.sent.push([channel, ...args]);
    // A page running the preload in this contents hears it, as ipcRenderer would.
    if (rendererContext.contents === this) ipcRenderer.emit(channel, { sender: ipcRenderer }, ...args);
  }
  setWindowOpenHandler(handler: WindowOpenHandler): void {
    this.windowOpenHandler = handler;
  }
  async loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    this.mainFrame.url = url;
  }
  isLoading(): boolean {
    return this.loading;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** Test helper: what Chromium does when the page navigates; returns whether it was allowed. */
  simulateNavigation(url: string, eventName = 'will-navigate'): boolean {
    const event = new FakePreventableEvent();
    this.emit(eventName, event, url);
    return !event.defaultPrevented;
  }
}

const allWindows = new Set<BrowserWindow>();

export class BrowserWindow extends EventEmitter {
  readonly webContents: FakeWebContents;
  visible = false;
  focused = false;
  minimized = false;
  private destroyed = false;

  constructor(readonly options: Record<string, any> = {}) {
    super();
    this.webContents = new FakeWebContents();
    allWindows.add(this);
  }
  static getAllWindows(): BrowserWindow[] {
    return [...allWindows].filter((w) => !w.isDestroyed());
  }
  loadURL(url: string): Promise<void> {
    return this.webContents.loadURL(url);
  }
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  focus(): void {
    this.focused = true;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  destroy(): void {
    this.destroyed = true;
    this.webContents.destroy();
    allWindows.delete(this);
    this.emit('closed');
  }
  /** Test helper: the user clicks the close button; returns whether the window really closed. */
  simulateClose(): boolean {
    const event = new FakePreventableEvent();
    this.emit('close', event);
    if (!event.defaultPrevented) this.destroy();
    return !event.defaultPrevented;
  }
}

// ---- IPC ---------------------------------------------------------------------------------------------------------

type InvokeHandler = (event: { sender: FakeWebContents; senderFrame: FakeWebFrameMain | null }, ...args: unknown[]) => unknown;
const invokeHandlers = new Map<string, InvokeHandler>();

export const ipcMain = {
  handle(channel: string, handler: InvokeHandler): void {
    // Electron refuses a second handler for one channel; so does the fake.
    if (invokeHandlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    invokeHandlers.set(channel, handler);
  },
  removeHandler(channel: string): void {
    invokeHandlers.delete(channel);
  },
};

/** Test helper: an invoke arriving in the main process from `sender`/`senderFrame`, as Electron delivers it. */
export async function invokeFromRenderer(
  channel: string,
  from: { sender: FakeWebContents; senderFrame: FakeWebFrameMain | null },
  ...args: unknown[]
): Promise<unknown> {
  const handler = invokeHandlers.get(channel);
  if (!handler) throw new Error(`No handler registered for '${channel}'`);
  return handler(from, ...args);
}

export function registeredInvokeChannels(): string[] {
  return [...invokeHandlers.keys()];
}

/** Which web contents and frame the page running the preload lives in. */
export const rendererContext: { contents: FakeWebContents | null; frame: FakeWebFrameMain | null } = { contents: null, frame: null };

class FakeIpcRenderer extends EventEmitter {
  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    if (!rendererContext.contents) return Promise.reject(new Error('the fake renderer is not attached to a web contents'));
    return invokeFromRenderer(channel, { sender: rendererContext.contents, senderFrame: rendererContext.frame }, ...args);
  }
}
export const ipcRenderer = new FakeIpcRenderer();

export const exposedInMainWorld = new Map<string, unknown>();
export const contextBridge = {
  exposeInMainWorld(key: string, api: unknown): void {
    if (exposedInMainWorld.has(key)) throw new Error(`Cannot bind an API on top of an existing property: ${key}`);
    exposedInMainWorld.set(key, api);
  },
};

// ---- shell, protocol, session ------------------------------------------------------------------------------------

export const openedExternally: string[] = [];
export const shell = {
  async openExternal(url: string): Promise<void> {
    openedExternally.push(url);
  },
};

export const privilegedSchemes: { scheme: string; privileges?: Record<string, boolean> }[] = [];
export const protocolHandlers = new Map<string, (request: Request) => Response | Promise<Response>>();
export const protocol = {
  registerSchemesAsPrivileged(schemes: { scheme: string; privileges?: Record<string, boolean> }[]): void {
    privilegedSchemes.push(...schemes);
  },
  handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void {
    if (protocolHandlers.has(scheme)) throw new Error(`The scheme ${scheme} is already handled`);
    protocolHandlers.set(scheme, handler);
  },
};

export class FakeSession {
  permissionRequestHandler: ((wc: unknown, permission: string, cb: (granted: boolean) => void, details?: unknown) => void) | null = null;
  permissionCheckHandler: ((wc: unknown, permission: string, origin: string, details?: unknown) => boolean) | null = null;
  devicePermissionHandler: ((details: unknown) => boolean) | null = null;
  setPermissionRequestHandler(h: FakeSession['permissionRequestHandler']): void {
    this.permissionRequestHandler = h;
  }
  setPermissionCheckHandler(h: FakeSession['permissionCheckHandler']): void {
    this.permissionCheckHandler = h;
  }
  setDevicePermissionHandler(h: FakeSession['devicePermissionHandler']): void {
    this.devicePermissionHandler = h;
  }
}
export const session = { defaultSession: new FakeSession() };

// ---- tray, menu, notifications, images ---------------------------------------------------------------------------

export interface FakeNativeImage {
  path: string;
  isEmpty(): boolean;
}
export const nativeImage = {
  createFromPath(path: string): FakeNativeImage {
    return { path, isEmpty: () => false };
  },
};

export interface FakeMenu {
  items: Record<string, any>[];
}
export const Menu = {
  buildFromTemplate(template: Record<string, any>[]): FakeMenu {
    return { items: template };
  },
};

export const trays: Tray[] = [];
export class Tray extends EventEmitter {
  tooltip = '';
  title = '';
  contextMenu: FakeMenu | null = null;
  private destroyed = false;
  constructor(readonly image: FakeNativeImage) {
    super();
    trays.push(this);
  }
  setToolTip(text: string): void {
    this.tooltip = text;
  }
  setTitle(text: string): void {
    this.title = text;
  }
  setContextMenu(menu: FakeMenu): void {
    this.contextMenu = menu;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** Test helper: the user picks the menu entry with this label. */
  clickMenuItem(label: string): void {
    const item = this.contextMenu?.items.find((i) => i.label === label);
    if (!item) throw new Error(`no tray menu entry labelled ${JSON.stringify(label)}`);
    if (item.enabled === false) throw new Error(`tray menu entry ${JSON.stringify(label)} is disabled`);
    item.click?.();
  }
}

/** Emits 'resume' / 'suspend' when a test says the machine slept. */
export const powerMonitor = new EventEmitter();

export const notificationSupport = { supported: true };
export const notifications: Notification[] = [];
export class Notification extends EventEmitter {
  shown = false;
  constructor(readonly options: { title?: string; body?: string; icon?: unknown }) {
    super();
    notifications.push(this);
  }
  static isSupported(): boolean {
    return notificationSupport.supported;
  }
  show(): void {
    this.shown = true;
  }
  /** Test helper: the user clicks the notification. */
  click(): void {
    this.emit('click', {});
  }
}

export const errorBoxes: { title: string; content: string }[] = [];
export const dialog = {
  showErrorBox(title: string, content: string): void {
    errorBoxes.push({ title, content });
  },
};

// ---- app ---------------------------------------------------------------------------------------------------------

class FakeApp extends EventEmitter {
  isPackaged = false;
  appPath = process.cwd();
  paths: Record<string, string> = {};
  version = '0.0.0-test';
  singleInstanceLock = true;
  ready = false;
  exitCode: number | null = null;
  quitRequested = 0;
  getAppPath(): string {
    return this.appPath;
  }
  getPath(name: string): string {
    const p = this.paths[name];
    if (!p) throw new Error(`fake app has no path for ${name}`);
    return p;
  }
  getVersion(): string {
    return this.version;
  }
  requestSingleInstanceLock(): boolean {
    return this.singleInstanceLock;
  }
  isReady(): boolean {
    return this.ready;
  }
  whenReady(): Promise<void> {
    this.ready = true;
    return Promise.resolve();
  }
  enableSandbox(): void {}
  setAppUserModelId(): void {}
  quitted = false;
  quit(): void {
    this.quitRequested += 1;
    const event = new FakePreventableEvent();
    this.emit('before-quit', event);
    if (!event.defaultPrevented) {
      this.quitted = true;
      this.emit('will-quit');
    }
  }
  exit(code = 0): void {
    this.exitCode = code;
  }
}
export const app = new FakeApp();

/** Forget everything recorded, so each test starts from a fresh Electron. */
export function resetFakeElectron(): void {
  for (const w of [...allWindows]) w.destroy();
  invokeHandlers.clear();
  rendererContext.contents = null;
  rendererContext.frame = null;
  ipcRenderer.removeAllListeners();
  exposedInMainWorld.clear();
  openedExternally.length = 0;
  privilegedSchemes.length = 0;
  protocolHandlers.clear();
  session.defaultSession = new FakeSession();
  trays.length = 0;
  notifications.length = 0;
  powerMonitor.removeAllListeners();
  notificationSupport.supported = true;
  errorBoxes.length = 0;
  app.removeAllListeners();
  Object.assign(app, { isPackaged: false, appPath: process.cwd(), paths: {}, singleInstanceLock: true, ready: false, exitCode: null, quitRequested: 0, quitted: false });
}

export default {
  app,
  BrowserWindow,
  contextBridge,
  dialog,
  ipcMain,
  ipcRenderer,
  Menu,
  nativeImage,
  Notification,
  protocol,
  session,
  shell,
  Tray,
};
