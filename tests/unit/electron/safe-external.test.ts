// The one door to the user's browser: only plain http(s) links without credentials get through.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { openedExternally, resetFakeElectron } from './fake-electron';

vi.mock('electron', () => import('./fake-electron'));
const { isSafeExternalUrl, openExternalSafely } = await import('../../../src-main/electron/safe-external');

// [what the attack is, the URL]
const refused: [string, string][] = [
  ['local file', 'file:///etc/passwd'],
  ['uppercase file scheme', 'FILE:///C:/Windows/System32/calc.exe'],
  ['script URL', 'javascript:alert(1)'],
  ['mixed-case script URL', 'JavaScript:alert(document.domain)'],
  ['leading space', ' javascript:alert(1)'],
  ['tab inside the scheme (the URL parser drops it)', 'java\tscript:alert(1)'],
  ['newline inside the scheme', 'java\nscript:alert(1)'],
  ['leading NUL', '\u0000https://example.com'],
  ['embedded NUL', 'https://example.com\u0000.evil'],
  ['space in host', 'https://exa mple.com'],
  ['line separator', 'https://example.com/\u2028'],
  ['byte order mark', '\ufeffhttps://example.com'],
  ['right-to-left override', 'https://example.com/\u202egnp.exe'],
  ['zero-width space in host', 'https://exa\u200bmple.com'],
  ['non-breaking space', 'https://example.com/\u00a0x'],
  ['DEL character', 'https://example.com/\u007f'],
  ['data URL', 'data:text/html,<script>alert(1)</script>'],
  ['vbscript', 'vbscript:msgbox(1)'],
  ['SMB share', 'smb://attacker.example/share/payload.exe'],
  ['UNC path', '\\\\attacker.example\\share\\payload.exe'],
  ['backslashes read as slashes', 'https:\\\\evil.example'],
  ['Follina', 'ms-msdt:/id PCWDiagnostic /skip force'],
  ['Windows search handler', 'search-ms:query=secret&crumb=location:\\\\evil'],
  ['Office URI handler', 'ms-officecmd:{"id":1}'],
  ['custom app scheme', 'vscode://file/etc/passwd'],
  ['our own custom scheme', 'cronium://open?x=1'],
  ['the app protocol itself', 'app://cronium/index.html'],
  ['ftp', 'ftp://example.com/file'],
  ['mail handler', 'mailto:someone@example.com'],
  ['browser internal', 'chrome://settings'],
  ['credentials', 'https://user:pass@example.com'],
  ['user part that looks like a host', 'https://bank.example@evil.example'],
  ['password only', 'https://:secret@example.com'],
  ['no host', 'https://'],
  ['scheme only', 'https:'],
  ['scheme-relative', '//example.com'],
  ['no scheme', 'example.com'],
  ['empty', ''],
  ['absurdly long', `https://example.com/${'a'.repeat(5000)}`],
];

const allowed = [
  'https://example.com',
  'http://example.com/docs?q=1#top',
  'HTTPS://EXAMPLE.COM/Path',
  'https://例え.jp/',
  'https://example.com:8443/a/b',
];

describe('safe external links', () => {
  beforeEach(() => resetFakeElectron());

  describe('when a page asks to open a dangerous URL', () => {
    it.each(refused)('refuses a %s URL', async (_what, url) => {
      expect(isSafeExternalUrl(url)).toBe(false);
      expect(await openExternalSafely(url)).toBe(false);
      expect(openedExternally).toEqual([]);
    });
  });

  describe('when the user follows an ordinary web link', () => {
    it.each(allowed)('opens %j in the browser', async (url) => {
      expect(isSafeExternalUrl(url)).toBe(true);
      expect(await openExternalSafely(url)).toBe(true);
      expect(openedExternally).toEqual([new URL(url).href]);
    });
  });

  it('refuses values that are not strings at all', () => {
    expect(isSafeExternalUrl(undefined as unknown as string)).toBe(false);
    expect(isSafeExternalUrl({ toString: () => 'https://example.com' } as unknown as string)).toBe(false);
  });
});
