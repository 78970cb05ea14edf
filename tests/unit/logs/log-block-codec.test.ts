// The log block codec's text column, written as one joined string: every line comes back exactly, also lone surrogates
// and a surrogate pair that only joining two lines forms (each line keeps its own half), compressed or not.
import { describe, expect, it } from 'vitest';
import { blockLine, decodeLogBlock, encodeLogBlock } from '../../../src-main/core/logs/log-block-codec';
import type { LogLine } from '../../../src-shared/contract/logs';

const ts = '2026-01-02T03:04:05.678Z';
const roundTrip = (texts: string[], compress: boolean): string[] => {
  const lines: LogLine[] = texts.map((text, i) => ({ seq: i + 1, stream: i % 2 ? 'stderr' : 'stdout', ts, text }));
  const b = decodeLogBlock(encodeLogBlock(lines, compress).data);
  return Array.from({ length: b.lineCount }, (_, i) => blockLine(b, i).text);
};

describe('log block text column', () => {
  for (const compress of [false, true]) {
    it(`round-trips plain, astral, empty and lone-surrogate lines (${compress ? 'sealed' : 'chunk'})`, () => {
      const texts = ['plain', '', 'é ✓ 😀', 'lone \uD800 high', '\uDC00 lone low', 'end \uD83D', '\uDE00 start', 'x'.repeat(70_000)];
      expect(roundTrip(texts, compress)).toEqual(texts);
    });

    it(`keeps a pair formed only across two lines apart (${compress ? 'sealed' : 'chunk'})`, () => {
      const texts = ['ends high \uD83D', '\uDE00 starts low', 'ok'];
      expect(roundTrip(texts, compress)).toEqual(texts);
    });
  }

  it('counts characters plus one newline per line as the text size', () => {
    const lines: LogLine[] = [{ seq: 5, stream: 'stdout', ts, text: 'abc' }, { seq: 6, stream: 'system', ts, text: '' }];
    expect(encodeLogBlock(lines, true)).toMatchObject({ firstSeq: 5, lastSeq: 6, lineCount: 2, outputCount: 1, textBytes: 5 });
  });
});
