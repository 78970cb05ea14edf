// The runner's give-up rule: it stops trying to reach the app once its job is collected or its own retention is
// over, whichever comes first, never later than the linger times, and never while the script runs.
import { describe, expect, it } from 'vitest';
import { EXITED_LINGER_MS, RETENTION_GRACE_MS, STARTING_LINGER_MS, giveUpDelayMs, isCollected } from '../../../src-runner/job/give-up';

const t0 = Date.parse('2026-12-06T00:00:00Z');

describe('the runner give-up rule', () => {
  it('never gives up while the script runs', () => {
    expect(giveUpDelayMs({ state: 'running', startedAt: t0, now: t0 + 10 * 3600_000, timeoutSeconds: 60 })).toBeNull();
  });

  describe('when the job has a short timeout', () => {
    it('stops at the end of its retention (timeout plus grace), before the linger time', () => {
      // A 2-minute job that exited after 90 s: its retention ends 2 min + grace after its start.
      const delay = giveUpDelayMs({ state: 'exited', startedAt: t0, now: t0 + 90_000, timeoutSeconds: 120 });
      expect(delay).toBe(120_000 + RETENTION_GRACE_MS - 90_000);
      expect(delay!).toBeLessThan(EXITED_LINGER_MS);
    });

    it('stops at once when the retention is already over', () => {
      expect(giveUpDelayMs({ state: 'exited', startedAt: t0, now: t0 + 3600_000, timeoutSeconds: 60 })).toBe(0);
    });
  });

  describe('when the job has a long timeout', () => {
    it('keeps to the linger times (10 min after the exit, 30 min waiting for the environment)', () => {
      expect(giveUpDelayMs({ state: 'exited', startedAt: t0, now: t0 + 60_000, timeoutSeconds: 24 * 3600 })).toBe(EXITED_LINGER_MS);
      expect(giveUpDelayMs({ state: 'starting', startedAt: t0, now: t0, timeoutSeconds: 24 * 3600 })).toBe(STARTING_LINGER_MS);
    });
  });

  it('uses the linger times when the timeout is unknown (a resumed job without its manifest)', () => {
    expect(giveUpDelayMs({ state: 'exited', startedAt: t0, now: t0, timeoutSeconds: null })).toBe(EXITED_LINGER_MS);
  });

  it('lets CRONIUM_RUNNER_LINGER_MS shorten the linger, still bounded by the retention', () => {
    expect(giveUpDelayMs({ state: 'exited', startedAt: t0, now: t0, timeoutSeconds: 3600, lingerOverrideMs: 500 })).toBe(500);
    expect(giveUpDelayMs({ state: 'exited', startedAt: t0, now: t0 + 3600_000, timeoutSeconds: 60, lingerOverrideMs: 600_000 })).toBe(0);
  });

  describe('collected', () => {
    it('is collected when its folder is gone or another process marked it delivered', () => {
      expect(isCollected(null, false)).toBe(true);
      expect(isCollected({ delivered: true }, true)).toBe(true);
      expect(isCollected({}, true)).toBe(false);
      expect(isCollected(null, true)).toBe(false);
    });
  });
});
