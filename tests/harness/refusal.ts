// refusal(fn): runs a call that must be refused and returns the AppError it threw, so a test can assert its code,
// message and fields. Fails the test if the call succeeds or throws anything but an AppError.
import { expect } from 'vitest';
import { AppError } from '../../src-main/core/errors';

export function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to be refused');
}
