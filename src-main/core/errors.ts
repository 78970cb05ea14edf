/**
 * AppError: the one error type services throw when something is wrong in a way a person can act on.
 * The router turns it into the contract's serialisable AppErrorShape; anything else becomes INTERNAL with a
 * generic message (the detail goes to the main-process log, never a stack trace to the UI).
 */
import type { AppErrorShape } from '../../src-shared/contract/define';
import type { ErrorCode } from '../../src-shared/errors';

export { ErrorCode } from '../../src-shared/errors';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { fields?: Record<string, string>; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'AppError';
  }

  toShape(): AppErrorShape {
    const shape: AppErrorShape = { code: this.code, message: this.message };
    if (this.extra.fields) shape.fields = this.extra.fields;
    if (this.extra.details) shape.details = this.extra.details;
    return shape;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** The message of anything thrown (an AppError's actionable text, an Error's message, or the value as text). */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Zod issues as field messages: one implementation, shared with the renderer's forms (src-shared/field-errors.ts). */
export { zodFieldErrors } from '../../src-shared/field-errors';
