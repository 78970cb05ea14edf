// The runner stream's heartbeat, on fake timers: when it pings, when it gives the peer up, and why a stalled process
// (a late tick) does not count as a dead peer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEAD_AFTER_MS, HEARTBEAT_MS, startHeartbeat, type Heartbeat } from '../../../src-shared/protocol/heartbeat';

describe('the runner stream heartbeat', () => {
  let pings = 0;
  let deaths = 0;
  let beat: Heartbeat;

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    pings = 0;
    deaths = 0;
    beat = startHeartbeat({
      intervalMs: HEARTBEAT_MS,
      deadAfterMs: DEAD_AFTER_MS,
      ping: () => pings++,
      onDead: () => deaths++,
    });
  });

  afterEach(() => {
    beat.stop();
    vi.useRealTimers();
  });

  describe('when the peer answers', () => {
    it('pings once per interval and never declares it dead', () => {
      for (let i = 0; i < 10; i++) {
        vi.advanceTimersByTime(HEARTBEAT_MS);
        beat.heard();
      }
      expect(pings).toBe(10);
      expect(deaths).toBe(0);
    });
  });

  describe('when the peer goes silent', () => {
    it('keeps pinging up to DEAD_AFTER_MS, then declares it dead once and stops', () => {
      vi.advanceTimersByTime(DEAD_AFTER_MS);
      expect(deaths).toBe(0);
      expect(pings).toBe(DEAD_AFTER_MS / HEARTBEAT_MS);
      vi.advanceTimersByTime(HEARTBEAT_MS);
      expect(deaths).toBe(1);
      vi.advanceTimersByTime(HEARTBEAT_MS * 10);
      expect(deaths).toBe(1);
      expect(pings).toBe(DEAD_AFTER_MS / HEARTBEAT_MS);
    });

    it('counts the silence from the last time it heard the peer', () => {
      vi.advanceTimersByTime(HEARTBEAT_MS * 2);
      beat.heard();
      vi.advanceTimersByTime(DEAD_AFTER_MS);
      expect(deaths).toBe(0);
      vi.advanceTimersByTime(HEARTBEAT_MS);
      expect(deaths).toBe(1);
    });
  });

  describe('when this process was stalled (a tick arrives late)', () => {
    it('does not take the stall for the peer being dead, but still notices real silence afterwards', () => {
      vi.advanceTimersByTime(HEARTBEAT_MS);
      // The clock jumps past DEAD_AFTER_MS with no tick in between: the event loop was blocked.
      vi.setSystemTime(Date.now() + DEAD_AFTER_MS * 3);
      vi.advanceTimersByTime(HEARTBEAT_MS);
      expect(deaths).toBe(0);
      expect(pings).toBe(2);
      vi.advanceTimersByTime(DEAD_AFTER_MS + HEARTBEAT_MS);
      expect(deaths).toBe(1);
    });
  });

  describe('when a ping throws (the socket is closing)', () => {
    it('keeps the heartbeat going', () => {
      beat.stop();
      let tries = 0;
      beat = startHeartbeat({
        intervalMs: HEARTBEAT_MS,
        deadAfterMs: DEAD_AFTER_MS,
        ping: () => {
          tries++;
          throw new Error('not open');
        },
        onDead: () => deaths++,
      });
      vi.advanceTimersByTime(DEAD_AFTER_MS + HEARTBEAT_MS);
      expect(tries).toBe(DEAD_AFTER_MS / HEARTBEAT_MS);
      expect(deaths).toBe(1);
    });
  });

  describe('when the connection closes', () => {
    it('stops pinging and never declares the peer dead', () => {
      vi.advanceTimersByTime(HEARTBEAT_MS);
      beat.stop();
      vi.advanceTimersByTime(DEAD_AFTER_MS * 3);
      expect(pings).toBe(1);
      expect(deaths).toBe(0);
    });
  });

  describe('when a test injects its own clock', () => {
    it('reads time from it instead of Date.now', () => {
      beat.stop();
      let clock = 0;
      beat = startHeartbeat({ intervalMs: 10, deadAfterMs: 30, ping: () => pings++, onDead: () => deaths++, now: () => clock });
      for (let i = 0; i < 3; i++) {
        clock += 10;
        vi.advanceTimersByTime(10);
      }
      expect(deaths).toBe(0);
      clock += 10;
      vi.advanceTimersByTime(10);
      expect(deaths).toBe(1);
    });
  });
});
