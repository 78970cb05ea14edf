/**
 * The core's time helpers on a ManualClock: backoffDelay's policies, retryWithBackoff (waits on the clock, stops on
 * shouldRetry, the deadline and the signal), sleep and every. Everything runs in milliseconds of real time.
 */
import { describe, expect, it } from 'vitest';
import { backoffDelay, retryWithBackoff } from '../../../src-main/core/backoff';
import { every, sleep, withTimeout } from '../../../src-main/core/clock';
import { ManualClock } from '../../harness/manual-clock';

const T0 = Date.parse('2026-01-01T00:00:00Z');

/** work() that fails `failures` times, recording the clock time of each attempt. */
function flaky(clock: ManualClock, failures: number) {
  const at: number[] = [];
  const work = async (attempt: number) => {
    at.push(clock.now() - T0);
    if (attempt <= failures) throw new Error(`failure ${attempt}`);
    return `ok after ${attempt}`;
  };
  return { at, work };
}

describe('backoffDelay', () => {
  it('grows exponentially up to the cap', () => {
    const policy = { kind: 'exponential', initialMs: 1_000, maxMs: 5_000 } as const;
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    expect(backoffDelay({ kind: 'exponential', initialMs: 100, factor: 3 }, 3)).toBe(900);
  });

  it('follows a list and ends with it', () => {
    const policy = { kind: 'list', delaysMs: [250, 1_000] } as const;
    expect([1, 2, 3].map((n) => backoffDelay(policy, n))).toEqual([250, 1_000, undefined]);
  });

  it('refuses a retry number below 1', () => {
    expect(() => backoffDelay({ kind: 'list', delaysMs: [1] }, 0)).toThrow(/whole number from 1/);
  });
});

describe('retryWithBackoff on a ManualClock', () => {
  it('retries after each delay of the policy, not before', async () => {
    const clock = new ManualClock(T0);
    const { at, work } = flaky(clock, 2);
    const result = retryWithBackoff(work, { clock, policy: { kind: 'list', delaysMs: [250, 1_000] } });
    await clock.advance(0); // the first attempt fails and the wait is armed
    await clock.advance(249);
    expect(at).toEqual([0]);
    await clock.advance(1);
    expect(at).toEqual([0, 250]);
    await clock.advance(1_000);
    await expect(result).resolves.toBe('ok after 3');
    expect(at).toEqual([0, 250, 1_250]);
  });

  it('throws the last failure when the policy runs out', async () => {
    const clock = new ManualClock(T0);
    const { at, work } = flaky(clock, 5);
    const result = retryWithBackoff(work, { clock, policy: { kind: 'exponential', initialMs: 1_000 }, maxAttempts: 3 });
    result.catch(() => undefined);
    await clock.advance(0);
    await clock.advance(10_000);
    await expect(result).rejects.toThrow('failure 3');
    expect(at).toEqual([0, 1_000, 3_000]);
  });

  it('does not retry a failure shouldRetry refuses', async () => {
    const clock = new ManualClock(T0);
    const { at, work } = flaky(clock, 1);
    await expect(retryWithBackoff(work, { clock, policy: { kind: 'list', delaysMs: [1] }, shouldRetry: () => false })).rejects.toThrow('failure 1');
    expect(at).toEqual([0]);
  });

  it('starts no retry at or past the deadline', async () => {
    const clock = new ManualClock(T0);
    const { at, work } = flaky(clock, 5);
    const result = retryWithBackoff(work, { clock, policy: { kind: 'list', delaysMs: [250, 1_000] }, deadline: T0 + 1_000 });
    result.catch(() => undefined);
    await clock.advance(0);
    await clock.advance(5_000);
    await expect(result).rejects.toThrow('failure 2');
    expect(at).toEqual([0, 250]);
  });

  it('stops waiting when the signal aborts', async () => {
    const clock = new ManualClock(T0);
    const { at, work } = flaky(clock, 5);
    const abort = new AbortController();
    const retries: number[] = [];
    const result = retryWithBackoff(work, { clock, policy: { kind: 'list', delaysMs: [60_000] }, signal: abort.signal, onRetry: (_e, n, ms) => retries.push(n, ms) });
    result.catch(() => undefined);
    await clock.advance(1);
    abort.abort();
    await expect(result).rejects.toThrow('failure 1');
    expect(at).toEqual([0]);
    expect(retries).toEqual([1, 60_000]);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('clock helpers', () => {
  it('sleep resolves when the time has passed, false when aborted first', async () => {
    const clock = new ManualClock(T0);
    const slept = sleep(clock, 500);
    await clock.advance(500);
    await expect(slept).resolves.toBe(true);
    const abort = new AbortController();
    const cut = sleep(clock, 500, abort.signal);
    abort.abort();
    await expect(cut).resolves.toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('every ticks at its interval until cancelled, keeping one timer', async () => {
    const clock = new ManualClock(T0);
    const ticks: number[] = [];
    const ticker = every(clock, 6 * 3_600_000, () => ticks.push(clock.now() - T0));
    await clock.advance(24 * 3_600_000);
    expect(ticks).toEqual([1, 2, 3, 4].map((n) => n * 6 * 3_600_000));
    expect(clock.pendingTimers).toBe(1);
    ticker.cancel();
    await clock.advance(24 * 3_600_000);
    expect(ticks).toHaveLength(4);
    expect(clock.pendingTimers).toBe(0);
  });

  it('withTimeout rejects a promise that does not settle in time', async () => {
    const clock = new ManualClock(T0);
    const never = new Promise<never>(() => undefined);
    const limited = withTimeout(clock, never, 10_000, () => new Error('too slow'));
    limited.catch(() => undefined);
    await clock.advance(10_000);
    await expect(limited).rejects.toThrow('too slow');
    await expect(withTimeout(clock, Promise.resolve(7), 10, () => new Error('x'))).resolves.toBe(7);
    expect(clock.pendingTimers).toBe(0);
  });
});
