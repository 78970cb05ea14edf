// Live log subscriptions per client connection: lines of a log go only to the connections subscribed to it, counted
// per connection, released when the connection closes; in-process subscribers (no connection) get them on the bus,
// and the router never broadcasts them to every client.
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../../src-main/core/event-bus';
import { LogStreamService, MAX_LINES_PER_BATCH, MAX_LINES_PER_PUSH, type LogLinesPayload } from '../../../src-main/core/logs/log-stream-service';
import type { LogStore } from '../../../src-main/core/logs/log-store';
import { Router, type HandlerMap } from '../../../src-main/rpc/router';
import type { LogLine } from '../../../src-shared/contract/logs';

function world() {
  let stored: (logId: string, runs: LogLine[][]) => void = () => undefined;
  const store = { onStored: (listener: typeof stored) => ((stored = listener), () => undefined) } as unknown as LogStore;
  const bus = new EventBus();
  const stream = new LogStreamService(store, bus);
  const delivered: Array<[string, LogLinesPayload]> = [];
  stream.onDeliver((connectionId, payload) => delivered.push([connectionId, payload]));
  const line = (seq: number): LogLine => ({ seq, stream: 'stdout', ts: new Date(0).toISOString(), text: `line ${seq}` });
  const run = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i));
  return {
    stream,
    bus,
    delivered,
    store: (logId: string, ...seqs: number[]) => stored(logId, [seqs.map(line)]),
    /** One commit of several runs (sealed blocks, then the open block's chunk), each [from, to] of seqs. */
    storeRuns: (logId: string, ...runs: Array<[number, number]>) => stored(logId, runs.map(([from, to]) => run(from, to))),
  };
}

describe('LogStreamService', () => {
  describe('when two connections subscribe to different logs', () => {
    it('gives each connection only the lines of the logs it subscribed to', () => {
      const w = world();
      w.stream.subscribe('log-a', 'conn-1');
      w.stream.subscribe('log-b', 'conn-2');
      w.store('log-a', 1, 2);
      w.store('log-b', 7);
      w.store('log-c', 9);
      expect(w.delivered.map(([c, p]) => [c, p.logId, p.lines.map((l) => l.seq)])).toEqual([
        ['conn-1', 'log-a', [1, 2]],
        ['conn-2', 'log-b', [7]],
      ]);
    });
  });

  describe('when a connection subscribes twice and unsubscribes once', () => {
    it('keeps its subscription until the last unsubscribe, without touching another connection', () => {
      const w = world();
      w.stream.subscribe('log-a', 'conn-1');
      w.stream.subscribe('log-a', 'conn-1');
      w.stream.subscribe('log-a', 'conn-2');
      w.stream.unsubscribe('log-a', 'conn-1');
      expect(w.stream.subscribersOf('log-a').sort()).toEqual(['conn-1', 'conn-2']);
      w.stream.unsubscribe('log-a', 'conn-1');
      expect(w.stream.subscribersOf('log-a')).toEqual(['conn-2']);
    });
  });

  describe('when a connection goes away', () => {
    it('releases all its subscriptions, and its logs are no longer pushed to it', () => {
      const w = world();
      w.stream.subscribe('log-a', 'conn-1');
      w.stream.subscribe('log-b', 'conn-1');
      w.stream.subscribe('log-b', 'conn-2');
      w.stream.releaseConnection('conn-1');
      expect(w.stream.subscribersOf('log-a')).toEqual([]);
      expect(w.stream.subscribersOf('log-b')).toEqual(['conn-2']);
      w.store('log-a', 1);
      w.store('log-b', 2);
      expect(w.delivered.map(([c, p]) => [c, p.logId])).toEqual([['conn-2', 'log-b']]);
    });
  });

  describe('when one commit stores several runs of lines', () => {
    it('pushes them in order, at most MAX_LINES_PER_PUSH a push, as if they were one batch', () => {
      const w = world();
      w.stream.subscribe('log-a', 'conn-1');
      w.storeRuns('log-a', [1, 1500], [1501, 1600], [1601, 3000]);
      const pushes = w.delivered.map(([, p]) => p.lines.map((l) => l.seq));
      expect(pushes.map((seqs) => seqs.length)).toEqual([MAX_LINES_PER_PUSH, 3000 - MAX_LINES_PER_PUSH]);
      expect(pushes.flat()).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    });

    it('pushes only the newest MAX_LINES_PER_BATCH lines across the runs when they hold more', () => {
      const w = world();
      w.stream.subscribe('log-a', 'conn-1');
      w.storeRuns('log-a', [1, 8192], [8193, 16384], [16385, 17000]);
      const seqs = w.delivered.flatMap(([, p]) => p.lines.map((l) => l.seq));
      expect(seqs).toEqual(Array.from({ length: MAX_LINES_PER_BATCH }, (_, i) => 17000 - MAX_LINES_PER_BATCH + 1 + i));
      expect(Math.max(...w.delivered.map(([, p]) => p.lines.length))).toBeLessThanOrEqual(MAX_LINES_PER_PUSH);
    });
  });

  describe('when something in the process subscribes without a connection', () => {
    it('gets the lines on the bus, and the router does not broadcast them to its clients', () => {
      const w = world();
      const onBus: string[] = [];
      w.bus.subscribe((name, payload) => name === 'logs/lines' && onBus.push((payload as LogLinesPayload).logId));
      const router = new Router({} as HandlerMap, w.bus, [w.stream]);
      const broadcast: string[] = [];
      router.subscribe((name) => broadcast.push(name));
      w.stream.subscribe('log-a');
      w.store('log-a', 1);
      expect(onBus).toEqual(['log-a']);
      expect(broadcast).toEqual([]);
    });
  });
});

describe('Router connections', () => {
  it('deliver connection-scoped events to their own connection only, and closing one releases it', () => {
    const w = world();
    const router = new Router({} as HandlerMap, w.bus, [w.stream]);
    const got: Record<string, string[]> = { one: [], two: [] };
    const one = router.openConnection('memory', (_name, payload) => got.one!.push((payload as LogLinesPayload).logId));
    const two = router.openConnection('memory', (_name, payload) => got.two!.push((payload as LogLinesPayload).logId));
    w.stream.subscribe('log-a', one.id);
    w.stream.subscribe('log-b', two.id);
    w.store('log-a', 1);
    w.store('log-b', 1);
    expect(got).toEqual({ one: ['log-a'], two: ['log-b'] });
    one.close();
    expect(router.openConnections).toBe(1);
    expect(w.stream.subscribersOf('log-a')).toEqual([]);
    w.store('log-a', 2);
    expect(got.one).toEqual(['log-a']);
  });
});
