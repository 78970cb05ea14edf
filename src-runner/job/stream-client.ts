/**
 * StreamClient: the runner's one WebSocket to the app (ws://127.0.0.1:<tunnel port>/api/runner/stream/<jobId>, with
 * the job's bearer token). It reconnects with backoff for as long as the runner lives, switches to a new port/token
 * when `attach` says so, and declares the link dead when pings go unanswered. Every arriving message is validated;
 * a malformed one is answered with an error frame and otherwise ignored. It never interprets the job's messages, except
 * that a welcome asking for column-wise log batches (logFormat 'columns-v1') makes it send `log` batches that way on
 * this connection (a new connection starts with plain `log` batches until its welcome says otherwise).
 */
import WebSocket from 'ws';
import { LOG_COLUMNS_FORMAT, MAX_WIRE_MESSAGE_BYTES, encodeLogColumns, parseAppMessage, runnerStreamPath, type AppToRunner, type RunnerToApp } from '../../src-shared/protocol/runner-wire';
import { DEAD_AFTER_MS, HEARTBEAT_MS, startHeartbeat, type Heartbeat } from '../../src-shared/protocol/heartbeat';

const HANDSHAKE_TIMEOUT_MS = 5_000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 2_000;

export interface StreamClientHandlers {
  /** A connection is open; send hello now. */
  onOpen(): void;
  onMessage(msg: AppToRunner): void;
  onClose(why: string): void;
  log(text: string): void;
}

/** Where the tunnel ends on this server: a Unix socket in the job folder, or a loopback TCP port (fallback). */
export interface TunnelTarget {
  port?: number;
  socket?: string;
  token: string;
}

/** The tunnel named by a start/attach file, for logs. */
export function describeTunnel(t: { port?: number; socket?: string }): string {
  return t.socket ? `socket ${t.socket}` : `port ${t.port}`;
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export class StreamClient {
  private ws: WebSocket | null = null;
  private open = false;
  private stopped = false;
  private backoff = BACKOFF_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: Heartbeat | undefined;
  /** The app on this connection reads `log.columns` batches. */
  private columns = false;

  constructor(
    private readonly jobId: string,
    private target: TunnelTarget,
    private readonly handlers: StreamClientHandlers,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** This connection sends `log` batches column-wise (its welcome asked for them). */
  get sendsColumns(): boolean {
    return this.open && this.columns;
  }

  /** Bytes queued on the socket and not yet written. */
  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  start(): void {
    this.connect();
  }

  /** A fresh token (from `welcome`) for the next reconnection. */
  renewToken(token: string): void {
    this.target = { ...this.target, token };
  }

  /** `attach` handed over a new tunnel (and token): drop the current socket and connect there now. */
  retarget(target: TunnelTarget): void {
    this.target = target;
    this.backoff = BACKOFF_MIN_MS;
    if (this.ws) this.ws.terminate();
    else {
      clearTimeout(this.retryTimer);
      this.connect();
    }
  }

  /** Drops the current connection (a peer that failed the handshake); the client reconnects with backoff. */
  drop(): void {
    this.ws?.terminate();
  }

  send(msg: RunnerToApp, done?: (err?: Error) => void): boolean {
    if (!this.open || !this.ws) return false;
    const frame = msg.type === 'log' && this.columns ? encodeLogColumns(msg.lines) : null;
    this.ws.send(frame ?? JSON.stringify(msg), done);
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.heartbeat?.stop();
    this.ws?.close(1000, 'done');
  }

  private connect(): void {
    if (this.stopped) return;
    // A Unix-socket tunnel (ws+unix://<socket>:<path>) still says Host 127.0.0.1: the listener answers loopback hosts only.
    const url = this.target.socket
      ? `ws+unix://${this.target.socket}:${runnerStreamPath(this.jobId)}`
      : `ws://127.0.0.1:${this.target.port}${runnerStreamPath(this.jobId)}`;
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.target.token}`, ...(this.target.socket ? { host: '127.0.0.1' } : {}) },
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      maxPayload: MAX_WIRE_MESSAGE_BYTES,
      perMessageDeflate: false,
      // An all-zero frame mask, which ws then skips applying (one copy and one pass less over every frame). Masking
      // guards browsers against caching proxies; this socket goes only through the SSH tunnel to the app, and a zero
      // mask is a valid mask to every WebSocket server.
      generateMask: zeroMask,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.open = true;
      this.columns = false;
      this.backoff = BACKOFF_MIN_MS;
      this.heartbeat?.stop();
      this.heartbeat = startHeartbeat({
        intervalMs: HEARTBEAT_MS,
        deadAfterMs: DEAD_AFTER_MS,
        ping: () => ws.ping(),
        onDead: () => {
          this.handlers.log(`no answer from the app for ${DEAD_AFTER_MS} ms: reconnecting`);
          ws.terminate();
        },
      });
      this.handlers.onOpen();
    });
    ws.on('pong', () => this.heartbeat?.heard());
    ws.on('ping', () => this.heartbeat?.heard());
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.heartbeat?.heard();
      const text = isBinary ? '' : data.toString('utf8');
      const parsed = parseAppMessage(text, data.length);
      if (!parsed.ok) {
        this.handlers.log(parsed.error);
        this.send({ type: 'error', message: parsed.error });
        return;
      }
      if (parsed.message.type === 'welcome' && parsed.message.logFormat === LOG_COLUMNS_FORMAT) this.columns = true;
      this.handlers.onMessage(parsed.message);
    });
    ws.on('unexpected-response', (_req, res) => {
      this.handlers.log(`the app refused the connection: HTTP ${res.statusCode}`);
      ws.terminate();
    });
    ws.on('error', (err) => this.handlers.log(`stream: ${err.message}`));
    ws.on('close', () => {
      const wasOpen = this.open;
      this.open = false;
      this.heartbeat?.stop();
      if (this.ws === ws) this.ws = null;
      if (wasOpen) this.handlers.onClose('closed');
      if (this.stopped) return;
      const wait = this.backoff;
      this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.connect(), wait);
    });
  }
}
