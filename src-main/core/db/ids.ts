/**
 * Ids and timestamps as the schema stores them: UUIDs as text, ISO-8601 UTC text.
 * Every row the app writes gets its id and times from here, so the formats stay one.
 */
import { randomUUID } from 'node:crypto';

export function newId(): string {
  return randomUUID();
}

/** `ms` (the caller's Clock time, epoch ms) as ISO-8601 UTC, e.g. 2025-01-31T12:00:00.000Z; sorts lexically in time order. */
export function nowIso(ms: number): string {
  return new Date(ms).toISOString();
}
