/**
 * Ids and timestamps as the schema stores them: UUIDs as text, ISO-8601 UTC text.
 * Every row the app writes gets its id and times from here, so the formats stay one.
 */
import { randomUUID } from 'node:crypto';

export function newId(): string {
  return randomUUID();
}

/** ISO-8601 UTC, e.g. 2025-01-31T12:00:00.000Z; sorts lexically in time order. */
export function nowIso(ms: number = Date.now()): string {
  return new Date(ms).toISOString();
}
