// The runner wire protocol's schemas: what each end accepts and what it refuses (malformed, unknown, too large).
import { describe, expect, it } from 'vitest';
import {
  MAX_WIRE_MESSAGE_BYTES,
  parseAppMessage,
  parseRunnerMessage,
  RunnerStartFile,
  runnerStreamPath,
} from '../../../src-shared/protocol/runner-wire';

const hello = {
  type: 'hello', protocolVersion: 1, runnerVersion: '1.0.0', os: 'linux', arch: 'x64', capabilities: ['spool'],
  jobId: 'job-1', lastAckedSeq: 0, lastSeq: 10, state: 'running',
};

describe('the runner wire protocol', () => {
  describe('when a runner sends well-formed messages', () => {
    it('accepts hello, log, exit, helper.request, health and error', () => {
      for (const m of [
        hello,
        { type: 'log', lines: [{ seq: 1, stream: 'stdout', ts: '2026-01-01T00:00:00.000Z', text: 'hi' }] },
        { type: 'exit', code: 0, signal: null, durationMs: 12, lastSeq: 1, output: { a: 1 }, condition: true },
        { type: 'helper.request', id: 'h1', op: 'getVariable', args: { key: 'k' } },
        { type: 'health', rssBytes: 1 },
        { type: 'error', message: 'x' },
      ]) {
        const r = parseRunnerMessage(JSON.stringify(m));
        expect(r.ok, JSON.stringify(m)).toBe(true);
      }
    });
  });

  describe('when a message is malformed', () => {
    it.each([
      ['not JSON', '{type: hello'],
      ['an unknown type', JSON.stringify({ type: 'shell', cmd: 'rm -rf /' })],
      ['a negative sequence', JSON.stringify({ type: 'log', lines: [{ seq: -1, stream: 'stdout', ts: 't', text: '' }] })],
      ['a stream the runner may not claim', JSON.stringify({ type: 'log', lines: [{ seq: 1, stream: 'system', ts: 't', text: 'forged' }] })],
      ['an empty batch', JSON.stringify({ type: 'log', lines: [] })],
      ['an unknown helper op', JSON.stringify({ type: 'helper.request', id: '1', op: 'exec', args: {} })],
      ['a hello without its job', JSON.stringify({ ...hello, jobId: undefined })],
    ])('refuses %s with a reason', (_what, raw) => {
      const r = parseRunnerMessage(raw);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/runner message/);
    });

    it('refuses a message above the size bound before parsing it', () => {
      const r = parseRunnerMessage('{}', MAX_WIRE_MESSAGE_BYTES + 1);
      expect(r).toEqual({ ok: false, error: expect.stringMatching(/larger than/) });
    });
  });

  describe('when the app sends messages', () => {
    it('accepts welcome, ack, env, helper.response and cancel, and refuses env names that are not variable names', () => {
      for (const m of [
        { type: 'welcome', resumeFrom: 5, token: 'abc' },
        { type: 'ack', upTo: 5 },
        { type: 'env', values: { API_KEY: 's3cret' } },
        { type: 'helper.response', id: 'h1', ok: true, value: null },
        { type: 'cancel', graceMs: 2000 },
      ]) expect(parseAppMessage(JSON.stringify(m)).ok).toBe(true);
      expect(parseAppMessage(JSON.stringify({ type: 'env', values: { 'BAD NAME': 'x' } })).ok).toBe(false);
    });
  });

  describe('the start file', () => {
    it('needs a token and a port, and the stream path names the job', () => {
      expect(RunnerStartFile.safeParse({ token: 't', port: 40000 }).success).toBe(true);
      expect(RunnerStartFile.safeParse({ port: 40000 }).success).toBe(false);
      expect(runnerStreamPath('a b')).toBe('/api/runner/stream/a%20b');
    });
  });
});
