// Issue 18 item 4: at most `limit` SSH handshakes at once, the rest wait their turn in order (a 200-server fleet
// otherwise starts 200 key exchanges together and every one misses its connect timeout).
import { describe, expect, it } from 'vitest';
import { HandshakeGate } from '../../../src-main/core/ssh/handshake-gate';

describe('the handshake gate', () => {
  it('lets `limit` through, queues the rest first come first served, and passes each freed slot on', async () => {
    const gate = new HandshakeGate(2);
    const order: number[] = [];
    const releases: Array<() => void> = [];
    const starts = [1, 2, 3, 4].map((n) => gate.acquire().then((release) => { order.push(n); releases[n] = release; }));
    await Promise.all(starts.slice(0, 2));
    expect(order).toEqual([1, 2]);
    expect(gate.active).toBe(2);
    expect(gate.queued).toBe(2);
    releases[2]();
    releases[2](); // a second call changes nothing
    await starts[2];
    expect(order).toEqual([1, 2, 3]);
    expect(gate.active).toBe(2);
    releases[1]();
    await starts[3];
    expect(order).toEqual([1, 2, 3, 4]);
    releases[3]();
    releases[4]();
    expect(gate.active).toBe(0);
    expect(gate.queued).toBe(0);
  });
});
