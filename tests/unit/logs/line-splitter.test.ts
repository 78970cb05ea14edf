// LineSplitter: lines joined across chunks, UTF-8 split across chunks, invalid bytes replaced, long lines cut.
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../src-shared/logs/line-splitter';
import { MASK, SecretMasker } from '../../../src-shared/logs/secret-masker';

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

describe('LineSplitter with secrets, looked for once per chunk', () => {
  const SECRET = 'pa55-wörd-xyz';
  const masked = (s: string) => s.split(SECRET).join(MASK);
  const text = Array.from({ length: 3_000 }, (_, i) => (i % 997 === 5 ? `line ${i} has ${SECRET} and "${SECRET}" in it` : `line ${i} plain`)).join('\n') + `\ntail ${SECRET}`;

  it('masks every line holding a secret among many that do not, whatever the chunk boundaries', () => {
    const bytes = Buffer.from(text, 'utf8');
    const expected = text.split('\n').map(masked);
    for (const size of [1, 7, 13, 64, 4096, 65_536, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
      const lines = splitAll(chunks, { masker: new SecretMasker([SECRET]) });
      expect(lines).toEqual(expected);
      expect(lines.join('\n')).not.toContain(SECRET);
    }
  });

  it('masks a secret inside a line still growing past the bound, and one learned while the job runs', () => {
    const masker = new SecretMasker([SECRET]);
    const s = new LineSplitter({ maxLineChars: 100, masker });
    const late = 'learned-later-42';
    const long = `${'a'.repeat(95)}${SECRET}${'b'.repeat(300)}`;
    const out = [...s.push(Buffer.from(long.slice(0, 150))), ...s.push(Buffer.from(`${long.slice(150)}\nplain\n`))];
    masker.add(late);
    out.push(...s.push(Buffer.from(`x ${late} y\n`)), ...s.end());
    expect(out.join('')).toBe(masked(long) + 'plain' + `x ${MASK} y`);
    expect(out.join('\n')).not.toContain(SECRET);
    expect(out.every((l) => l.length <= 100)).toBe(true);
  });
});
