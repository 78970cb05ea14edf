/**
 * Error codes (src-shared/errors.ts): one typed list, each code with a message and advice; a misspelt code does not
 * typecheck (the @ts-expect-error lines below fail `npm run typecheck` the day they stop being errors).
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src-main/core/errors';
import { ErrorCode, errorInfo, isErrorCode } from '../../../src-shared/errors';

describe('error codes', () => {
  it('map each constant to its own name', () => {
    const codes = Object.keys(ErrorCode);
    expect(codes.length).toBeGreaterThan(50);
    for (const code of codes) expect(ErrorCode[code as ErrorCode]).toBe(code);
  });

  it('give every code a message and what to do', () => {
    for (const code of Object.keys(ErrorCode)) {
      const info = errorInfo(code);
      expect(info.message.trim(), code).not.toBe('');
      expect(info.action.trim(), code).not.toBe('');
    }
  });

  it('tell known codes from other strings', () => {
    expect(isErrorCode('NOT_FOUND')).toBe(true);
    expect(isErrorCode('NOT_FUOND')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(errorInfo('NOT_FUOND')).toEqual(errorInfo(ErrorCode.INTERNAL));
  });

  it('type AppError codes, so a typo is a compile error', () => {
    const good = new AppError(ErrorCode.JOB_NOT_FOUND, 'no job j1');
    expect(good.toShape()).toEqual({ code: 'JOB_NOT_FOUND', message: 'no job j1' });
    // @ts-expect-error — 'JOB_NOT_FUOND' is not an ErrorCode
    const typo = new AppError('JOB_NOT_FUOND', 'typo');
    expect(isErrorCode(typo.code)).toBe(false);
  });
});
