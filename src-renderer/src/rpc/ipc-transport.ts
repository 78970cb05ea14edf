/**
 * IpcTransport: the desktop app's transport, a thin wrapper over window.cronium from the preload. Electron IPC
 * cannot drop while the window lives, so its state is always 'connected'. It never reaches past the bridge object.
 */
import type { CroniumBridge } from '../../../src-shared/contract/bridge';
import type { ConnectionState, RpcTransport } from './transport';

declare global {
  interface Window {
    cronium?: CroniumBridge;
  }
}

export class IpcTransport implements RpcTransport {
  readonly kind = 'ipc' as const;

  constructor(private readonly bridge: CroniumBridge) {}

  invoke(name: string, input?: unknown) {
    return this.bridge.invoke(name, input);
  }

  on(listener: (name: string, payload: unknown) => void): () => void {
    return this.bridge.on(listener);
  }

  state(): ConnectionState {
    return 'connected';
  }

  onStateChange(): () => void {
    return () => {};
  }

  retryNow(): void {}

  close(): void {}
}
