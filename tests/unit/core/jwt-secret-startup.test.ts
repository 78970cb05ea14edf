// A configured HELPER_JWT_SECRET shorter than 32 bytes stops core start-up with a typed error, before the listener
// opens; a long enough one starts.
import { describe, expect, it } from 'vitest';
import { createTestCore } from '../../harness/test-core';
import { ErrorCode } from '../../../src-shared/errors';

describe('core start-up with HELPER_JWT_SECRET', () => {
  it('fails with HELPER_JWT_SECRET_TOO_SHORT when it is 1 character, and the listener never opens', async () => {
    const t = await createTestCore({ env: { HELPER_JWT_SECRET: 'x' } });
    try {
      await expect(t.core.start()).rejects.toMatchObject({ code: ErrorCode.HELPER_JWT_SECRET_TOO_SHORT, message: expect.stringContaining('at least 32 bytes') });
      expect(t.core.listener.port).toBe(0);
    } finally {
      await t.cleanup();
    }
  });

  it('starts with a secret of 32 bytes', async () => {
    const t = await createTestCore({ env: { HELPER_JWT_SECRET: 'k'.repeat(32), HELPER_API_PORT: '0' } });
    try {
      await t.core.start();
      expect(t.core.listener.port).toBeGreaterThan(0);
    } finally {
      await t.cleanup();
    }
  });
});
