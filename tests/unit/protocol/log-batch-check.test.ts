// Issue 18 item 2: a runner's `log` batch is checked in one plain loop instead of zod line by line. The loop must accept
// and refuse exactly what the LogMessage schema does: compared here on valid batches and on every kind of bad field.
import { describe, expect, it } from 'vitest';
import { LogMessage, MAX_LINE_CHARS, parseRunnerMessage } from '../../../src-shared/protocol/runner-wire';

const good = { seq: 1, stream: 'stdout', ts: '2026-01-01T00:00:00.000Z', text: 'hello' };
const variants: Array<[string, unknown]> = [
  ['valid', good],
  ['stderr', { ...good, stream: 'stderr' }],
  ['empty text', { ...good, text: '' }],
  ['longest text', { ...good, text: 'x'.repeat(MAX_LINE_CHARS) }],
  ['text too long', { ...good, text: 'x'.repeat(MAX_LINE_CHARS + 1) }],
  ['seq 0', { ...good, seq: 0 }],
  ['seq fraction', { ...good, seq: 1.5 }],
  ['seq string', { ...good, seq: '1' }],
  ['seq unsafe', { ...good, seq: 2 ** 60 }],
  ['seq negative', { ...good, seq: -3 }],
  ['system stream', { ...good, stream: 'system' }],
  ['no stream', { seq: 1, ts: good.ts, text: 'a' }],
  ['empty ts', { ...good, ts: '' }],
  ['ts too long', { ...good, ts: 'x'.repeat(41) }],
  ['ts number', { ...good, ts: 5 }],
  ['text null', { ...good, text: null }],
  ['line null', null],
  ['line string', 'line'],
];

describe("a runner's log batch", () => {
  for (const [name, line] of variants) {
    it(`agrees with the LogMessage schema on a line with ${name}`, () => {
      const msg = { type: 'log', lines: [good, line] };
      const fast = parseRunnerMessage(JSON.stringify(msg));
      expect(fast.ok).toBe(LogMessage.safeParse(msg).success);
      if (!fast.ok) expect(fast.error).toMatch(/^runner message refused: lines\.1/);
    });
  }

  it('refuses an empty batch, a batch that is not an array, and passes the lines through unchanged', () => {
    expect(parseRunnerMessage(JSON.stringify({ type: 'log', lines: [] })).ok).toBe(false);
    expect(parseRunnerMessage(JSON.stringify({ type: 'log', lines: {} })).ok).toBe(false);
    expect(parseRunnerMessage(JSON.stringify({ type: 'log' })).ok).toBe(false);
    const lines = Array.from({ length: 1000 }, (_, i) => ({ ...good, seq: i + 1, text: `line ${i + 1}` }));
    const parsed = parseRunnerMessage(JSON.stringify({ type: 'log', lines }));
    expect(parsed).toEqual({ ok: true, message: { type: 'log', lines } });
  });

  it('hands over fresh lines of exactly the four fields (the app renumbers and keeps them)', () => {
    const parsed = parseRunnerMessage(JSON.stringify({ type: 'log', lines: [{ ...good, extra: 'x', text: 'a' }] }));
    expect(parsed.ok && parsed.message.type === 'log' && parsed.message.lines).toStrictEqual([{ seq: 1, stream: 'stdout', ts: good.ts, text: 'a' }]);
  });
});
