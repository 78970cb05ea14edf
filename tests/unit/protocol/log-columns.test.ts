// Issue 18 item 2: column-wise log batches (capability log-columns-v1). The runner encodes consecutive lines into one
// `log.columns` frame; the app checks it once and gets back exactly the lines of a `log` batch, or a clear refusal.
import { describe, expect, it } from 'vitest';
import { MAX_LINE_CHARS, WelcomeMessage, encodeLogColumns, parseAppMessage, parseRunnerMessage, type WireLine } from '../../../src-shared/protocol/runner-wire';
import { RUNNER_CAPABILITIES } from '../../../src-shared/protocol/runner-info';

const T1 = '2026-01-01T00:00:00.000Z';
const T2 = '2026-01-01T00:00:00.005Z';
const lines: WireLine[] = [
  { seq: 41, stream: 'stdout', ts: T1, text: 'one' },
  { seq: 42, stream: 'stderr', ts: T1, text: '' },
  { seq: 43, stream: 'stdout', ts: T2, text: 'qu"ote\\ \u00e9 \u{1F600} \ud800 lone\r' },
  { seq: 44, stream: 'stdout', ts: T2, text: 'x'.repeat(MAX_LINE_CHARS) },
];
const good = { type: 'log.columns', first: 41, streams: 'oeoo', ts: [T1, T2], tsRuns: [2, 2], lens: lines.map((l) => l.text.length), text: lines.map((l) => l.text).join('') };

function refusal(frame: unknown): string {
  const r = parseRunnerMessage(JSON.stringify(frame));
  if (r.ok) throw new Error('accepted');
  return r.error;
}

describe('column-wise log batches', () => {
  it('round-trips lines exactly (streams, run-length times, odd texts) into a log batch', () => {
    const frame = encodeLogColumns(lines)!;
    expect(JSON.parse(frame)).toEqual(good);
    expect(parseRunnerMessage(frame)).toEqual({ ok: true, message: { type: 'log', lines } });
  });

  it('is exactly the JSON of the frame object, for runs of streams and times starting anywhere', () => {
    // The runner writes the frame by hand; an app parses it as JSON, so it must be the very text JSON.stringify makes.
    const mixed = Array.from({ length: 2_000 }, (_, i): WireLine => ({ seq: 9_007_199_254_738_000 + i, stream: (i >> 3) % 3 === 0 ? 'stderr' : 'stdout', ts: [T1, T2, '"odd\\ts'][(i >> 5) % 3], text: `${i} ${['', '"', '\\', '\u0001', '\u2028', '\ud800', '\u{1F600}', 'é'][i % 8]}` }));
    for (const batch of [lines, mixed, mixed.slice(7, 8), mixed.slice(8, 1000)]) {
      const streams = batch.map((l) => (l.stream === 'stdout' ? 'o' : 'e')).join('');
      const ts: string[] = [];
      const tsRuns: number[] = [];
      for (const l of batch) {
        if (ts[ts.length - 1] === l.ts) tsRuns[tsRuns.length - 1]++;
        else {
          ts.push(l.ts);
          tsRuns.push(1);
        }
      }
      const object = { type: 'log.columns', first: batch[0].seq, streams, ts, tsRuns, lens: batch.map((l) => l.text.length), text: batch.map((l) => l.text).join('') };
      expect(encodeLogColumns(batch)).toBe(JSON.stringify(object));
    }
  });

  it('round-trips a large batch', () => {
    const many = Array.from({ length: 50_000 }, (_, i): WireLine => ({ seq: i + 1, stream: i % 7 === 0 ? 'stderr' : 'stdout', ts: i % 1000 < 500 ? T1 : T2, text: `line ${i + 1}` }));
    expect(parseRunnerMessage(encodeLogColumns(many)!)).toEqual({ ok: true, message: { type: 'log', lines: many } });
  });

  it('is not used for lines whose seqs are not consecutive', () => {
    expect(encodeLogColumns([lines[0], lines[2]])).toBeNull();
    expect(encodeLogColumns([])).toBeNull();
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no lens', { lens: undefined }, /lens: expected an array/],
    ['no lines', { lens: [], text: '', streams: '', ts: [], tsRuns: [] }, /lens: a batch holds 1 to 200000/],
    ['too many lines', { lens: new Array(200_001).fill(0), text: '', streams: 'o'.repeat(200_001), ts: [T1], tsRuns: [200_001] }, /lens: a batch holds/],
    ['first 0', { first: 0 }, /first: expected a whole number/],
    ['first fraction', { first: 1.5 }, /first:/],
    ['first string', { first: '41' }, /first:/],
    ['first unsafe', { first: Number.MAX_SAFE_INTEGER }, /first:/],
    ['streams too short', { streams: 'oeo' }, /streams: expected 4 stream codes/],
    ['streams bad code', { streams: 'oexo' }, /streams:/],
    ['streams not a string', { streams: ['o', 'e', 'o', 'o'] }, /streams:/],
    ['ts and runs differ in length', { tsRuns: [4] }, /ts: expected as many times as time runs/],
    ['ts empty string', { ts: ['', T2] }, /ts\.0: expected a time/],
    ['ts too long', { ts: [T1, 'x'.repeat(41)] }, /ts\.1:/],
    ['ts number', { ts: [5, T2] }, /ts\.0:/],
    ['run 0', { tsRuns: [0, 4] }, /tsRuns\.0: expected a whole number from 1/],
    ['run fraction', { tsRuns: [1.5, 2.5] }, /tsRuns\.0:/],
    ['runs short of the lines', { tsRuns: [1, 2] }, /tsRuns: the time runs cover 3 lines, the batch has 4/],
    ['runs past the lines', { tsRuns: [3, 2] }, /tsRuns: the time runs cover 5 lines/],
    ['text not a string', { text: ['one'] }, /text: expected a string/],
    ['a negative length', { lens: [3, -1, 1, 1] }, /lens\.1: expected a length/],
    ['a fractional length', { lens: [3, 0.5, 1, 1] }, /lens\.1:/],
    ['a line too long', { lens: [3, MAX_LINE_CHARS + 1, 1, 1] }, /lens\.1:/],
    ['lengths short of the text', { lens: [3, 0, 1, 1] }, /text: the lengths add up to 5 characters/],
    ['lengths past the text', { text: 'one' }, /text: the lengths add up to/],
  ];
  for (const [name, change, error] of bad) {
    it(`refuses a frame with ${name}`, () => {
      expect(refusal({ ...good, ...change })).toMatch(new RegExp(`^runner message refused: log\\.columns ${error.source}`));
    });
  }

  it('is negotiated: the runner advertises it, the welcome asks for it, an old runner ignores the ask', () => {
    expect(RUNNER_CAPABILITIES).toContain('log-columns-v1');
    const ask = parseAppMessage(JSON.stringify({ type: 'welcome', resumeFrom: 3, logFormat: 'columns-v1' }));
    expect(ask).toEqual({ ok: true, message: { type: 'welcome', resumeFrom: 3, logFormat: 'columns-v1' } });
    // A runner built before the format parses the welcome with its old schema: the ask is dropped, plain `log` goes on.
    const OldWelcome = WelcomeMessage.omit({ logFormat: true });
    expect(OldWelcome.parse({ type: 'welcome', resumeFrom: 3, logFormat: 'columns-v1' })).toEqual({ type: 'welcome', resumeFrom: 3 });
    // An app of this version still reads a plain `log` batch (an old runner's).
    expect(parseRunnerMessage(JSON.stringify({ type: 'log', lines }))).toEqual({ ok: true, message: { type: 'log', lines } });
  });
});
