/**
 * Clock: the core's only source of "now" and of timers, so the scheduler, retries, heartbeats and clean-ups can be
 * tested with a controllable clock (tests/harness/manual-clock.ts). Lint forbids Date.now(), argument-less new Date(),
 * setTimeout and setInterval elsewhere in src-main/core (eslint.config.mjs); waits go through sleep() or every() here.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** Waits `ms` on the clock. Resolves true when the time has passed, false when `signal` aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      timer.cancel();
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn` every `ms` on the clock (the next tick is armed after `fn` returns) until cancel() is called. */
export function every(clock: Clock, ms: number, fn: () => void): { cancel(): void } {
  let stopped = false;
  let timer = clock.setTimeout(function tick() {
    if (stopped) return;
    fn();
    if (!stopped) timer = clock.setTimeout(tick, ms);
  }, ms);
  return {
    cancel() {
      stopped = true;
      timer.cancel();
    },
  };
}

/** A promise that rejects with `onTimeout()` when `promise` has not settled within `ms` on the clock. */
export function withTimeout<T>(clock: Clock, promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (err) => {
        timer.cancel();
        reject(err);
      },
    );
  });
}
