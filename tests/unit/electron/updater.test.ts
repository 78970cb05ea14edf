// The updater: idle in development, and never able to crash the app when the release feed misbehaves.
import type { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// electron-updater needs a running Electron; this stand-in records what the shell asks of it.
const updaterState = vi.hoisted(() => ({ imported: 0, checks: 0, failCheck: false }));
vi.mock('electron-updater', async () => {
  const { EventEmitter } = await import('node:events');
  updaterState.imported += 1;
  class FakeAutoUpdater extends EventEmitter {
    logger: unknown = null;
    async checkForUpdatesAndNotify() {
      updaterState.checks += 1;
      if (updaterState.failCheck) throw new Error('net::ERR_NAME_NOT_RESOLVED');
      return null;
    }
  }
  return { autoUpdater: new FakeAutoUpdater() };
});
const { startUpdater } = await import('../../../src-main/electron/updater');

describe('the updater', () => {
  let errors: unknown[][];
  beforeEach(() => {
    Object.assign(updaterState, { checks: 0, failCheck: false });
    errors = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args));
    vi.spyOn(console, 'info').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  describe('when the app runs unpackaged (development)', () => {
    it('stays idle and never loads electron-updater', async () => {
      const before = updaterState.imported;
      const handle = await startUpdater({ isPackaged: false });
      expect(handle.state).toBe('idle');
      expect(updaterState.imported).toBe(before);
      expect(updaterState.checks).toBe(0);
    });
  });

  describe('when the app is packaged', () => {
    it('checks for an update and keeps checking on an interval', async () => {
      vi.useFakeTimers();
      try {
        const handle = await startUpdater({ isPackaged: true, intervalMs: 1000 });
        expect(handle.state).toBe('active');
        expect(updaterState.checks).toBe(1);
        await vi.advanceTimersByTimeAsync(2500);
        expect(updaterState.checks).toBe(3);
        handle.stop();
        await vi.advanceTimersByTimeAsync(5000);
        expect(updaterState.checks).toBe(3);
      } finally {
        vi.useRealTimers();
      }
    });

    it('logs a failed check instead of crashing', async () => {
      updaterState.failCheck = true;
      const handle = await startUpdater({ isPackaged: true });
      await new Promise((r) => setTimeout(r, 0));
      expect(errors.some((e) => e[0] === '[updater]' && String(e[1]).includes('update check failed'))).toBe(true);
      handle.stop();
    });

    it('logs errors electron-updater reports later', async () => {
      const handle = await startUpdater({ isPackaged: true });
      const { autoUpdater } = (await import('electron-updater')) as unknown as { autoUpdater: EventEmitter & { logger: unknown } };
      expect(autoUpdater.logger).not.toBeNull();
      expect(() => autoUpdater.emit('error', new Error('sha512 checksum mismatch'))).not.toThrow();
      expect(errors.some((e) => String(e[1]).includes('update failed'))).toBe(true);
      handle.stop();
    });
  });
});
