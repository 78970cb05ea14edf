// LineSplitter: lines joined across chunks, UTF-8 split across chunks, invalid bytes replaced, long lines cut.
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../src-shared/logs/line-splitter';

function splitAll(chunks: Buffer[], opts?: ConstructorParameters<typeof LineSplitter>[0]): string[] {
  const s = new LineSplitter(opts);
  return [...chunks.flatMap((c) => s.push(c)), ...s.end()];
}

describe('LineSplitter', () => {
  describe('when output arrives in arbitrary chunks', () => {
    it('gives the same lines whatever the chunk boundaries', () => {
      const text = Buffer.from('alpha\nbéta ✓\r\n\nlast 😀 line', 'utf8');
      const whole = splitAll([text]);
      expect(whole).toEqual(['alpha', 'béta ✓', '', 'last 😀 line']);
      for (let a = 0; a <= text.length; a++) {
        for (let b = a; b <= text.length; b += 3) {
          expect(splitAll([text.subarray(0, a), text.subarray(a, b), text.subarray(b)])).toEqual(whole);
        }
      }
    });

    it('keeps a final newline from producing an extra empty line', () => {
      expect(splitAll([Buffer.from('a\nb\n')])).toEqual(['a', 'b']);
    });
  });

  describe('when the bytes are not valid UTF-8', () => {
    it('replaces them with U+FFFD and does not throw', () => {
      expect(splitAll([Buffer.from([0x6f, 0x6b, 0xff, 0xfe, 0x0a, 0xc3])])).toEqual(['ok\uFFFD\uFFFD', '\uFFFD']);
    });
  });

  describe('when a line is extremely long', () => {
    it('cuts it into pieces of the bound, without losing characters', () => {
      const long = 'x'.repeat(25) + '\n';
      const out = splitAll([Buffer.from(long.slice(0, 7)), Buffer.from(long.slice(7))], { maxLineChars: 10 });
      expect(out).toEqual(['xxxxxxxxxx', 'xxxxxxxxxx', 'xxxxx']);
    });

    it('holds no more than about one bound while the line is still growing', () => {
      const s = new LineSplitter({ maxLineChars: 100 });
      let emitted = 0;
      for (let i = 0; i < 1000; i++) emitted += s.push(Buffer.from('y'.repeat(37))).length;
      expect(emitted).toBeGreaterThanOrEqual(369);
      expect(s.end().join('').length).toBeLessThanOrEqual(100);
    });
  });
});
