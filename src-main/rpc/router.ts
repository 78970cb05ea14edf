/**
 * The router: one map from contract call names to core handlers. It validates every input with the contract's schema
 * before a handler sees it, validates (and so strips) every output, and maps any failure to a serialisable AppError.
 * Transports (Electron IPC, serve-mode WebSocket, the in-memory pair of the contract test) only move frames.
 */
import crypto from 'node:crypto';
import { ZodError } from 'zod';
import {
  calls,
  isCallName,
  type CallName,
  type CallOutput,
  type CallParsedInput,
  type EventName,
  type InvokeResult,
} from '../../src-shared/contract';
import { isAppError, zodFieldErrors } from '../core/errors';
import type { BusListener, EventBus } from '../core/event-bus';

export interface CallContext {
  /** Which transport the call came through, for audit lines. */
  transport: 'ipc' | 'ws' | 'memory';
  /** The client connection (a window, a browser tab's socket) the call came over; state such as live log
   * subscriptions is kept per connection and released when it closes. Absent for in-process callers. */
  connectionId?: string;
}

/**
 * A core service whose pushed events are addressed to one connection (e.g. live log lines to the clients that
 * subscribed). The router never broadcasts events of its name; it hands each to its connection and tells the service
 * when a connection closes.
 */
export interface ConnectionScopedSource {
  readonly eventName: EventName;
  onDeliver(sink: (connectionId: string, payload: unknown) => void): () => void;
  releaseConnection(connectionId: string): void;
}

/** One client's link to the router: calls made through it carry its id; close() releases what it held. */
export interface RouterConnection {
  readonly id: string;
  invoke(name: unknown, rawInput: unknown): Promise<InvokeResult<unknown>>;
  close(): void;
}

export type Handler<K extends CallName> = (
  input: CallParsedInput<K>,
  ctx: CallContext,
) => Promise<CallOutput<K>> | CallOutput<K>;

export type HandlerMap = { [K in CallName]: Handler<K> };
/** The handlers of one domain, e.g. HandlersFor<'servers/list' | 'servers/save'>. */
export type HandlersFor<K extends CallName> = { [P in K]: Handler<P> };

export class Router {
  private readonly connections = new Map<string, (name: EventName, payload: unknown) => void>();
  private readonly scopedNames: Set<EventName>;

  constructor(
    private readonly handlers: HandlerMap,
    private readonly bus: EventBus,
    private readonly scoped: ConnectionScopedSource[] = [],
  ) {
    this.scopedNames = new Set(scoped.map((s) => s.eventName));
    for (const source of scoped) {
      source.onDeliver((connectionId, payload) => this.connections.get(connectionId)?.(source.eventName, payload));
    }
  }

  /**
   * Opens a connection for one client. `sendToClient` receives only the events addressed to this connection; events
   * for everyone come through subscribe().
   */
  openConnection(transport: CallContext['transport'], sendToClient: (name: EventName, payload: unknown) => void): RouterConnection {
    const id = crypto.randomUUID();
    this.connections.set(id, sendToClient);
    let open = true;
    return {
      id,
      invoke: (name, rawInput) => this.invoke(name, rawInput, { transport, connectionId: id }),
      close: () => {
        if (!open) return;
        open = false;
        this.connections.delete(id);
        for (const source of this.scoped) source.releaseConnection(id);
      },
    };
  }

  /** How many connections are open (for tests and diagnostics). */
  get openConnections(): number {
    return this.connections.size;
  }

  async invoke(name: unknown, rawInput: unknown, ctx: CallContext): Promise<InvokeResult<unknown>> {
    if (!isCallName(name)) {
      return { ok: false, error: { code: 'UNKNOWN_CALL', message: `There is no call named ${JSON.stringify(name)}.` } };
    }
    const spec = calls[name];
    const parsed = spec.input.safeParse(rawInput);
    if (!parsed.success) {
      const fields = zodFieldErrors(parsed.error.issues);
      const summary = Object.entries(fields)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ');
      return { ok: false, error: { code: 'INVALID_INPUT', message: `Invalid input for ${name}: ${summary}`, fields } };
    }
    try {
      const handler = this.handlers[name] as Handler<CallName>;
      const value = await handler(parsed.data as never, ctx);
      const out = spec.output.safeParse(value);
      if (!out.success) {
        console.error(`[router] ${name} returned a value that breaks its contract:`, out.error.issues);
        return { ok: false, error: { code: 'INTERNAL', message: `The app produced an invalid answer for ${name}.` } };
      }
      return { ok: true, value: out.data };
    } catch (err) {
      if (isAppError(err)) return { ok: false, error: err.toShape() };
      if (err instanceof ZodError) {
        return {
          ok: false,
          error: { code: 'INVALID_INPUT', message: err.issues[0]?.message ?? 'Invalid input.', fields: zodFieldErrors(err.issues) },
        };
      }
      console.error(`[router] ${name} failed:`, err);
      return { ok: false, error: { code: 'INTERNAL', message: `Something went wrong in ${name}; see the app log.` } };
    }
  }

  /** Pushed events for every client, for a transport to forward; connection-scoped events never come through here. */
  subscribe(listener: BusListener): () => void {
    return this.bus.subscribe((name, payload) => {
      if (!this.scopedNames.has(name)) listener(name, payload);
    });
  }
}
