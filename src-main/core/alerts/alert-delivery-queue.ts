/**
 * AlertDeliveryQueue: sends queued deliveries in the background, a few at a time, so an alert never blocks the job,
 * run or health check that raised it. Each delivery is tried with the core backoff helper (delays on the Clock) until
 * it succeeds, fails in a way retrying cannot fix, or runs out of attempts; every attempt is recorded with its error
 * and duration. Deliveries still pending when the app stops stay 'pending' in the database and are sent at the next
 * start.
 */
import type { Clock } from '../clock';
import { retryWithBackoff } from '../backoff';
import { nowIso } from '../db/ids';
import type { EventBus } from '../event-bus';
import type { AlertStore, AlertDeliveryRow } from './alert-store';
import { DeliveryError } from './channels/delivery-error';

export interface DeliveryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Waits before the 2nd, 3rd, ... attempt. */
  retryDelaysMs: readonly number[];
  /** One attempt's limit (HTTP request, SMTP session, command run). */
  attemptTimeoutMs: number;
  /** Deliveries sent at the same time. */
  concurrency: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 4,
  retryDelaysMs: [30_000, 120_000, 600_000],
  attemptTimeoutMs: 10_000,
  concurrency: 4,
};

/** Sends one delivery once through its rule's channel; throws a DeliveryError when the attempt fails. */
export type DeliverOnce = (delivery: AlertDeliveryRow, timeoutMs: number) => Promise<void>;

export class AlertDeliveryQueue {
  private readonly waiting: string[] = [];
  private readonly queued = new Set<string>();
  private active = 0;
  private idleWaiters: Array<() => void> = [];
  private controller = new AbortController();

  constructor(
    private readonly deps: { store: AlertStore; clock: Clock; bus: EventBus; policy: DeliveryPolicy; deliverOnce: DeliverOnce },
  ) {}

  enqueue(deliveryId: string): void {
    if (this.queued.has(deliveryId) || this.controller.signal.aborted) return;
    this.queued.add(deliveryId);
    this.waiting.push(deliveryId);
    this.pump();
  }

  /** Resolves once nothing is waiting or being sent (tests, and stop()). */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops retrying; deliveries not finished stay pending for the next start. */
  async stop(): Promise<void> {
    this.controller.abort();
    this.waiting.length = 0;
    await this.idle();
  }

  /** After a stop, accept work again (the next start). */
  restart(): void {
    if (this.controller.signal.aborted) this.controller = new AbortController();
  }

  private pump(): void {
    while (this.active < this.deps.policy.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.active++;
      void this.send(id)
        .catch((err) => console.error(`[alerts] delivery ${id} could not be processed:`, err))
        .finally(() => {
          this.active--;
          this.queued.delete(id);
          this.pump();
          if (this.active === 0 && this.waiting.length === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }

  private async send(id: string): Promise<void> {
    const { store, clock, policy } = this.deps;
    const delivery = await store.findDelivery(id);
    if (!delivery || delivery.status !== 'pending') return;
    let attempt = delivery.attempts;
    const signal = this.controller.signal;
    try {
      await retryWithBackoff(
        async () => {
          attempt++;
          const started = clock.now();
          try {
            await this.deps.deliverOnce(delivery, policy.attemptTimeoutMs);
            await store.recordAttempt({ delivery_id: id, attempt, at: nowIso(started), ok: 1, error: null, duration_ms: clock.now() - started });
            await store.updateDelivery(id, { attempts: attempt });
          } catch (err) {
            const failure = err instanceof DeliveryError ? err : new DeliveryError(err instanceof Error ? err.message : String(err), true);
            await store.recordAttempt({ delivery_id: id, attempt, at: nowIso(started), ok: 0, error: failure.message, duration_ms: clock.now() - started });
            await store.updateDelivery(id, { attempts: attempt, last_error: failure.message });
            this.deps.bus.emit('alerts/deliveryChanged', { deliveryId: id, status: 'pending' });
            throw failure;
          }
        },
        {
          clock,
          policy: { kind: 'list', delaysMs: policy.retryDelaysMs },
          // Attempts made before a restart count toward the limit.
          maxAttempts: Math.max(1, policy.maxAttempts - delivery.attempts),
          shouldRetry: (err) => !(err instanceof DeliveryError) || err.retryable,
          signal,
        },
      );
      await store.updateDelivery(id, { status: 'delivered', finished_at: nowIso(clock.now()) });
      this.deps.bus.emit('alerts/deliveryChanged', { deliveryId: id, status: 'delivered' });
    } catch (err) {
      // Stopped while waiting to retry: stays pending and goes on at the next start.
      if (signal.aborted) return;
      const reason = err instanceof Error ? err.message : String(err);
      await store.updateDelivery(id, { status: 'failed', last_error: reason, finished_at: nowIso(clock.now()) });
      this.deps.bus.emit('alerts/deliveryChanged', { deliveryId: id, status: 'failed' });
    }
  }
}
