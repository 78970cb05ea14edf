/**
 * WsTransport: serve mode's transport. One WebSocket to /rpc on the page's own origin, authenticated by the session
 * cookie serve mode set when the page traded its token (the token itself never goes into a URL); reconnects with capped, jittered back-off and reports its state. Calls made while the link is down wait
 * for it (bounded); calls in flight when it drops are answered with DISCONNECTED, never left hanging.
 */
import type { InvokeResult } from '../../../src-shared/contract/define';
import { ServerFrame, type ClientFrame } from '../../../src-shared/contract/wire';
import type { ConnectionState, RpcTransport } from './transport';
import { ErrorCode } from '../../../src-shared/errors';

/** The part of the WebSocket API used here; the browser's WebSocket and the `ws` package both provide it. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export interface WsTransportOptions {
  /** ws://127.0.0.1:<port>/rpc */
  url: string;
  createSocket?: WebSocketFactory;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** After this many failed attempts in a row the state becomes 'disconnected' (it keeps retrying at the max back-off). */
  attemptsBeforeDisconnected?: number;
  /** How long a call made while the link is down waits for it before failing. */
  queueTimeoutMs?: number;
}

const OPEN = 1;

function disconnected(message: string): InvokeResult<unknown> {
  return { ok: false, error: { code: ErrorCode.DISCONNECTED, message } };
}

/** The /rpc URL for the page being shown; the session cookie authenticates it, no token is put in the URL. */
export function rpcUrlForPage(location: { protocol: string; host: string }): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/rpc`;
}

/**
 * Removes an access token left in the address bar (`#token=...`, or an old-style `?token=...`) without reloading, so
 * it stays out of the history and of screenshots. Serve mode's session page does this before it trades the token; this
 * covers a page opened with a token while its session was still valid. Returns whether it removed one.
 */
export function removeTokenFromAddressBar(
  location: { pathname: string; search: string; hash: string },
  history: { replaceState(data: unknown, unused: string, url: string): void },
): boolean {
  const query = new URLSearchParams(location.search);
  const inFragment = new URLSearchParams(location.hash.slice(1)).has('token');
  if (!inFragment && !query.has('token')) return false;
  query.delete('token');
  const search = query.toString();
  history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}`);
  return true;
}

export class WsTransport implements RpcTransport {
  readonly kind = 'ws' as const;
  private socket: WebSocketLike | undefined;
  private current: ConnectionState = 'connecting';
  private nextId = 1;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly pending = new Map<number, (result: InvokeResult<unknown>) => void>();
  private readonly waiting = new Set<{ send: () => void; fail: () => void }>();
  private readonly listeners = new Set<(name: string, payload: unknown) => void>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private readonly createSocket: WebSocketFactory;

  constructor(private readonly options: WsTransportOptions) {
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url) as unknown as WebSocketLike);
    this.connect();
  }

  state(): ConnectionState {
    return this.current;
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  on(listener: (name: string, payload: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  invoke(name: string, input?: unknown): Promise<InvokeResult<unknown>> {
    if (this.closed) return Promise.resolve(disconnected('The connection to Cronium was closed.'));
    return new Promise((resolve) => {
      const id = this.nextId++;
      const frame: ClientFrame = { t: 'invoke', id, name, input };
      const send = () => {
        this.pending.set(id, resolve);
        this.socket!.send(JSON.stringify(frame));
      };
      if (this.socket?.readyState === OPEN && this.current === 'connected') {
        send();
        return;
      }
      const entry = {
        send: () => {
          clearTimeout(timer);
          send();
        },
        fail: () => {
          clearTimeout(timer);
          resolve(disconnected('Cronium is not reachable right now; the request was not sent. Try again once the connection is back.'));
        },
      };
      const timer = setTimeout(() => {
        this.waiting.delete(entry);
        entry.fail();
      }, this.options.queueTimeoutMs ?? 15_000);
      this.waiting.add(entry);
    });
  }

  retryNow(): void {
    if (this.closed || this.socket) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.close(1000, 'closed by the app');
    this.socket = undefined;
    this.failPending('The connection to Cronium was closed.');
    for (const entry of this.waiting) entry.fail();
    this.waiting.clear();
    this.setState('disconnected');
  }

  private setState(next: ConnectionState): void {
    if (next === this.current) return;
    this.current = next;
    for (const listener of this.stateListeners) listener(next);
  }

  private failPending(message: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const resolve of pending) resolve(disconnected(message));
  }

  private connect(): void {
    let socket: WebSocketLike;
    try {
      socket = this.createSocket(this.options.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.failures = 0;
      this.setState('connected');
      const waiting = [...this.waiting];
      this.waiting.clear();
      for (const entry of waiting) entry.send();
    };
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onerror = () => {};
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.failPending('The connection to Cronium dropped before the answer arrived; the request may or may not have run.');
      if (this.closed) return;
      this.scheduleRetry();
    };
  }

  private scheduleRetry(): void {
    this.failures++;
    const giveUp = this.options.attemptsBeforeDisconnected ?? 8;
    this.setState(this.failures >= giveUp ? 'disconnected' : 'reconnecting');
    const initial = this.options.initialBackoffMs ?? 250;
    const max = this.options.maxBackoffMs ?? 10_000;
    const base = Math.min(max, initial * 2 ** Math.min(this.failures - 1, 16));
    // Jitter so several tabs do not hammer a restarting server in step.
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private receive(data: unknown): void {
    let frame: ServerFrame;
    try {
      const parsed = ServerFrame.safeParse(JSON.parse(String(data)));
      if (!parsed.success) throw parsed.error;
      frame = parsed.data;
    } catch {
      console.warn('[rpc] ignored a malformed frame from the server');
      return;
    }
    if (frame.t === 'result') {
      const resolve = this.pending.get(frame.id);
      this.pending.delete(frame.id);
      resolve?.(frame.result as InvokeResult<unknown>);
      return;
    }
    for (const listener of this.listeners) {
      try {
        listener(frame.name, frame.payload);
      } catch (err) {
        console.error(`[rpc] event listener for ${frame.name} failed`, err);
      }
    }
  }
}
