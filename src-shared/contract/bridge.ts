/**
 * The one object the preload exposes to the renderer as window.cronium, and that the serve-mode WebSocket transport
 * imitates: invoke a contract call, listen to pushed events. Nothing else crosses the bridge.
 */
import type { InvokeResult } from './define';

export interface CroniumBridge {
  invoke(name: string, input?: unknown): Promise<InvokeResult<unknown>>;
  /** Listen to every pushed event; returns the function that stops listening. */
  on(listener: (name: string, payload: unknown) => void): () => void;
}
