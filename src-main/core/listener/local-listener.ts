/**
 * LocalListener: the app's HTTP + WebSocket server on 127.0.0.1 (HELPER_API_PORT, 0 = any free port). It serves
 * /health (and /metrics once serveMetrics() gives it an auth check); other services add the runner streams, the helper API and the change list's routes through
 * addRoute / addWebSocketRoute. It binds loopback only, never another interface, and answers only requests addressed
 * to a loopback host name (so a web page cannot reach it through DNS rebinding). Every route authenticates from the
 * headers before a byte of its body is read (or is declared public and takes no body); bodies are bounded per route.
 * Connections are capped, and so are connections that have not yet passed a route's authentication; header, request,
 * keep-alive and per-socket idle timeouts keep a slow or silent client from holding a socket.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { systemClock, type Clock } from '../clock';
import { AppError, isAppError } from '../errors';
import type { Metrics } from '../metrics/metrics';
import type { SettingsService } from '../settings/settings-service';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteContext {
  params: Record<string, string>;
  query: Record<string, string>;
  /** Parsed JSON for JSON requests, a Buffer for any other non-empty body, undefined when there is none. */
  body: unknown;
  headers: http.IncomingHttpHeaders;
}

export interface RouteResponse {
  status: number;
  json?: unknown;
  body?: Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
}

export type RouteHandler = (ctx: RouteContext) => Promise<RouteResponse>;

export interface RouteOptions {
  /**
   * Runs on the headers (and path parameters) before any of the body is read; throws AppError('UNAUTHORIZED', ...) to
   * refuse the request. Required unless the route is `public`.
   */
  auth?: (headers: http.IncomingHttpHeaders, params: Record<string, string>) => Promise<void>;
  /** Answers without authentication (/health); a public route accepts no request body. */
  public?: boolean;
  /** Largest request body this route accepts (DEFAULT_MAX_BODY_BYTES when not set). */
  maxBodyBytes?: number;
}

/** Connection bounds and timeouts; the defaults suit a desktop app with a few runners and scripts. */
export interface ListenerLimits {
  /** All open connections (HTTP and WebSocket); new ones beyond are closed at once. */
  maxConnections: number;
  /** Connections that have not passed a route's authentication yet; beyond it the oldest of them is closed. */
  maxUnauthenticatedConnections: number;
  /** Time to receive a request's headers (server.headersTimeout). */
  headersTimeoutMs: number;
  /** Time to receive a whole request (server.requestTimeout). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (server.keepAliveTimeout). */
  keepAliveTimeoutMs: number;
  /** A non-WebSocket socket with no traffic for this long is destroyed. */
  idleTimeoutMs: number;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  maxConnections: 512,
  maxUnauthenticatedConnections: 64,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
};

export type WebSocketRouteHandler = (ws: WebSocket, req: http.IncomingMessage, params: Record<string, string>) => void;

export interface WebSocketRouteOptions {
  /** Runs before the upgrade; if it throws, the upgrade is refused with 401 and nothing is opened. */
  authenticate?: (req: http.IncomingMessage) => Promise<unknown>;
  /** Largest message accepted, in bytes (ws closes the socket with 1009 above it). */
  maxPayload?: number;
}

export interface LocalListenerDeps {
  metrics: Metrics;
  settings: SettingsService;
  /** Reported by /health. */
  appVersion?: string;
  limits?: Partial<ListenerLimits>;
  /** For the uptime /health reports (the system clock when absent). */
  clock?: Clock;
}

/** Default request body bound; routes that take larger bodies say so (maxBodyBytes). */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;
const DEFAULT_WS_MAX_PAYLOAD = 4 * 1024 * 1024;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const STATUS_BY_CODE: Record<string, number> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_INPUT: 400,
  PAYLOAD_TOO_LARGE: 413,
};

interface CompiledPattern {
  pattern: string;
  regex: RegExp;
  names: string[];
}

interface HttpRoute extends CompiledPattern {
  method: HttpMethod;
  handler: RouteHandler;
  opts: RouteOptions;
}

interface WsRoute extends CompiledPattern {
  handler: WebSocketRouteHandler;
  opts: WebSocketRouteOptions;
  wss: WebSocketServer;
}

export class LocalListener {
  private server: http.Server | null = null;
  private readonly routes: HttpRoute[] = [];
  private readonly wsRoutes: WsRoute[] = [];
  private readonly startedAt: number;
  private readonly limits: ListenerLimits;
  /** Sockets that have not passed a route's authentication (an authenticated keep-alive socket leaves the set). */
  private readonly unauthenticated = new Set<Socket>();
  /** Connections closed because a cap was reached (diagnostics and tests). */
  refusedConnections = 0;

