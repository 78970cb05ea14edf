// The IPC transport and the preload together: the page's window.cronium reaches the router only from the app's own
// window showing app://cronium; everything else is refused with UNTRUSTED_SENDER before the router sees it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../../src-shared/contract/wire';
import type { CroniumBridge } from '../../../src-shared/contract/bridge';
import { EventBus } from '../../../src-main/core/event-bus';
import { Router, type HandlerMap } from '../../../src-main/rpc/router';
import {
  BrowserWindow,
  FakeWebContents,
  FakeWebFrameMain,
  exposedInMainWorld,
  invokeFromRenderer,
  ipcRenderer,
  registeredInvokeChannels,
  rendererContext,
  resetFakeElectron,
} from './fake-electron';
import { ErrorCode } from '../../../src-shared/errors';

vi.mock('electron', () => import('./fake-electron'));
const { IpcTransport, checkSender } = await import('../../../src-main/electron/ipc-transport');

describe('the IPC transport', () => {
  let bus: EventBus;
  let pings: number;
  let win: BrowserWindow;
  let windows: BrowserWindow[];
  let transport: InstanceType<typeof IpcTransport>;

  beforeEach(async () => {
    resetFakeElectron();
    bus = new EventBus();
    pings = 0;
    // The real router; the transport under test only needs one call to reach it.
    const handlers = { 'system/ping': () => ({ at: `pong ${++pings}` }) } as unknown as HandlerMap;
    win = new BrowserWindow({});
    await win.loadURL('app://cronium/index.html');
    windows = [win];
    transport = new IpcTransport(new Router(handlers, bus), () => windows as never);
    transport.start();
  });
  afterEach(() => transport.stop());

  const fromMainFrame = () => ({ sender: win.webContents, senderFrame: win.webContents.mainFrame });

  describe('when the app window calls', () => {
    it('forwards the call to the router and returns its answer', async () => {
      expect(await invokeFromRenderer(IPC_INVOKE_CHANNEL, fromMainFrame(), 'system/ping', {})).toEqual({ ok: true, value: { at: 'pong 1' } });
    });

    it('lets the router refuse a call that does not exist', async () => {
      const result = (await invokeFromRenderer(IPC_INVOKE_CHANNEL, fromMainFrame(), 'servers/drop-all', {})) as { ok: boolean; error: { code: string } };
      expect(result).toMatchObject({ ok: false, error: { code: ErrorCode.UNKNOWN_CALL } });
    });
  });

  describe('when someone else calls', () => {
    const refusedCases: [string, () => { sender: FakeWebContents; senderFrame: FakeWebFrameMain | null }][] = [
      ['a web contents that is not an app window', () => {
        const stranger = new FakeWebContents('app://cronium/index.html');
        return { sender: stranger, senderFrame: stranger.mainFrame };
      }],
      ['a sub-frame of the app window', () => ({
        sender: win.webContents,
        senderFrame: new FakeWebFrameMain('app://cronium/index.html', win.webContents.mainFrame),
      })],
      ['the app window after it navigated to a web page', () => {
        win.webContents.mainFrame.url = 'https://evil.example/';
        return fromMainFrame();
      }],
      ['the app window showing a local file', () => {
        win.webContents.mainFrame.url = 'file:///tmp/evil.html';
        return fromMainFrame();
      }],
      ['the app window showing another app:// host', () => {
        win.webContents.mainFrame.url = 'app://evil/index.html';
        return fromMainFrame();
      }],
      ['a frame that is already gone', () => ({ sender: win.webContents, senderFrame: null })],
      ['a window that was closed', () => {
        windows = [];
        return fromMainFrame();
      }],
    ];

    it.each(refusedCases)('refuses %s with UNTRUSTED_SENDER and never reaches the router', async (_what, from) => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const result = (await invokeFromRenderer(IPC_INVOKE_CHANNEL, from(), 'system/ping', {})) as { ok: boolean; error: { code: string; message: string } };
      expect(result.ok).toBe(false);
      expect(result.error.code).toBe(ErrorCode.UNTRUSTED_SENDER);
      expect(result.error.message).toMatch(/refused because/);
      expect(pings).toBe(0);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('[ipc-transport] refused "system/ping"'));
      warn.mockRestore();
    });

    it('accepts the same window again once it shows the app', () => {
      expect(checkSender(fromMainFrame() as never, windows as never)).toEqual({ trusted: true });
    });
  });

  describe('when the core pushes an event', () => {
    it('sends it to every open app window, and not to closed ones', () => {
      const second = new BrowserWindow({});
      const closed = new BrowserWindow({});
      windows = [win, second, closed];
      closed.destroy();
      bus.emit('system/notice', { level: 'warning', message: 'keychain locked' });
      const frame = [IPC_EVENT_CHANNEL, 'system/notice', { level: 'warning', message: 'keychain locked' }];
      expect(win.webContents.sent).toEqual([frame]);
      expect(second.webContents.sent).toEqual([frame]);
    });

    it('stops forwarding and serving once stopped', async () => {
      transport.stop();
      bus.emit('system/notice', { level: 'info', message: 'x' });
      expect(win.webContents.sent).toEqual([]);
      expect(registeredInvokeChannels()).toEqual([]);
      transport.start(); // afterEach stops it again
    });
  });

  describe('when the page uses window.cronium from the preload', () => {
    let cronium: CroniumBridge;
    beforeEach(async () => {
      rendererContext.contents = win.webContents;
      rendererContext.frame = win.webContents.mainFrame;
      vi.resetModules();
      await import('../../../src-main/preload/preload');
      cronium = exposedInMainWorld.get('cronium') as CroniumBridge;
    });

    it('exposes invoke and on, and nothing else', () => {
      expect([...exposedInMainWorld.keys()]).toEqual(['cronium']);
      expect(Object.keys(cronium).sort()).toEqual(['invoke', 'on']);
    });

    it('invokes a call through the router', async () => {
      expect(await cronium.invoke('system/ping')).toEqual({ ok: true, value: { at: 'pong 1' } });
    });

    it('hears pushed events as (name, payload), never Electron event objects, until it stops listening', () => {
      const heard: unknown[][] = [];
      const stop = cronium.on((...args) => heard.push(args));
      bus.emit('system/notice', { level: 'info', message: 'hello' });
      expect(heard).toEqual([['system/notice', { level: 'info', message: 'hello' }]]);
      stop();
      bus.emit('system/notice', { level: 'info', message: 'again' });
      expect(heard).toHaveLength(1);
      expect(ipcRenderer.listenerCount(IPC_EVENT_CHANNEL)).toBe(0);
    });
  });
});
