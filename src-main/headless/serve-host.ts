/**
 * ServeHost: serve mode's only door. Serves the built renderer over HTTP on 127.0.0.1, the router over a WebSocket at
 * /rpc and /metrics, all behind a session bound to this instance, and for the socket an exact Origin check.
 *
 * The token: printed once in the URL *fragment* (`/#token=...`, never sent to a server nor put in a Referer). Without a
 * session, a page request gets a small 401 page whose script (/session.js) reads the fragment, removes it from the
 * address bar (history.replaceState), trades it once at `POST /session` (Authorization: Bearer) for the session cookie
 * and reloads. The cookie is HttpOnly, SameSite=Strict, named after the port, and its value is an HMAC of a secret of
 * this instance: cookies are shared by every app on 127.0.0.1 whatever the port, so another serve instance's cookie
 * (another port, or an earlier start on this port) is refused. Non-browser clients may send the token as a bearer
 * header instead. It must never bind anything but loopback, never serve the app without a session, and never crash on
 * a bad frame.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { ClientFrame, MAX_CLIENT_FRAME_BYTES, type ServerFrame } from '../../src-shared/contract/wire';
import type { Router, RouterConnection } from '../rpc/router';

export interface ServeHostOptions {
  router: Router;
  /** The built renderer (dist/renderer), holding index.html and assets/. */
  renderDir: string;
  /** 0 = any free port. */
  port: number;
  /** The Prometheus exposition for /metrics (behind the same session or token); absent: /metrics is not served. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

export interface ServeHost {
  /** The URL to open, token included (in the fragment). */
  url: string;
  token: string;
  port: number;
  /** The session cookie's name for this instance (`cronium_session_<port>`). */
  cookieName: string;
  /** Closes every socket and the server; idempotent. */
  close(): Promise<void>;
}

