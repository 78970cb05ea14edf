// SecretMasker with the LineSplitter in front of it: a secret is masked wherever the chunk boundaries fall,
// multi-line secrets line by line, and a long-line cut never splits a secret in two unmasked halves.
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../src-shared/logs/line-splitter';
import { MASK, SecretMasker } from '../../../src-shared/logs/secret-masker';

function pipeline(masker: SecretMasker, chunks: Buffer[], maxLineChars?: number): string[] {
  const s = new LineSplitter({ maxLineChars, masker });
  return [...chunks.flatMap((c) => s.push(c)), ...s.end()];
}

describe('SecretMasker', () => {
  const secret = 'pa$$-wörd-42';
  const masker = new SecretMasker([secret, 'other']);

  describe('when a secret is split across two chunks at any offset', () => {
    it('is masked for every split point', () => {
      const out = Buffer.from(`before ${secret} after\nnext other line\n`, 'utf8');
      for (let at = 0; at <= out.length; at++) {
        const lines = pipeline(masker, [out.subarray(0, at), out.subarray(at)]);
        expect(lines).toEqual([`before ${MASK} after`, `next ${MASK} line`]);
      }
    });

    it('is masked when split across three chunks', () => {
      const out = Buffer.from(`x${secret}y\n`, 'utf8');
      for (let a = 0; a <= out.length; a++) {
        for (let b = a; b <= out.length; b++) {
          expect(pipeline(masker, [out.subarray(0, a), out.subarray(a, b), out.subarray(b)])).toEqual([`x${MASK}y`]);
        }
      }
    });
  });

  describe('when a secret spans several lines', () => {
    it('masks each of its recognisable lines and leaves short common ones', () => {
      const pem = '-----BEGIN-----\nMIIBsecretA\nMIIBsecretB\n}';
      const m = new SecretMasker([pem]);
      expect(pipeline(m, [Buffer.from(`${pem}\nplain }\n`)])).toEqual([MASK, MASK, MASK, '}', 'plain }']);
    });
  });

  describe('when a long line is cut at the bound', () => {
    it('never leaves a secret in two unmasked halves', () => {
      for (let pad = 0; pad < 30; pad++) {
        const line = `${'z'.repeat(pad)}${secret}${'z'.repeat(40)}\n`;
        const joined = pipeline(masker, [Buffer.from(line)], 20).join('');
        expect(joined).not.toContain('wörd');
        expect(joined).toContain(MASK);
      }
    });
  });

  describe('when there are overlapping secrets', () => {
    it('masks the longer one whole', () => {
      const m = new SecretMasker(['abc', 'abcdef']);
      expect(m.mask('xabcdefx abc')).toBe(`x${MASK}x ${MASK}`);
    });

    it('ignores empty values', () => {
      expect(new SecretMasker(['']).mask('text')).toBe('text');
    });
  });
});
