/**
 * The renderer's typed rpc client: invoke a contract call and get its typed output (or an RpcError carrying the
 * AppError shape), listen to a pushed event by name. Stores use it; components never do, and nothing here knows which
 * transport carries the calls.
 */
import {
  events,
  isEventName,
  type AppErrorShape,
  type CallInput,
  type CallName,
  type CallOutput,
  type EventName,
  type EventPayload,
} from '../../../src-shared/contract';
import type { RpcTransport } from './transport';

export class RpcError extends Error implements AppErrorShape {
  readonly code: AppErrorShape['code'];
  readonly fields?: Record<string, string>;
  readonly details?: Record<string, unknown>;

  constructor(shape: AppErrorShape) {
    super(shape.message);
    this.name = 'RpcError';
    this.code = shape.code;
    if (shape.fields) this.fields = shape.fields;
    if (shape.details) this.details = shape.details;
  }
}

/** The message to show a person for any failure, RpcError or not. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

type InputArgs<K extends CallName> = undefined extends CallInput<K> ? [input?: CallInput<K>] : [input: CallInput<K>];

export class RpcClient {
  private readonly eventListeners = new Map<string, Set<(payload: unknown) => void>>();
  private readonly stopListening: () => void;

  constructor(readonly transport: RpcTransport) {
    this.stopListening = transport.on((name, payload) => this.dispatch(name, payload));
  }

  async invoke<K extends CallName>(name: K, ...args: InputArgs<K>): Promise<CallOutput<K>> {
    const result = await this.transport.invoke(name, args[0]);
    if (!result.ok) throw new RpcError(result.error);
    return result.value as CallOutput<K>;
  }

  onEvent<K extends EventName>(name: K, listener: (payload: EventPayload<K>) => void): () => void {
    let set = this.eventListeners.get(name);
    if (!set) this.eventListeners.set(name, (set = new Set()));
    const entry = listener as (payload: unknown) => void;
    set.add(entry);
    return () => set.delete(entry);
  }

  dispose(): void {
    this.stopListening();
    this.eventListeners.clear();
  }

  private dispatch(name: string, payload: unknown): void {
    const set = this.eventListeners.get(name);
    if (!set || set.size === 0 || !isEventName(name)) return;
    // The main process validated it already; checking again keeps a version skew from corrupting a store.
    const parsed = events[name].safeParse(payload);
    if (!parsed.success) {
      console.warn(`[rpc] dropped a ${name} event that does not match the contract`);
      return;
    }
    for (const listener of set) {
      try {
        listener(parsed.data);
      } catch (err) {
        console.error(`[rpc] listener for ${name} failed`, err);
      }
    }
  }
}

let installed: RpcClient | undefined;

/** Sets the client every store uses; called once at start-up (and by tests). */
export function installRpcClient(client: RpcClient): void {
  installed = client;
}

export function rpc(): RpcClient {
  if (!installed) throw new Error('The rpc client is not installed yet (installRpcClient must run at start-up).');
  return installed;
}

export function invoke<K extends CallName>(name: K, ...args: InputArgs<K>): Promise<CallOutput<K>> {
  return rpc().invoke(name, ...args);
}

export function onEvent<K extends EventName>(name: K, listener: (payload: EventPayload<K>) => void): () => void {
  return rpc().onEvent(name, listener);
}