export const SERVE_HOST_ADDRESS = '127.0.0.1';
/** A client this far behind on pushed events is disconnected (it reconnects and reloads) rather than grow our memory. */
const MAX_CLIENT_BACKLOG_BYTES = 32 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    // React and the code editor set styles through the CSSOM; no inline <script> is ever allowed.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ws://${SERVE_HOST_ADDRESS}:${port}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/** The page a browser gets without a session: it explains, and its script trades the fragment's token for a session. */
const SESSION_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cronium Desktop</title><script src="/session.js" defer></script></head>
<body><p id="session-message">Cronium Desktop (serve mode): this address needs the access token printed when serve mode
started. Open the full URL from its "ready" line (it changes at every start).</p></body></html>
`;

/** Runs before anything else on the page: takes the token out of the address bar first, then trades it once. */
const SESSION_SCRIPT = `(function () {
  var token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) return;
  history.replaceState(null, '', location.pathname + location.search);
  fetch('/session', { method: 'POST', headers: { Authorization: 'Bearer ' + token }, credentials: 'same-origin' }).then(function (res) {
    if (res.ok) { location.replace(location.pathname + location.search); return; }
    document.getElementById('session-message').textContent =
      'Cronium Desktop (serve mode): this access token was not accepted (it changes at every start). Open the URL from the latest "ready" line.';
  });
})();
`;

function bearer(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
}

function tokensEqual(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function refuseUpgrade(socket: Duplex, status: 401 | 403 | 404 | 421, reason: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function startServeHost(options: ServeHostOptions): Promise<ServeHost> {
  const { router } = options;
  const renderDir = path.resolve(options.renderDir);
  if (!fs.existsSync(path.join(renderDir, 'index.html'))) {
    throw new Error(`The built renderer is missing (${path.join(renderDir, 'index.html')}); run \`npm run build\` first.`);
  }
  const token = crypto.randomBytes(32).toString('base64url');
  /** Never leaves the process: the session cookie's value is an HMAC under it, so only this instance can make one. */
  const instanceKey = crypto.randomBytes(32);
  let port = options.port;
  // Cookies are not isolated by port: the name carries the port, the value is bound to this instance and port.
  const cookieName = () => `cronium_session_${port}`;
  const sessionValue = () => crypto.createHmac('sha256', instanceKey).update(`cronium-serve-session:${port}`).digest('base64url');
  const origin = () => `http://${SERVE_HOST_ADDRESS}:${port}`;

  const hasSession = (req: http.IncomingMessage) => tokensEqual(readCookie(req.headers.cookie, cookieName()), sessionValue());
  const hasToken = (req: http.IncomingMessage) => tokensEqual(bearer(req), token);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin());
    const baseHeaders: Record<string, string> = {
      'Content-Security-Policy': contentSecurityPolicy(port),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    const refuse = (status: number, text: string) => {
      res.writeHead(status, { ...baseHeaders, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(`${text}\n`);
    };
    // A page on another host name that resolves to 127.0.0.1 (DNS rebinding) must not reach us even with a cookie.
    if (req.headers.host !== `${SERVE_HOST_ADDRESS}:${port}`) {
      refuse(421, `Cronium serve mode answers only at ${origin()}.`);
      return;
    }
    const noStore = { 'Cache-Control': 'no-store' };
    if (url.pathname === '/session.js' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { ...baseHeaders, ...noStore, 'Content-Type': 'text/javascript; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : SESSION_SCRIPT);
      return;
    }
    if (url.pathname === '/session') {
      if (req.method !== 'POST') return refuse(405, 'POST the access token here as "Authorization: Bearer <token>".');
      // A page on another origin cannot trade a token it somehow holds: the browser names the page's origin.
      if (req.headers.origin !== undefined && req.headers.origin !== origin()) return refuse(403, `Sessions are issued only to pages from ${origin()}.`);
      if (!hasToken(req)) return refuse(401, 'This access token was not accepted: it changes at every start of serve mode.');
      req.resume();
      res.writeHead(204, {
        ...baseHeaders,
        ...noStore,
        'Set-Cookie': `${cookieName()}=${sessionValue()}; HttpOnly; SameSite=Strict; Path=/`,
      });
      res.end();
      return;
    }
    if (!hasSession(req) && !hasToken(req)) {
      // A page route gets the page that trades the fragment's token; anything else a plain refusal.
      if (url.pathname === '/' || path.extname(url.pathname) === '' || url.pathname === '/index.html') {
        res.writeHead(401, {
          ...baseHeaders,
          ...noStore,
          'Content-Type': 'text/html; charset=utf-8',
        });
        res.end(req.method === 'HEAD' ? undefined : SESSION_PAGE);
        return;
      }
      refuse(
        401,
        'Cronium Desktop (serve mode): this address needs the access token printed when serve mode started. ' +
          'Open the full URL from its "ready" line (it changes at every start).',
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      refuse(405, 'Serve mode only serves the app; calls go over the /rpc WebSocket.');
      return;
    }
    if (url.pathname === '/metrics') {
      if (!options.metrics) return refuse(404, 'Not found.');
      options.metrics().then(
        ({ contentType, body }) => {
          res.writeHead(200, { ...baseHeaders, ...noStore, 'Content-Type': contentType });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        () => refuse(500, 'The metrics could not be collected.'),
      );
      return;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      refuse(400, 'Malformed path.');
      return;
    }
    // A path without an extension is a page route: answer with the app itself.
    if (rel === '/' || path.extname(rel) === '') rel = '/index.html';
    const file = path.resolve(renderDir, `.${rel}`);
    if (file !== renderDir && !file.startsWith(renderDir + path.sep)) {
      refuse(404, 'Not found.');
      return;
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        refuse(404, 'Not found.');
        return;
      }
      const isIndex = path.basename(file) === 'index.html';
      res.writeHead(200, {
        ...baseHeaders,
        'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Content-Length': String(body.length),
        // Built assets carry a content hash in their name; the page itself must be fetched again each start.
        'Cache-Control': isIndex ? 'no-store' : 'public, max-age=31536000, immutable',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
  const clients = new Set<WebSocket>();

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {});
    const url = new URL(req.url ?? '/', origin());
    if (url.pathname !== '/rpc') return refuseUpgrade(socket, 404, 'Only /rpc accepts WebSocket connections.');
    if (req.headers.host !== `${SERVE_HOST_ADDRESS}:${port}`) {
      return refuseUpgrade(socket, 421, `Cronium serve mode answers only at ${origin()}.`);
    }
    if (!hasSession(req) && !hasToken(req)) {
      return refuseUpgrade(socket, 401, 'The /rpc socket needs the session of this serve-mode start (or its access token).');
    }
    if (req.headers.origin !== origin()) {
      return refuseUpgrade(socket, 403, `The /rpc socket accepts only pages served from ${origin()}.`);
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  const send = (ws: WebSocket, frame: ServerFrame) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_CLIENT_BACKLOG_BYTES) {
      ws.close(1013, 'too far behind on events; reconnect');
      return;
    }
    ws.send(JSON.stringify(frame));
  };

  function attach(ws: WebSocket): void {
    clients.add(ws);
    // One router connection per socket: its subscriptions are its own and end with it.
    const connection = router.openConnection('ws', (name, payload) => send(ws, { t: 'event', name, payload }));
    ws.on('close', () => {
      clients.delete(ws);
      connection.close();
    });
    // Oversized frames make ws close the socket with 1009; anything else is logged, never thrown.
    ws.on('error', (err) => console.warn(`[serve-host] socket error: ${err.message}`));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      void handleFrame(ws, connection, data, isBinary);
    });
  }

  async function handleFrame(ws: WebSocket, connection: RouterConnection, data: RawData, isBinary: boolean): Promise<void> {
    let raw: unknown;
    try {
      if (isBinary) throw new Error('binary frame');
      raw = JSON.parse(data.toString());
    } catch {
      console.warn('[serve-host] ignored a frame that is not JSON text');
      return;
    }
    const parsed = ClientFrame.safeParse(raw);
    if (!parsed.success) {
      const id = (raw as { id?: unknown } | null)?.id;
      if (typeof id === 'number' && Number.isInteger(id) && id >= 0) {
        send(ws, {
          t: 'result',
          id,
          result: { ok: false, error: { code: 'BAD_FRAME', message: 'The request frame was malformed and was not run.' } },
        });
      } else {
        console.warn('[serve-host] ignored a malformed frame without an id');
      }
      return;
    }
    const frame = parsed.data;
    const result = await connection.invoke(frame.name, frame.input);
    send(ws, { t: 'result', id: frame.id, result });
  }

  const unsubscribe = router.subscribe((name, payload) => {
    for (const ws of clients) send(ws, { t: 'event', name, payload });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, SERVE_HOST_ADDRESS, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as { port: number }).port;

  let closing: Promise<void> | undefined;
  return {
    url: `${origin()}/#token=${token}`,
    token,
    port,
    cookieName: cookieName(),
    close() {
      closing ??= (async () => {
        unsubscribe();
        for (const ws of clients) ws.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
