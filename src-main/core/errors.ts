/**
 * AppError: the one error type services throw when something is wrong in a way a person can act on.
 * The router turns it into the contract's serialisable AppErrorShape; anything else becomes INTERNAL with a
 * generic message (the detail goes to the main-process log, never a stack trace to the UI).
 */
import type { AppErrorShape } from '../../src-shared/contract/define';

export class AppError extends Error {
  constructor(
    readonly code: string,
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
