// core.stop() on a real core (SQLite file, listener): when one step fails, the later steps (SSH, listener, database)
// still run, each failure is logged, and the first failure is what stop() rejects with.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestCore, type TestCore } from '../../harness/test-core';

let tc: TestCore | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await tc?.cleanup().catch(() => undefined);
  tc = undefined;
});

describe('stopping the core', () => {
  describe('when stopping the runners fails', () => {
    it('still closes SSH, the log store, the listener and the database, then rejects with that failure', async () => {
      tc = await createTestCore();
      const { core } = tc;
      const failure = new Error('runner monitor refused to stop');
      vi.spyOn(core.runners, 'stop').mockRejectedValue(failure);
      const closeAll = vi.spyOn(core.ssh, 'closeAll');
      const listenerStop = vi.spyOn(core.listener, 'stop');
      const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);

      await expect(core.stop()).rejects.toBe(failure);
      expect(closeAll).toHaveBeenCalled();
      expect(listenerStop).toHaveBeenCalled();
      expect(core.db.sqlite.open).toBe(false);
      expect(logged).toHaveBeenCalledWith('[core] stopping the runners failed:', failure);
      // Idempotent: a second stop does nothing.
      await expect(core.stop()).resolves.toBeUndefined();
    });
  });
});
