/**
 * EventBus: the core's one way to push contract events (log lines, job and runner changes) to whoever listens:
 * the router forwards them to every connected renderer, the Electron shell to the tray and notifications.
 */
import type { EventName, EventPayload } from '../../src-shared/contract';

export type BusListener = <K extends EventName>(name: K, payload: EventPayload<K>) => void;

export class EventBus {
  private readonly listeners = new Set<BusListener>();

  emit<K extends EventName>(name: K, payload: EventPayload<K>): void {
    for (const listener of this.listeners) {
      try {
        listener(name, payload);
      } catch (err) {
        console.error(`[event-bus] listener failed for ${name}:`, err);
      }
    }
  }

  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
