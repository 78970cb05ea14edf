/**
 * The router: one map from contract call names to core handlers. It validates every input with the contract's schema
 * before a handler sees it, validates (and so strips) every output, and maps any failure to a serialisable AppError.
 * Transports (Electron IPC, serve-mode WebSocket, the in-memory pair of the contract test) only move frames.
 */
import { ZodError } from 'zod';
import {
  calls,
  isCallName,
  type CallName,
  type CallOutput,
  type CallParsedInput,
  type InvokeResult,
} from '../../src-shared/contract';
import { isAppError, zodFieldErrors } from '../core/errors';
import type { BusListener, EventBus } from '../core/event-bus';

export interface CallContext {
  /** Which transport the call came through, for audit lines. */
  transport: 'ipc' | 'ws' | 'memory';
}

export type Handler<K extends CallName> = (
  input: CallParsedInput<K>,
  ctx: CallContext,
) => Promise<CallOutput<K>> | CallOutput<K>;

export type HandlerMap = { [K in CallName]: Handler<K> };
/** The handlers of one domain, e.g. HandlersFor<'servers/list' | 'servers/save'>. */
export type HandlersFor<K extends CallName> = { [P in K]: Handler<P> };

export class Router {
  constructor(
    private readonly handlers: HandlerMap,
    private readonly bus: EventBus,
  ) {}

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

  /** Pushed events for a transport to forward to its client(s). */
  subscribe(listener: BusListener): () => void {
    return this.bus.subscribe(listener);
  }
}
