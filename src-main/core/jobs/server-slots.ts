/**
 * ServerSlots: the per-server run queue. A job takes a slot before it is dispatched and gives it back when its attempt
 * ends; a server never runs more jobs at once than its max_concurrent_jobs, and waiting jobs start in FIFO order.
 * It knows nothing about jobs beyond a waiting caller and its AbortSignal.
 */
import { AppError } from '../errors';

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

interface ServerQueue {
  running: number;
  limit: number;
  waiting: Waiter[];
}

export class ServerSlots {
  private readonly queues = new Map<string, ServerQueue>();

  /** Resolves with a release function once the server has a free slot; rejects with JOB_CANCELLED when aborted first. */
  acquire(serverId: string, limit: number, signal: AbortSignal): Promise<() => void> {
    const queue = this.queue(serverId);
    queue.limit = Math.max(1, limit);
    if (signal.aborted) return Promise.reject(cancelled());
    if (queue.running < queue.limit && queue.waiting.length === 0) {
      queue.running++;
      return Promise.resolve(this.releaser(serverId));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          queue.waiting = queue.waiting.filter((w) => w !== waiter);
          reject(cancelled());
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      queue.waiting.push(waiter);
    });
  }

  /** Whether acquire() would resolve at once (a free slot and nobody waiting before this caller). */
  hasRoom(serverId: string, limit: number): boolean {
    const queue = this.queues.get(serverId);
    return !queue || (queue.running < Math.max(1, limit) && queue.waiting.length === 0);
  }

  private releaser(serverId: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const queue = this.queue(serverId);
      queue.running--;
      this.pump(queue, serverId);
    };
  }

  private pump(queue: ServerQueue, serverId: string): void {
    while (queue.running < queue.limit && queue.waiting.length > 0) {
      const next = queue.waiting.shift()!;
      next.signal.removeEventListener('abort', next.onAbort);
      queue.running++;
      next.resolve(this.releaser(serverId));
    }
  }

  private queue(serverId: string): ServerQueue {
    let q = this.queues.get(serverId);
    if (!q) {
      q = { running: 0, limit: 1, waiting: [] };
      this.queues.set(serverId, q);
    }
    return q;
  }
}

function cancelled(): AppError {
  return new AppError('JOB_CANCELLED', 'the job was cancelled while it waited for a free slot on its server');
}
