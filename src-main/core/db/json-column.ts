/**
 * Reading the schema's JSON text columns leniently: one unreadable value must not hide its row. It owns only the
 * fallback on a parse failure; shape checks belong to each domain (zod where the shape matters).
 */

/** The parsed column, or `fallback` when it is NULL or not valid JSON. */
export function parseJsonColumn<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
