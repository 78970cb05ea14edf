/**
 * The Electron IPC transport: one ipcMain.handle channel into the router, and router events out to the app's windows.
 * It owns the sender check: a call is served only from the top frame of one of the app's own windows showing
 * app://cronium; anything else gets UNTRUSTED_SENDER and a log line. It must never interpret a call itself.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent, type WebFrameMain } from 'electron';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../src-shared/contract/wire';
import type { InvokeResult } from '../../src-shared/contract/define';
import type { Router, RouterConnection } from '../rpc/router';
import { APP_HOST, APP_ORIGIN, APP_SCHEME } from './app-protocol';

export type TrustedSenderVerdict = { trusted: true } | { trusted: false; reason: string };

function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    // Compared by parts: Node reports origin 'null' for schemes it does not know, Chromium 'app://cronium'.
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

/** Pure: whether an invoke came from the main frame of one of `windows`, showing the app's own page. */
export function checkSender(event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>, windows: readonly BrowserWindow[]): TrustedSenderVerdict {
  const frame: WebFrameMain | null = event.senderFrame;
  if (!frame) return { trusted: false, reason: 'the sending frame is gone' };
  const owner = windows.find((w) => !w.isDestroyed() && w.webContents === event.sender);
  if (!owner) return { trusted: false, reason: 'the sender is not one of the app windows' };
  if (frame !== owner.webContents.mainFrame) return { trusted: false, reason: 'the sender is a sub-frame' };
  if (!isAppUrl(frame.url)) return { trusted: false, reason: `the sender shows ${JSON.stringify(frame.url.slice(0, 200))}, not ${APP_ORIGIN}` };
  return { trusted: true };
}

export class IpcTransport {
  private unsubscribe: (() => void) | null = null;
  /** One router connection per window (webContents id), closed when the window's contents are destroyed. */
  private readonly connections = new Map<number, RouterConnection>();

  constructor(
    private readonly router: Router,
    /** The app's own windows, asked at each call (windows come and go). */
    private readonly windows: () => readonly BrowserWindow[],
  ) {}

  start(): void {
    ipcMain.handle(IPC_INVOKE_CHANNEL, (event, name: unknown, input: unknown) => this.handleInvoke(event, name, input));
    this.unsubscribe = this.router.subscribe((name, payload) => {
      for (const win of this.windows()) {
        if (win.isDestroyed() || win.webContents.isDestroyed()) continue;
        win.webContents.send(IPC_EVENT_CHANNEL, name, payload);
      }
    });
  }

  stop(): void {
    ipcMain.removeHandler(IPC_INVOKE_CHANNEL);
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }

  private connectionFor(sender: IpcMainInvokeEvent['sender']): RouterConnection {
    let connection = this.connections.get(sender.id);
    if (!connection) {
      connection = this.router.openConnection('ipc', (name, payload) => {
        if (!sender.isDestroyed()) sender.send(IPC_EVENT_CHANNEL, name, payload);
      });
      this.connections.set(sender.id, connection);
      const opened = connection;
      sender.once('destroyed', () => {
        opened.close();
        if (this.connections.get(sender.id) === opened) this.connections.delete(sender.id);
      });
    }
    return connection;
  }

  async handleInvoke(event: IpcMainInvokeEvent, name: unknown, input: unknown): Promise<InvokeResult<unknown>> {
    const verdict = checkSender(event, this.windows());
    if (!verdict.trusted) {
      console.warn(`[ipc-transport] refused ${JSON.stringify(String(name).slice(0, 100))}: ${verdict.reason}`);
      return {
        ok: false,
        error: { code: 'UNTRUSTED_SENDER', message: `This call was refused because ${verdict.reason}; only the Cronium window may use the app.` },
      };
    }
    return this.connectionFor(event.sender).invoke(name, input);
  }
}
