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

/**
 * Zod issues as field messages ("runner.cacheTtlDays" -> message; "_" for the input as a whole), the first issue of
 * each field winning, so forms can place them. Used by the router and by services that validate their own input.
 */
export function zodFieldErrors(issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    const key = issue.path.map(String).join('.') || '_';
    if (!(key in fields)) fields[key] = issue.message;
  }
  return fields;
}
