// The runner's StreamClient sends column-wise log batches only on a connection whose welcome asked for them: an app
// that does not know the format (no logFormat in its welcome) keeps getting plain `log` batches, and a new connection
// starts plain again until its own welcome asks.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { StreamClient } from '../../../src-runner/job/stream-client';
import { parseRunnerMessage, type WireLine } from '../../../src-shared/protocol/runner-wire';

const lines: WireLine[] = [
  { seq: 1, stream: 'stdout', ts: '2026-01-01T00:00:00.000Z', text: 'a' },
  { seq: 2, stream: 'stderr', ts: '2026-01-01T00:00:00.000Z', text: 'b' },
];

let server: WebSocketServer | undefined;
let client: StreamClient | undefined;
afterEach(() => {
  client?.stop();
  server?.close();
});

/** An app end: the first connection gets `welcome` (with `extra`) in answer to hello; it collects every frame. */
async function appEnd(extra: Record<string, unknown>) {
  server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => server!.once('listening', () => r()));
  const frames: string[] = [];
  const sockets: WebSocket[] = [];
  server.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (d: Buffer) => {
      const text = d.toString('utf8');
      frames.push(text);
      if (JSON.parse(text).type === 'hello' && sockets.length === 1) ws.send(JSON.stringify({ type: 'welcome', resumeFrom: 0, ...extra }));
    });
  });
  return { port: (server.address() as AddressInfo).port, frames, sockets };
}

/** Connects, says hello, waits for the welcome, sends the lines; resolves with the log frame the app got. */
function runner(port: number, frames: string[]): { next(): Promise<string> } {
  let welcomed: () => void = () => undefined;
  client = new StreamClient('job-1', { port, token: 't' }, {
    onOpen: () => client!.send({ type: 'hello', protocolVersion: 1, runnerVersion: '1.0.0', os: 'linux', arch: 'x64', capabilities: ['log-columns-v1'], jobId: 'job-1', lastAckedSeq: 0, lastSeq: 2, state: 'running' }),
    onMessage: (m) => m.type === 'welcome' && welcomed(),
    onClose: () => undefined,
    log: () => undefined,
  });
  return {
    async next() {
      const had = frames.length;
      await new Promise<void>((r) => {
        welcomed = r;
        if (!client!.isOpen) client!.start();
      });
      client!.send({ type: 'log', lines });
      for (let i = 0; i < 200 && frames.length < had + 2; i++) await new Promise((r) => setTimeout(r, 10));
      return frames[frames.length - 1];
    },
  };
}

describe("the runner's log batch format", () => {
  it('stays plain `log` with an app whose welcome does not ask for columns (an older app)', async () => {
    const app = await appEnd({});
    const frame = await runner(app.port, app.frames).next();
    expect(JSON.parse(frame).type).toBe('log');
    expect(parseRunnerMessage(frame)).toEqual({ ok: true, message: { type: 'log', lines } });
  });

  it('is column-wise once the welcome asks, and plain again on a new connection until its welcome asks', async () => {
    const app = await appEnd({ logFormat: 'columns-v1' });
    const r = runner(app.port, app.frames);
    const frame = await r.next();
    expect(JSON.parse(frame).type).toBe('log.columns');
    expect(parseRunnerMessage(frame)).toEqual({ ok: true, message: { type: 'log', lines } });
    // A new connection: before its welcome a batch goes out plain; after a welcome that asks, column-wise.
    app.sockets[0].terminate();
    for (let i = 0; i < 300 && app.sockets.length < 2; i++) await new Promise((res) => setTimeout(res, 10));
    for (let i = 0; i < 300 && !(client!.isOpen && app.frames.length >= 3); i++) await new Promise((res) => setTimeout(res, 10));
    expect(JSON.parse(app.frames[2]).type).toBe('hello');
    const waitFrames = async (n: number) => {
      for (let i = 0; i < 300 && app.frames.length < n; i++) await new Promise((res) => setTimeout(res, 10));
      return app.frames[n - 1];
    };
    client!.send({ type: 'log', lines });
    expect(JSON.parse(await waitFrames(4)).type).toBe('log');
    app.sockets[1].send(JSON.stringify({ type: 'welcome', resumeFrom: 2, logFormat: 'columns-v1' }));
    await new Promise((res) => setTimeout(res, 50));
    client!.send({ type: 'log', lines });
    expect(JSON.parse(await waitFrames(5)).type).toBe('log.columns');
  });
});
