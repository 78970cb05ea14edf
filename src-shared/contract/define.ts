/**
 * Building blocks of the IPC contract: a call is a pair of zod schemas (input, output), a pushed event is one schema.
 * Every domain file (servers.ts, events.ts, ...) declares its calls with `call()` and its events with plain schemas;
 * index.ts merges them into the one contract that both transports and the router are typed from.
 */
import { z } from 'zod';
import type { ErrorCode } from '../errors';

export interface CallSpec<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  input: I;
  output: O;
}

export function call<I extends z.ZodType, O extends z.ZodType>(input: I, output: O): CallSpec<I, O> {
  return { input, output };
}

/** Inputs with nothing to say. */
export const NoInput = z.object({}).strict().optional();
export const Ok = z.object({ ok: z.literal(true) });

/**
 * An error code (src-shared/errors.ts). Typed as ErrorCode so producers cannot misspell one; on the wire any string is
 * accepted, since a peer of another version may send a code this build does not list (it is shown by its message).
 */
export function errorCodeSchema() {
  return z.custom<ErrorCode>((value) => typeof value === 'string', { message: 'error code must be a string' });
}

/** The error every call may return instead of its output: a code a program can switch on, a message a person can act on. */
export const AppErrorSchema = z.object({
  code: errorCodeSchema(),
  message: z.string(),
  /** Field-level messages for forms: { "timeoutSeconds": "must be between 1 and 86400" }. */
  fields: z.record(z.string(), z.string()).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type AppErrorShape = z.infer<typeof AppErrorSchema>;

/** What travels back for an invoke, over any transport. */
export type InvokeResult<T> = { ok: true; value: T } | { ok: false; error: AppErrorShape };
