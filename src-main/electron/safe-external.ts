/**
 * The one place that opens a URL outside the app (shell.openExternal). It opens plain http(s) links without
 * credentials and refuses everything else (file:, javascript:, smb:, ms-msdt:, custom schemes, whitespace tricks),
 * because a scheme handler on the user's machine is a code-execution path. Enforced by a lint rule in eslint.config.mjs.
 */
import { shell } from 'electron';

/** Longer than any real link someone clicks; bounds what the URL parser and the OS handler are given. */
const MAX_EXTERNAL_URL_LENGTH = 4096;

export function isSafeExternalUrl(url: string): boolean {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_EXTERNAL_URL_LENGTH) return false;
  // The URL parser silently drops tabs/newlines and trims spaces ("java\tscript:", " file:"), and backslashes are
  // read as slashes; refuse them outright rather than reason about what the OS handler would make of them.
  // Format characters (bidi overrides, zero-width joiners, BOM) make a link read differently from where it goes.
  if (/[\\\p{Cc}\p{Cf}\p{White_Space}]/u.test(url)) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  // "https://bank.example@evil.example" reads like one host and goes to another.
  if (parsed.username !== '' || parsed.password !== '') return false;
  return parsed.hostname !== '';
}

/** Opens the link in the user's browser if it is safe; returns whether it did. Never throws. */
export async function openExternalSafely(url: string): Promise<boolean> {
  if (!isSafeExternalUrl(url)) {
    console.warn(`[safe-external] refused to open ${JSON.stringify(String(url).slice(0, 200))}: only http(s) links without credentials open outside the app`);
    return false;
  }
  try {
    await shell.openExternal(new URL(url).href);
    return true;
  } catch (err) {
    console.error('[safe-external] the system could not open the link:', err);
    return false;
  }
}
