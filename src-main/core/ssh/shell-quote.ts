/**
 * shellQuote: the one way a value is put into a command line run by a POSIX shell on a server (single quotes, an
 * embedded quote as '\''). Every command built for an SSH exec quotes its values with it; it never interprets them.
 */

/** Single-quotes a value for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
