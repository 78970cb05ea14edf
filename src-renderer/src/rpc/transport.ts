/**
 * RpcTransport: the bridge (invoke + pushed events) plus the connection state the renderer shows. Two implementations:
 * IpcTransport (Electron preload) and WsTransport (serve mode). Only rpc/client.ts and the connection store use it.
 */
import type { CroniumBridge } from '../../../src-shared/contract/bridge';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface RpcTransport extends CroniumBridge {
  readonly kind: 'ipc' | 'ws';
  state(): ConnectionState;
  /** Called on every state change; returns the function that stops listening. */
  onStateChange(listener: (state: ConnectionState) => void): () => void;
  /** Try to reconnect now instead of waiting for the next back-off step (no-op where the link cannot drop). */
  retryNow(): void;
  close(): void;
}