  constructor(private readonly deps: LocalListenerDeps) {
    this.limits = { ...DEFAULT_LISTENER_LIMITS, ...deps.limits };
    this.startedAt = (deps.clock ?? systemClock).now();
    this.addRoute('GET', '/health', async () => ({
      status: 200,
      json: {
        status: 'ok',
        version: deps.appVersion ?? 'unknown',
        runnerDefaultVersion: deps.settings.current().runner.defaultVersion,
        uptimeSeconds: Math.round(((deps.clock ?? systemClock).now() - this.startedAt) / 1000),
      },
    }), { public: true });
  }

  /**
   * /metrics, behind the given check (core.ts: an automation bearer token). Metrics name servers and counts, and the
   * listener is reachable from every server's loopback through the tunnels, so they are never public.
   */
  serveMetrics(auth: NonNullable<RouteOptions['auth']>): void {
    this.addRoute('GET', '/metrics', async () => ({
      status: 200,
      body: await this.deps.metrics.text(),
      contentType: this.deps.metrics.contentType,
    }), { auth });
  }

  /** Connections not yet past a route's authentication (diagnostics and tests). */
  get unauthenticatedConnections(): number {
    return this.unauthenticated.size;
  }

  /** The bound port; 0 before start() and after stop(). */
  get port(): number {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? (addr as AddressInfo).port : 0;
  }

  async start(port: number): Promise<void> {
    if (this.server) return;
    const limits = this.limits;
    const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs) }, (req, res) => {
      void this.handleRequest(req, res);
    });
    server.headersTimeout = limits.headersTimeoutMs;
    server.requestTimeout = limits.requestTimeoutMs;
    server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    server.maxConnections = limits.maxConnections;
    server.on('connection', (socket: Socket) => {
      // At the cap, the oldest unauthenticated connection makes room: a flood cannot keep a runner that connects
      // now (and authenticates within its first packet) out for longer than it takes to send its headers.
      while (this.unauthenticated.size >= limits.maxUnauthenticatedConnections) {
        const oldest = this.unauthenticated.values().next().value as Socket;
        this.unauthenticated.delete(oldest);
        this.refusedConnections++;
        oldest.destroy();
      }
      this.unauthenticated.add(socket);
      socket.once('close', () => this.unauthenticated.delete(socket));
      // Cleared by ws once the socket is a WebSocket (its heartbeat watches it from then on).
      socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
    });
    server.on('drop', () => {
      this.refusedConnections++;
    });
    server.on('upgrade', (req, socket, head) => {
      void this.handleUpgrade(req, socket, head);
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        server.off('listening', onListening);
        if (err.code === 'EADDRINUSE') {
          reject(
            new AppError(
              'LISTENER_PORT_IN_USE',
              `The local listener cannot use port ${port} on 127.0.0.1: another program already uses it. ` +
                'Set HELPER_API_PORT (or the listener port in Settings) to a free port, or 0 to pick one automatically.',
              { cause: err },
            ),
          );
        } else {
          reject(new AppError('LISTENER_FAILED', `The local listener could not start on 127.0.0.1:${port}: ${err.message}`, { cause: err }));
        }
      };
      const onListening = () => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, '127.0.0.1');
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const route of this.wsRoutes) {
      for (const client of route.wss.clients) client.terminate();
    }
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Adds an HTTP route; `pattern` segments starting with ':' are parameters ('/api/runners/health/:deploymentId'). */
  addRoute(method: HttpMethod, pattern: string, handler: RouteHandler, opts: RouteOptions = {}): void {
    if (!opts.auth && !opts.public) {
      throw new Error(`[listener] route ${method} ${pattern} needs an auth check (or public: true)`);
    }
    const compiled = compilePattern(pattern);
    if (this.routes.some((r) => r.method === method && r.regex.source === compiled.regex.source)) {
      throw new Error(`[listener] route ${method} ${pattern} is already registered`);
    }
    this.routes.push({ ...compiled, method, handler, opts });
  }

  addWebSocketRoute(pattern: string, handler: WebSocketRouteHandler, opts: WebSocketRouteOptions = {}): void {
    const compiled = compilePattern(pattern);
    if (this.wsRoutes.some((r) => r.regex.source === compiled.regex.source)) {
      throw new Error(`[listener] WebSocket route ${pattern} is already registered`);
    }
    const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload ?? DEFAULT_WS_MAX_PAYLOAD });
    this.wsRoutes.push({ ...compiled, handler, opts, wss });
  }

  private async handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      if (!isLoopbackHost(req.headers.host)) {
        throw new AppError('FORBIDDEN', 'The local listener only answers requests addressed to 127.0.0.1 or localhost.');
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = (req.method ?? 'GET').toUpperCase();
      const candidates = this.routes
        .map((route) => ({ route, params: matchPattern(route, url.pathname) }))
        .filter((m): m is { route: HttpRoute; params: Record<string, string> } => m.params !== null);
      if (candidates.length === 0) {
        throw new AppError('NOT_FOUND', `There is no route ${url.pathname} on the local listener.`);
      }
      const found = candidates.find((c) => c.route.method === method);
      if (!found) {
        const allow = [...new Set(candidates.map((c) => c.route.method))].join(', ');
        send(res, { status: 405, json: { code: 'METHOD_NOT_ALLOWED', message: `${method} is not allowed on ${url.pathname}; use ${allow}.` }, headers: { allow } });
        req.resume();
        return;
      }
      const { route, params } = found;
      if (route.opts.auth) {
        await route.opts.auth(req.headers, params);
        this.unauthenticated.delete(req.socket);
      }
      const body = await readBody(req, route.opts.public ? 0 : (route.opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES));
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      const result = await route.handler({ params, query, body, headers: req.headers });
      send(res, result);
    } catch (err) {
      if (!isAppError(err)) console.error(`[listener] ${req.method} ${req.url} failed:`, err);
      const shape = isAppError(err)
        ? err.toShape()
        : { code: 'INTERNAL', message: 'The local listener failed to answer this request; see the app log.' };
      if (req.complete) {
        send(res, { status: STATUS_BY_CODE[shape.code] ?? 500, json: shape });
        return;
      }
      // An unread body (refused before reading, or too large) is never read: the answer closes the connection.
      send(res, { status: STATUS_BY_CODE[shape.code] ?? 500, json: shape, headers: { connection: 'close' } });
      const socket = req.socket;
      res.once('finish', () => socket?.destroy());
    }
  }

  private async handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    if (!isLoopbackHost(req.headers.host)) return refuseUpgrade(socket, 403, 'Forbidden');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let match: { route: WsRoute; params: Record<string, string> } | null = null;
    for (const route of this.wsRoutes) {
      let params: Record<string, string> | null;
      try {
        params = matchPattern(route, url.pathname);
      } catch {
        return refuseUpgrade(socket, 400, 'Bad Request');
      }
      if (params) {
        match = { route, params };
        break;
      }
    }
    if (!match) return refuseUpgrade(socket, 404, 'Not Found');
    const { route, params } = match;
    if (route.opts.authenticate) {
      try {
        await route.opts.authenticate(req);
      } catch (err) {
        if (!isAppError(err)) console.error(`[listener] authentication for ${url.pathname} failed:`, err);
        return refuseUpgrade(socket, 401, 'Unauthorized');
      }
    }
    this.unauthenticated.delete(socket as Socket);
    if (!this.server || socket.destroyed) {
      socket.destroy();
      return;
    }
    route.wss.handleUpgrade(req, socket, head, (ws) => {
      // ws emits 'error' for protocol violations (e.g. a message over maxPayload) and closes the socket itself;
      // without a listener that error would be uncaught and take the whole app down.
      ws.on('error', (err) => console.warn(`[listener] WebSocket ${url.pathname}: ${err.message}`));
      try {
        route.handler(ws, req, params);
      } catch (err) {
        console.error(`[listener] WebSocket handler for ${url.pathname} failed:`, err);
        ws.close(1011, 'internal error');
      }
    });
  }
}

