/**
 * The heartbeat both ends of the runner stream run over their WebSocket: ping every HEARTBEAT_MS, declare the peer
 * dead after DEAD_AFTER_MS without hearing from it. Pure timing with standard JS timers; the caller owns the socket.
 * It must never import Node or ws: the app (src-main) and the runner bundle (src-runner) both use it.
 */

/**
 * How often each end pings the other. Tuned with DEAD_AFTER_MS so a silent cut is noticed within 2.5 s (issue 13:
 * link loss shown within 3 s); a false alarm only costs a re-attach, which loses and doubles nothing.
 */
export const HEARTBEAT_MS = 500;
/** Silence after which the peer is taken for dead (four missed pings). */
export const DEAD_AFTER_MS = 2_000;

export interface HeartbeatOptions {
  intervalMs: number;
  deadAfterMs: number;
  /** Sends one ping. A throw (the socket is already closing) is ignored: the close handler ends the heartbeat. */
  ping(): void;
  /** Called once, after deadAfterMs of silence; the heartbeat has stopped by then. */
  onDead(): void;
  /** Milliseconds clock; Date.now unless a test injects one. */
  now?: () => number;
  /** Lets the process exit while only this timer is pending (Node's timer.unref, where the host has it). */
  unref?: boolean;
}

export interface Heartbeat {
  /** Anything arrived from the peer (pong, ping, message): it is alive. */
  heard(): void;
  stop(): void;
}

export function startHeartbeat(opts: HeartbeatOptions): Heartbeat {
  const now = opts.now ?? Date.now;
  let lastHeard = now();
  let lastTick = lastHeard;
  const timer = setInterval(() => {
    const at = now();
    // A late tick means this process was stalled (a long synchronous flush, a slow disk, a busy CPU): the peer's
    // answers may be waiting unread, so the stall is not counted as the peer's silence.
    if (at - lastTick > opts.intervalMs * 2) lastHeard = at;
    lastTick = at;
    if (at - lastHeard > opts.deadAfterMs) {
      clearInterval(timer);
      opts.onDead();
      return;
    }
    try {
      opts.ping();
    } catch {}
  }, opts.intervalMs);
  if (opts.unref) (timer as { unref?: () => void }).unref?.();
  return {
    heard: () => {
      lastHeard = now();
    },
    stop: () => clearInterval(timer),
  };
}
