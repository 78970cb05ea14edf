/**
 * The preload: exposes window.cronium = { invoke, on } (CroniumBridge) and nothing else. It runs sandboxed, so it
 * holds no Node access to leak; it must never hand the page ipcRenderer, Electron's event object or a channel name.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { CroniumBridge } from '../../src-shared/contract/bridge';
import type { InvokeResult } from '../../src-shared/contract/define';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../src-shared/contract/ipc-channels';

export const bridge: CroniumBridge = {
  invoke(name: string, input?: unknown): Promise<InvokeResult<unknown>> {
    return ipcRenderer.invoke(IPC_INVOKE_CHANNEL, String(name), input) as Promise<InvokeResult<unknown>>;
  },
  on(listener: (name: string, payload: unknown) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('cronium.on expects a function');
    const forward = (_event: IpcRendererEvent, name: unknown, payload: unknown) => {
      if (typeof name === 'string') listener(name, payload);
    };
    ipcRenderer.on(IPC_EVENT_CHANNEL, forward);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT_CHANNEL, forward);
    };
  },
};

contextBridge.exposeInMainWorld('cronium', bridge);
