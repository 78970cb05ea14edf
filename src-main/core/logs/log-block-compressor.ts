/**
 * LogBlockCompressor: deflates sealed log blocks on one worker thread, so the main thread keeps reading the links while
 * blocks are compressed. One long-lived worker rather than zlib's own async calls: each of those builds a new zlib
 * stream on the calling thread (most of the cost for a block of short lines). Any failure of the worker (it never
 * should) is reported per block and the worker is not used again: the LogStore then deflates on its own thread.
 */
import { Worker } from 'node:worker_threads';

/** The worker's code (evaluated, so it works the same bundled or not): deflate each body it receives. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
parentPort.on('message', (m) => {
  try {
    parentPort.postMessage({ id: m.id, body: zlib.deflateRawSync(m.body, { level: m.level }) });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) });
  }
});
`;

type Done = (err: Error | null, body: Uint8Array | null) => void;

export class LogBlockCompressor {
  private worker: Worker | null = null;
  private broken = false;
  private nextId = 1;
  private readonly waiting = new Map<number, Done>();

  /**
   * Whether a block can be handed to the worker now: false once it failed or was closed, and while it already has
   * `maxInFlight` blocks (a worker that falls behind must not queue copies without bound: the caller deflates those).
   */
  accepts(maxInFlight: number): boolean {
    return !this.broken && this.waiting.size < maxInFlight;
  }

  /** Deflates `body` (raw deflate at `level`) on the worker; `done` runs on this thread. */
  deflate(body: Uint8Array, level: number, done: Done): void {
    const worker = this.start();
    if (!worker) return done(new Error('the log block compressor is not available'), null);
    const id = this.nextId++;
    this.waiting.set(id, done);
    if (this.waiting.size === 1) worker.ref();
    worker.postMessage({ id, body, level });
  }

  /** Stops the worker; blocks still waiting are reported as failed (their owner deflates them itself). */
  close(): void {
    this.broken = true;
    const worker = this.worker;
    this.worker = null;
    this.failAll(new Error('the log block compressor was closed'));
    if (worker) void worker.terminate();
  }

  private start(): Worker | null {
    if (this.broken) return null;
    if (this.worker) return this.worker;
    try {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.on('message', (m: { id: number; body?: Uint8Array; error?: string }) => {
        const done = this.waiting.get(m.id);
        if (!done) return;
        this.waiting.delete(m.id);
        // Idle, the worker must not keep the process alive.
        if (this.waiting.size === 0) worker.unref();
        if (m.body) done(null, m.body);
        else done(new Error(m.error ?? 'deflate failed'), null);
      });
      const fail = (err: Error) => {
        if (this.worker !== worker) return;
        this.broken = true;
        this.worker = null;
        this.failAll(err);
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`the log block compressor stopped (exit code ${code})`)));
      worker.unref();
      this.worker = worker;
      return worker;
    } catch (err) {
      this.broken = true;
      console.error('[log-store] could not start the log block compressor; blocks are deflated on the main thread:', err);
      return null;
    }
  }

  private failAll(err: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const done of waiting) done(err, null);
  }
}
