// The log viewer's ANSI handling: escape sequences become styled text segments (never markup), search matches are
// split out across colour changes, and plain text for copy/download has every escape sequence removed.
import { describe, expect, it } from 'vitest';
import { ansiToSegments, highlightSegments, paletteColour, stripAnsi } from '../../../src-renderer/src/logs/ansi';

const ESC = '\u001b';

describe('ANSI -> segments', () => {
  describe('when a line has no escape sequences', () => {
    it('is one plain segment, and an empty line is none', () => {
      expect(ansiToSegments('hello world')).toEqual([{ text: 'hello world', fg: null, bg: null, bold: false, dim: false, italic: false, underline: false }]);
      expect(ansiToSegments('')).toEqual([]);
    });
  });

  describe('when a script prints HTML', () => {
    it('keeps it as literal text in a segment, with no markup produced', () => {
      const segs = ansiToSegments(`${ESC}[31m<img src=x onerror=alert(1)>${ESC}[0m & <b>bold</b>`);
      expect(segs.map((s) => s.text).join('')).toBe('<img src=x onerror=alert(1)> & <b>bold</b>');
      expect(segs[0]).toMatchObject({ text: '<img src=x onerror=alert(1)>', fg: 'ansi-red' });
      expect(segs[1]!.fg).toBeNull();
    });
  });

  describe('when a script prints colours and decorations', () => {
    it('maps basic colours to theme classes, 256 colours and truecolour to rgb()', () => {
      const segs = ansiToSegments(`${ESC}[1;32mok${ESC}[0m ${ESC}[38;5;196mhot${ESC}[38;2;10;20;30m deep${ESC}[44m bg`);
      expect(segs[0]).toMatchObject({ text: 'ok', fg: 'ansi-green', bold: true });
      expect(segs.find((s) => s.text === 'hot')!.fg).toBe('rgb(255, 0, 0)');
      expect(segs.find((s) => s.text === ' deep')!.fg).toBe('rgb(10, 20, 30)');
      expect(segs.find((s) => s.text === ' bg')).toMatchObject({ fg: 'rgb(10, 20, 30)', bg: 'ansi-blue' });
    });

    it('knows the xterm palette corners', () => {
      expect(paletteColour(1)).toBe('ansi-red');
      expect(paletteColour(9)).toBe('ansi-bright-red');
      expect(paletteColour(16)).toBe('rgb(0, 0, 0)');
      expect(paletteColour(231)).toBe('rgb(255, 255, 255)');
      expect(paletteColour(232)).toBe('rgb(8, 8, 8)');
    });
  });

  describe('when the user searches', () => {
    it('splits every case-insensitive match into its own segment, across colour boundaries', () => {
      const segs = highlightSegments(ansiToSegments(`err${ESC}[31mOR here, error${ESC}[0m`), 'error');
      const matches = segs.filter((s) => s.match);
      expect(matches.map((s) => s.text)).toEqual(['err', 'OR', 'error']);
      expect(matches[1]!.fg).toBe('ansi-red');
      expect(segs.map((s) => s.text).join('')).toBe('errOR here, error');
    });

    it('leaves segments untouched when nothing matches or the query is empty', () => {
      const segs = ansiToSegments('nothing to see');
      expect(highlightSegments(segs, 'zzz')).toBe(segs);
      expect(highlightSegments(segs, '')).toBe(segs);
    });
  });

  describe('when text is copied or downloaded', () => {
    it('strips CSI and OSC sequences and keeps the text', () => {
      expect(stripAnsi(`${ESC}[1;31mred${ESC}[0m ${ESC}]0;title\u0007plain ${ESC}[2Kcleared`)).toBe('red plain cleared');
      expect(stripAnsi('no escapes')).toBe('no escapes');
    });
  });
});
