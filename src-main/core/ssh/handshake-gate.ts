/**
 * HandshakeGate: bounds how many SSH handshakes run at once across the app (first come, first served). Starting
 * hundreds at once (one command on a 200-server fleet) starves the CPU of both ends: every key exchange then
 * misses its connect timeout and the whole run fails. A handshake's timeout starts when it gets its turn.
 * The width follows the cores (bench/fleet-bench.ts, 2 cores: 24 at once spent ~1.4 s per handshake in the gate,
 * the app's thread busy throughout; fewer at once finish sooner and hand their connections to the execs earlier).
 */
import os from 'node:os';

export const MAX_CONCURRENT_HANDSHAKES = Math.max(8, Math.min(24, 4 * os.availableParallelism()));

export class HandshakeGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number = MAX_CONCURRENT_HANDSHAKES) {}

  /** Resolves with a release function once a slot is free; call it exactly once when the handshake has settled. */
  async acquire(): Promise<() => void> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `running` stays counted for it.
      if (next) next();
      else this.running--;
    };
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }
}

/** The one gate every connection of the app goes through (ssh-handshake.ts). */
export const handshakeGate = new HandshakeGate();