function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return LOOPBACK_HOSTS.has(name.toLowerCase());
}

function compilePattern(pattern: string): CompiledPattern {
  if (!pattern.startsWith('/')) throw new Error(`[listener] route pattern must start with '/': ${pattern}`);
  const names: string[] = [];
  const source = pattern
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        names.push(segment.slice(1));
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { pattern, regex: new RegExp(`^${source}$`), names };
}

/** The route's parameters for this path, or null when it does not match. Throws INVALID_INPUT on bad %-encoding. */
function matchPattern(route: CompiledPattern, pathname: string): Record<string, string> | null {
  const m = route.regex.exec(pathname);
  if (!m) return null;
  const params: Record<string, string> = {};
  route.names.forEach((name, i) => {
    try {
      params[name] = decodeURIComponent(m[i + 1]);
    } catch {
      throw new AppError('INVALID_INPUT', `The path parameter ${name} is not valid URL encoding.`);
    }
  });
  return params;
}

async function readBody(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  const tooLarge = () =>
    new AppError('PAYLOAD_TOO_LARGE', `The request body is larger than the ${maxBytes} bytes this route accepts.`, {
      details: { maxBytes },
    });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const raw = Buffer.concat(chunks);
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (!type.includes('json')) return raw;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new AppError('INVALID_INPUT', `The request body is not valid JSON: ${(err as Error).message}`);
  }
}

function send(res: http.ServerResponse, r: RouteResponse): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { 'cache-control': 'no-store', ...r.headers };
  let payload: Buffer | string | undefined;
  if (r.json !== undefined) {
    payload = JSON.stringify(r.json);
    headers['content-type'] = 'application/json; charset=utf-8';
  } else if (r.body !== undefined) {
    payload = r.body;
    headers['content-type'] = r.contentType ?? (typeof r.body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream');
  }
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(r.status, headers);
  res.end(payload);
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  if (!socket.destroyed) {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }
}
