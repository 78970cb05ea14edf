/**
 * RunnerStreamHub: the listener's runner route, WS /api/runner/stream/:jobId. A connection is accepted only with a
 * bearer JWT of audience 'runner' whose subject is that job, and only while this app drives that job (an executor
 * session called expect()); anything else is refused with 401 before the upgrade, and the job is not disturbed.
 * Each arriving message is size-bounded and validated (runner-wire); a malformed one is answered with an error frame
 * and logged, and never reaches the session. Pings every HEARTBEAT_MS find a dead tunnel. It knows nothing of logs.
 */
import type http from 'node:http';
import type { WebSocket } from 'ws';
import { AppError } from '../errors';
import type { ListenerAuth } from './auth';
import { bearerToken } from './auth';
import type { LocalListener } from './local-listener';
import {
  MAX_WIRE_MESSAGE_BYTES,
  RUNNER_STREAM_PATH_PREFIX,
  parseRunnerMessage,
  type AppToRunner,
  type RunnerToApp,
  type WireLine,
} from '../../../src-shared/protocol/runner-wire';
import { DEAD_AFTER_MS, HEARTBEAT_MS, startHeartbeat } from '../../../src-shared/protocol/heartbeat';

/** One runner connection, as a session sees it. */
export interface RunnerChannel {
  readonly id: number;
  send(msg: AppToRunner): void;
  close(reason: string): void;
  readonly bufferedAmount: number;
}

export interface RunnerSessionHandlers {
  onOpen(channel: RunnerChannel): void;
  onMessage(channel: RunnerChannel, msg: RunnerToApp): void;
  /** `silent`: closed because the heartbeat heard nothing for DEAD_AFTER_MS (a dead link, not a clean close). */
  onClose(channel: RunnerChannel, why: string, silent?: boolean): void;
  /** Lines posted over HTTP (POST /api/logs/:logId/partial) instead of the socket: same duplicate and gap rules. */
  onPostedLines?(lines: WireLine[]): { accepted: number; duplicates: number; resumeFrom: number; gap: boolean };
}

export class RunnerStreamHub {
  private readonly sessions = new Map<string, RunnerSessionHandlers>();
  private nextId = 1;
  /** Malformed messages refused so far (diagnostics and tests). */
  refusedMessages = 0;
  /** Log batches that arrived column-wise (`log.columns`, capability log-columns-v1), for diagnostics and tests. */
  columnBatches = 0;

  constructor(
    listener: LocalListener,
    private readonly auth: ListenerAuth,
  ) {
    listener.addWebSocketRoute(`${RUNNER_STREAM_PATH_PREFIX}:jobId`, (ws, _req, params) => this.connected(ws, params.jobId), {
      maxPayload: MAX_WIRE_MESSAGE_BYTES + 1024,
      authenticate: (req) => this.authenticate(req),
    });
  }

  /** Routes the runner connections of `jobId` to `handlers` until the returned function is called. */
  expect(jobId: string, handlers: RunnerSessionHandlers): () => void {
    this.sessions.set(jobId, handlers);
    return () => {
      if (this.sessions.get(jobId) === handlers) this.sessions.delete(jobId);
    };
  }

  /** Hands lines posted over HTTP to the job's session; null when this app is not driving that job. */
  postLines(jobId: string, lines: WireLine[]): ReturnType<NonNullable<RunnerSessionHandlers['onPostedLines']>> | null {
    const handlers = this.sessions.get(jobId);
    return handlers?.onPostedLines ? handlers.onPostedLines(lines) : null;
  }

  private async authenticate(req: http.IncomingMessage): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const jobId = decodeURIComponent(url.pathname.slice(RUNNER_STREAM_PATH_PREFIX.length));
    const claims = await this.auth.verifyToken(bearerToken(req.headers), 'runner');
    if (claims.sub !== jobId) throw new AppError('UNAUTHORIZED', `a token for job ${claims.sub} was presented for job ${jobId}`);
    if (!this.sessions.has(jobId)) throw new AppError('UNAUTHORIZED', `job ${jobId} is not being run or re-attached by this app`);
  }

  private connected(ws: WebSocket, jobId: string): void {
    const handlers = this.sessions.get(jobId);
    if (!handlers) {
      ws.close(1008, 'no session for this job');
      return;
    }
    let closed = false;
    let silent = false;
    const channel: RunnerChannel = {
      id: this.nextId++,
      send: (msg) => {
        if (!closed && ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
      },
      close: (reason) => {
        if (!closed) ws.close(1000, reason.slice(0, 100));
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
    };
    const heartbeat = startHeartbeat({
      intervalMs: HEARTBEAT_MS,
      deadAfterMs: DEAD_AFTER_MS,
      ping: () => ws.ping(),
      onDead: () => {
        silent = true;
        ws.terminate();
      },
      unref: true,
    });
    ws.on('pong', () => heartbeat.heard());
    ws.on('ping', () => heartbeat.heard());
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      heartbeat.heard();
      const raw = isBinary ? '' : data.toString('utf8');
      const parsed = isBinary ? ({ ok: false, error: 'binary frames are not part of the protocol' } as const) : parseRunnerMessage(raw, data.length);
      if (!parsed.ok) {
        this.refusedMessages++;
        console.warn(`[runner-websocket] job ${jobId}: ${parsed.error}`);
        channel.send({ type: 'error', message: parsed.error });
        return;
      }
      if (parsed.message.type === 'log' && raw.startsWith('{"type":"log.columns"')) this.columnBatches++;
      try {
        handlers.onMessage(channel, parsed.message);
      } catch (err) {
        console.error(`[runner-websocket] job ${jobId}: handling ${parsed.message.type} failed:`, err);
      }
    });
    ws.on('close', (code) => {
      closed = true;
      heartbeat.stop();
      handlers.onClose(channel, silent ? `nothing heard from the runner for ${DEAD_AFTER_MS / 1000} s` : `the runner's socket closed (${code})`, silent);
    });
    handlers.onOpen(channel);
  }
}
