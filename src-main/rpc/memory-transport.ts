/**
 * MemoryTransport: the router behind an in-memory message pair that carries the same wire frames as the serve-mode
 * WebSocket (ClientFrame / ServerFrame), each JSON-serialised and delivered asynchronously like a real socket.
 * For the contract test and for core tests that want to drive the app the way a renderer does; never used by the app.
 */
import { ClientFrame, ServerFrame } from '../../src-shared/contract/wire';
import type { CroniumBridge } from '../../src-shared/contract/bridge';
import type { InvokeResult } from '../../src-shared/contract/define';
import type { Router } from './router';

export interface MemoryTransport {
  client: MemoryRpcClient;
  /** Sends a raw frame as a misbehaving client would (anything: wrong shapes, unknown frame types). */
  sendRaw(frame: unknown): void;
  /** Disconnects both sides; pending invokes are refused with DISCONNECTED. */
  close(): void;
}

/** Frames cross as JSON text, as on a socket: nothing but plain data survives the trip. */
function overTheWire(frame: unknown, deliver: (data: unknown) => void): void {
  const text = JSON.stringify(frame);
  setImmediate(() => deliver(JSON.parse(text)));
}

export class MemoryRpcClient implements CroniumBridge {
  private nextId = 1;
  private readonly pending = new Map<number, (result: InvokeResult<unknown>) => void>();
  private readonly listeners = new Set<(name: string, payload: unknown) => void>();
  private closed = false;

  constructor(private readonly sendFrame: (frame: ClientFrame) => void) {}

  invoke(name: string, input?: unknown): Promise<InvokeResult<unknown>> {
    if (this.closed) {
      return Promise.resolve({ ok: false, error: { code: 'DISCONNECTED', message: 'The connection to the app is closed.' } });
    }
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.sendFrame({ t: 'invoke', id, name, input });
    });
  }

  on(listener: (name: string, payload: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal called by the pair for every frame the server sends. */
  receive(data: unknown): void {
    const parsed = ServerFrame.safeParse(data);
    if (!parsed.success) throw new Error(`[memory-transport] the server sent a frame that breaks the wire contract: ${parsed.error.message}`);
    const frame = parsed.data;
    if (frame.t === 'result') {
      const resolve = this.pending.get(frame.id);
      this.pending.delete(frame.id);
      resolve?.(frame.result as InvokeResult<unknown>);
    } else {
      for (const listener of this.listeners) listener(frame.name, frame.payload);
    }
  }

  /** @internal */
  disconnect(): void {
    this.closed = true;
    for (const resolve of this.pending.values()) {
      resolve({ ok: false, error: { code: 'DISCONNECTED', message: 'The connection to the app closed before it answered.' } });
    }
    this.pending.clear();
  }
}

export function createMemoryTransport(router: Router): MemoryTransport {
  let open = true;

  const toClient = (frame: ServerFrame) => {
    if (open) overTheWire(frame, (data) => open && client.receive(data));
  };

  const serverReceive = async (data: unknown) => {
    if (!open) return;
    const parsed = ClientFrame.safeParse(data);
    if (!parsed.success) {
      // Like the socket transport: a frame that is not a valid invoke has no id to answer, so it is dropped.
      console.warn('[memory-transport] dropped an invalid client frame');
      return;
    }
    const result = await connection.invoke(parsed.data.name, parsed.data.input);
    toClient({ t: 'result', id: parsed.data.id, result });
  };
  const connection = router.openConnection('memory', (name, payload) => toClient({ t: 'event', name, payload }));

  // toClient above only runs after this line (frames are delivered asynchronously), so it may refer to client.
  const client = new MemoryRpcClient((frame) => overTheWire(frame, (data) => void serverReceive(data)));
  const unsubscribe = router.subscribe((name, payload) => toClient({ t: 'event', name, payload }));

  return {
    client,
    sendRaw: (frame) => overTheWire(frame, (data) => void serverReceive(data)),
    close() {
      if (!open) return;
      open = false;
      unsubscribe();
      connection.close();
      client.disconnect();
    },
  };
}
