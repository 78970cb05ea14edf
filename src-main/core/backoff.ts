/**
 * Backoff: the one retry helper of the core. Every retry loop (job retries, runner re-attach, runner deploy steps,
 * ensureRunner) takes its delays from backoffDelay() and waits on the injected Clock, so tests drive retries with a
 * ManualClock in milliseconds. Policies are either exponential (initial, factor, cap) or an explicit list of delays.
 * (p-retry and exponential-backoff wait on real timers and cannot take our Clock, hence this small helper.)
 */
import { sleep, type Clock } from './clock';

export type BackoffPolicy =
  /** Delay n (n = 1 before the 2nd attempt) = min(maxMs, initialMs * factor^(n-1)); attempts bounded by the caller. */
  | { kind: 'exponential'; initialMs: number; factor?: number; maxMs?: number }
  /** The delays before the 2nd, 3rd, ... attempt; attempts end when the list does. */
  | { kind: 'list'; delaysMs: readonly number[] };

/** The wait before retry number `retry` (1 = the first retry), or undefined when the policy has no more retries. */
export function backoffDelay(policy: BackoffPolicy, retry: number): number | undefined {
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError(`retry must be a whole number from 1, got ${retry}`);
  if (policy.kind === 'list') return policy.delaysMs[retry - 1];
  const raw = policy.initialMs * (policy.factor ?? 2) ** (retry - 1);
  return Math.min(policy.maxMs ?? Number.POSITIVE_INFINITY, raw);
}

export interface RetryOptions {
  clock: Clock;
  policy: BackoffPolicy;
  /** Attempts in all, the first included (default: unbounded for exponential, list length + 1 for a list). */
  maxAttempts?: number;
  /** Whether this failure may pass on another attempt (default: every failure). */
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** No retry would start at or after this clock time (epoch ms). */
  deadline?: number;
  /** Stops waiting and retrying; the last failure is thrown. */
  signal?: AbortSignal;
  /** Told before each wait (to log "retrying in ..."). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `work` until it succeeds or the policy, shouldRetry, the deadline or the signal say stop; throws the last error. */
export async function retryWithBackoff<T>(work: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (err) {
      const delay = backoffDelay(opts.policy, attempt);
      const stop =
        delay === undefined ||
        (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) ||
        opts.signal?.aborted === true ||
        (opts.deadline !== undefined && opts.clock.now() + delay >= opts.deadline) ||
        (opts.shouldRetry !== undefined && !opts.shouldRetry(err, attempt));
      if (stop) throw err;
      opts.onRetry?.(err, attempt, delay);
      if (!(await sleep(opts.clock, delay, opts.signal))) throw err;
    }
  }
}
