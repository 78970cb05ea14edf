// LogSinkImpl's masking: every line (chunks, runner-numbered lines, system lines) and the texts the job service
// stores beside them (failure reason, output) go through the job's one masker, and a secret learned mid-job
// (addSecret) is masked in every line after it.
import { describe, expect, it } from 'vitest';
import { LogSinkImpl } from '../../../src-main/core/logs/log-sink';
import type { LogStore } from '../../../src-main/core/logs/log-store';
import { MASK } from '../../../src-shared/logs/secret-masker';

function sinkWith(secrets: string[]) {
  const stored: string[] = [];
  const store = {
    lastSequence: () => 0,
    append: (_id: string, line: { text: string }) => stored.push(line.text),
    appendBatch: (_id: string, lines: Array<{ text: string }>) => stored.push(...lines.map((l) => l.text)),
  } as unknown as LogStore;
  return { sink: new LogSinkImpl('log-1', store, secrets), stored };
}

describe('LogSinkImpl masking', () => {
  it('masks chunks, numbered lines, system lines and reasons with the same secrets and forms', () => {
    const secret = 'hunter-2-secret';
    const { sink, stored } = sinkWith([secret]);
    sink.writeChunk('stdout', Buffer.from(`pw=${secret}\n${JSON.stringify({ pw: secret })}\n`));
    sink.appendSequenced([{ seq: 3, stream: 'stdout', ts: 'x', text: Buffer.from(secret).toString('base64') }]);
    sink.system(`connecting with ${encodeURIComponent(secret)}`);
    expect(stored).toEqual([`pw=${MASK}`, `{"pw":"${MASK}"}`, expect.stringContaining(MASK), `connecting with ${MASK}`]);
    expect(stored.join('\n')).not.toContain('hunter');
    expect(sink.mask(`the script failed: ${secret}`)).toBe(`the script failed: ${MASK}`);
  });

  it('masks a secret added mid-job in every later line, not the earlier ones', () => {
    const { sink, stored } = sinkWith([]);
    sink.writeChunk('stdout', Buffer.from('made-up-token-9 before\n'));
    sink.addSecret('made-up-token-9');
    sink.writeChunk('stdout', Buffer.from('made-up-token-9 after\n'));
    sink.appendSequenced([{ seq: 3, stream: 'stdout', ts: 'x', text: 'runner made-up-token-9' }]);
    expect(stored).toEqual(['made-up-token-9 before', `${MASK} after`, `runner ${MASK}`]);
  });
});
