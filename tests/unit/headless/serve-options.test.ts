// Serve-mode command line: defaults, environment variables, flags and the errors a person sees.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDataDir, parseServeOptions, ServeUsageError } from '../../../src-main/headless/serve-options';

describe('serve options', () => {
  describe('when the user gives nothing', () => {
    it('uses the XDG data folder and any free port on 127.0.0.1', () => {
      expect(parseServeOptions([], { XDG_DATA_HOME: '/data/me' })).toEqual({ dataDir: '/data/me/cronium-desktop', port: 0, host: '127.0.0.1' });
    });

    it('falls back to ~/.local/share without XDG_DATA_HOME (or with a relative one)', () => {
      expect(defaultDataDir({}, 'linux', '/home/ann')).toBe('/home/ann/.local/share/cronium-desktop');
      expect(defaultDataDir({ XDG_DATA_HOME: 'rel' }, 'linux', '/home/ann')).toBe('/home/ann/.local/share/cronium-desktop');
      expect(defaultDataDir({}, 'darwin', '/Users/ann')).toBe('/Users/ann/Library/Application Support/cronium-desktop');
    });
  });

  describe('when the user sets environment variables or flags', () => {
    it('honours CRONIUM_DATA_DIR and CRONIUM_SERVE_PORT', () => {
      expect(parseServeOptions([], { CRONIUM_DATA_DIR: '/srv/c', CRONIUM_SERVE_PORT: '8765' })).toMatchObject({ dataDir: '/srv/c', port: 8765 });
    });

    it('lets flags win over the environment, in both spellings, resolving a relative folder', () => {
      const opts = parseServeOptions(['--data-dir', 'here', '--port=9000'], { CRONIUM_DATA_DIR: '/srv/c', CRONIUM_SERVE_PORT: '8765' }, '/work');
      expect(opts).toMatchObject({ dataDir: path.resolve('/work/here'), port: 9000 });
    });
  });

  describe('when the user gives something wrong', () => {
    it.each([
      [['--port', 'eighty'], /--port must be a port number/],
      [['--port', '70000'], /--port must be a port number/],
      [['--data-dir'], /--data-dir needs a value/],
      [['--host', '0.0.0.0'], /127\.0\.0\.1 only/],
      [['--verbose'], /Unknown option "--verbose"/],
    ])('%j is refused with a clear message', (argv, message) => {
      expect(() => parseServeOptions(argv, {})).toThrow(ServeUsageError);
      expect(() => parseServeOptions(argv, {})).toThrow(message);
    });

    it('names the variable when CRONIUM_SERVE_PORT is bad', () => {
      expect(() => parseServeOptions([], { CRONIUM_SERVE_PORT: '-1' })).toThrow(/CRONIUM_SERVE_PORT/);
    });
  });
});
