// ServeHost over real HTTP and WebSocket, with a real core (SQLite file in a temp folder) behind the router:
// the token and Origin rules, calls, pushed events, and frames that are too big or malformed.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { MAX_CLIENT_FRAME_BYTES } from '../../../src-shared/contract/wire';
import { startServeHost, type ServeHost } from '../../../src-main/headless/serve-host';
import { createHandlers } from '../../../src-main/rpc/handlers';
import { Router } from '../../../src-main/rpc/router';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { ErrorCode } from '../../../src-shared/errors';

let testCore: TestCore;
let host: ServeHost;
let renderDir: string;
let origin: string;
let sessionCookie: string;

beforeAll(async () => {
  testCore = await createTestCore();
  renderDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-render-'));
  fs.mkdirSync(path.join(renderDir, 'assets'));
  fs.writeFileSync(path.join(renderDir, 'index.html'), '<!doctype html><title>Cronium test page</title>');
  fs.writeFileSync(path.join(renderDir, 'assets', 'app-123.js'), 'console.log("app");');
  fs.writeFileSync(path.join(os.tmpdir(), 'cronium-outside.txt'), 'outside the render dir');
  host = await startServeHost({
    router: new Router(createHandlers(testCore.core), testCore.core.bus, [testCore.core.logs.stream]),
    renderDir,
    port: 0,
    metrics: async () => ({ contentType: testCore.core.metrics.contentType, body: await testCore.core.metrics.text() }),
  });
  origin = `http://127.0.0.1:${host.port}`;
  sessionCookie = await tradeToken(host);
});

/** What the session page does: POST the token, keep the cookie (name=value) it sets. */
async function tradeToken(h: ServeHost, token = h.token): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${h.port}/session`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 204) return '';
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}

afterAll(async () => {
  await host?.close();
  await testCore?.cleanup();
  fs.rmSync(renderDir, { recursive: true, force: true });
  fs.rmSync(path.join(os.tmpdir(), 'cronium-outside.txt'), { force: true });
});

interface Client {
  ws: WebSocket;
  frames: any[];
  next(pred: (f: any) => boolean, timeoutMs?: number): Promise<any>;
  call(name: string, input?: unknown): Promise<any>;
}

let nextId = 1;
function connect(opts: { token?: string | null; origin?: string | null; cookie?: string } = {}): Promise<Client> {
  const token = opts.token === undefined ? host.token : opts.token;
  const url = `ws://127.0.0.1:${host.port}/rpc`;
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  const ws = new WebSocket(url, { headers, ...(opts.origin === null ? {} : { origin: opts.origin ?? origin }) });
  const frames: any[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()));
    for (const w of waiters) w();
  });
  const client: Client = {
    ws,
    frames,
    next(pred, timeoutMs = 3000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.find(pred);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error('no matching frame arrived'));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async call(name, input) {
      const id = nextId++;
      ws.send(JSON.stringify({ t: 'invoke', id, name, input }));
      return (await client.next((f) => f.t === 'result' && f.id === id)).result;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused with ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

/** A GET sent exactly as written (fetch would normalise the path and fix the Host header). */
function rawGet(pathAndQuery: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: host.port, path: pathAndQuery, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

function refusal(p: Promise<unknown>): Promise<number | undefined> {
  return p.then(
    () => undefined,
    (err) => err.status,
  );
}

describe('serve host', () => {
  describe('when a browser asks for the page', () => {
    it('prints a URL with the token in the fragment, never in the query', () => {
      const url = new URL(host.url);
      expect(url.search).toBe('');
      expect(url.hash).toBe(`#token=${host.token}`);
    });

    it('answers a page without a session with the 401 session page, and nothing else of the app', async () => {
      const res = await fetch(`${origin}/`);
      expect(res.status).toBe(401);
      const page = await res.text();
      expect(page).toMatch(/access token/);
      expect(page).toContain('<script src="/session.js"');
      expect(page).not.toContain('Cronium test page');
      expect((await fetch(`${origin}/assets/app-123.js`)).status).toBe(401);
      // The old query form is not a way in any more.
      expect((await fetch(`${origin}/?token=${host.token}`)).status).toBe(401);
    });

    it("serves the session script, which removes the token from the address bar before it trades it", async () => {
      const res = await fetch(`${origin}/session.js`);
      expect(res.status).toBe(200);
      const script = await res.text();
      expect(script.indexOf('history.replaceState')).toBeGreaterThan(-1);
      expect(script.indexOf('history.replaceState')).toBeLessThan(script.indexOf("fetch('/session'"));
    });

    it('refuses to trade a wrong token of the right length, or one sent from another origin', async () => {
      const wrong = host.token.slice(0, -1) + (host.token.endsWith('A') ? 'B' : 'A');
      expect(await tradeToken(host, wrong)).toBe('');
      const foreign = await fetch(`${origin}/session`, { method: 'POST', headers: { authorization: `Bearer ${host.token}`, origin: 'http://evil.example' } });
      expect(foreign.status).toBe(403);
    });

    it('trades the token for an HttpOnly SameSite=Strict cookie bound to this instance, then serves the page with a strict CSP', async () => {
      const res = await fetch(`${origin}/session`, { method: 'POST', headers: { authorization: `Bearer ${host.token}` } });
      expect(res.status).toBe(204);
      const cookie = res.headers.get('set-cookie')!;
      expect(cookie).toMatch(new RegExp(`^cronium_session_${host.port}=[A-Za-z0-9_-]{43};`));
      expect(cookie).not.toContain(host.token);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      const page = await fetch(`${origin}/`, { headers: { cookie: sessionCookie } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Cronium test page');
      const csp = page.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    });

    it('serves assets to a browser holding the cookie', async () => {
      const res = await fetch(`${origin}/assets/app-123.js`, { headers: { cookie: sessionCookie } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/javascript/);
      expect(await res.text()).toContain('console.log');
    });

    it('never serves a file outside the built renderer', async () => {
      // Encoded slashes survive URL normalisation and decode to ../../ only inside the host.
      const { status, body } = await rawGet(`/assets/..%2f..%2fcronium-outside.txt`, { cookie: sessionCookie });
      expect(status).toBe(404);
      expect(body).not.toContain('outside the render dir');
    });

    it('refuses a request for another host name (DNS rebinding), even with the session', async () => {
      const { status } = await rawGet(`/`, { host: `evil.example:${host.port}`, cookie: sessionCookie });
      expect(status).toBe(421);
    });
  });

  describe('when another serve instance runs on another port', () => {
    it("refuses that instance's cookie, under its own name or renamed to ours", async () => {
      const other = await startServeHost({ router: new Router(createHandlers(testCore.core), testCore.core.bus), renderDir, port: 0 });
      try {
        const otherCookie = await tradeToken(other);
        expect(otherCookie).toMatch(new RegExp(`^cronium_session_${other.port}=`));
        const renamed = `cronium_session_${host.port}=${otherCookie.split('=')[1]}`;
        for (const cookie of [otherCookie, renamed]) {
          expect((await fetch(`${origin}/`, { headers: { cookie } })).status).toBe(401);
          expect((await fetch(`${origin}/metrics`, { headers: { cookie } })).status).toBe(401);
          expect(await refusal(connect({ token: null, cookie }))).toBe(401);
        }
        // Each instance still accepts its own.
        expect((await fetch(`http://127.0.0.1:${other.port}/`, { headers: { cookie: otherCookie } })).status).toBe(200);
      } finally {
        await other.close();
      }
    });
  });

  describe('when something asks for /metrics', () => {
    it('refuses it without the session or the token, and answers the Prometheus text with either', async () => {
      expect((await fetch(`${origin}/metrics`)).status).toBe(401);
      const withCookie = await fetch(`${origin}/metrics`, { headers: { cookie: sessionCookie } });
      expect(withCookie.status).toBe(200);
      expect(await withCookie.text()).toMatch(/# TYPE /);
      expect((await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${host.token}` } })).status).toBe(200);
    });
  });

  describe('when a client opens the /rpc socket', () => {
    it('refuses it without the session or the token, and with the token in the query', async () => {
      expect(await refusal(connect({ token: null }))).toBe(401);
      const queryOnly = new WebSocket(`ws://127.0.0.1:${host.port}/rpc?token=${host.token}`, { origin });
      const status = await new Promise((resolve) => queryOnly.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
      expect(status).toBe(401);
    });

    it('refuses it from another Origin, or with no Origin at all, even with the token', async () => {
      expect(await refusal(connect({ origin: 'http://evil.example' }))).toBe(403);
      expect(await refusal(connect({ origin: 'http://localhost:' + host.port }))).toBe(403);
      expect(await refusal(connect({ origin: null }))).toBe(403);
    });

    it('accepts the session cookie the page got', async () => {
      const client = await connect({ token: null, cookie: sessionCookie });
      expect((await client.call('system/ping')).ok).toBe(true);
      client.ws.close();
    });

    it('runs a call through the router and answers with its result', async () => {
      const client = await connect();
      const info = await client.call('system/info');
      expect(info.ok).toBe(true);
      expect(info.value.dataDir).toBe(testCore.dataDir);
      expect(info.value.mode).toBe('serve');
      const refused = await client.call('settings/update', { runner: { healthCheckInterval: 1 } });
      expect(refused.ok).toBe(false);
      expect(refused.error.fields).toHaveProperty(['runner.healthCheckInterval']);
      client.ws.close();
    });
  });

  describe('when the core pushes an event', () => {
    it('reaches every connected client', async () => {
      const a = await connect();
      const b = await connect();
      testCore.core.bus.emit('system/notice', { level: 'warning', message: 'keychain locked' });
      for (const client of [a, b]) {
        const frame = await client.next((f) => f.t === 'event');
        expect(frame).toEqual({ t: 'event', name: 'system/notice', payload: { level: 'warning', message: 'keychain locked' } });
      }
      a.ws.close();
      b.ws.close();
    });
  });

  describe('when two clients subscribe to different live logs', () => {
    it('each gets only the lines of its own log, and a closed client releases its subscriptions', async () => {
      const store = testCore.core.logs.store;
      const at = new Date(0).toISOString();
      for (const id of ['job-a', 'job-b']) {
        await testCore.core.db.kysely.insertInto('jobs').values({ id, status: 'RUNNING', created_at: at, updated_at: at } as never).execute();
      }
      const logA = await store.create({ jobId: 'job-a', eventId: null, serverId: null });
      const logB = await store.create({ jobId: 'job-b', eventId: null, serverId: null });
      const a = await connect();
      const b = await connect();
      expect((await a.call('logs/subscribe', { id: logA })).ok).toBe(true);
      expect((await b.call('logs/subscribe', { id: logB })).ok).toBe(true);
      const line = (seq: number, text: string) => ({ seq, ts: new Date(0).toISOString(), stream: 'stdout' as const, text });
      store.append(logA, line(1, 'only for a'));
      store.append(logB, line(1, 'only for b'));
      store.flushAll();
      const linesOf = (c: Client) => c.next((f) => f.t === 'event' && f.name === 'logs/lines');
      expect((await linesOf(a)).payload).toMatchObject({ logId: logA, lines: [{ text: 'only for a' }] });
      expect((await linesOf(b)).payload).toMatchObject({ logId: logB, lines: [{ text: 'only for b' }] });
      // A ping answered after the pushes proves nothing else was queued for either client.
      await a.call('system/ping');
      await b.call('system/ping');
      expect(a.frames.filter((f) => f.name === 'logs/lines').map((f) => f.payload.logId)).toEqual([logA]);
      expect(b.frames.filter((f) => f.name === 'logs/lines').map((f) => f.payload.logId)).toEqual([logB]);

      const closed = new Promise((r) => a.ws.once('close', r));
      a.ws.close();
      await closed;
      await vi.waitFor(() => expect(testCore.core.logs.stream.subscribersOf(logA)).toEqual([]));
      expect(testCore.core.logs.stream.subscribersOf(logB)).toHaveLength(1);
      b.ws.close();
    });
  });

  describe('when a client sends a bad frame', () => {
    it('ignores text that is not JSON and keeps serving the socket', async () => {
      const client = await connect();
      client.ws.send('{not json');
      client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      expect((await client.call('system/ping')).ok).toBe(true);
      client.ws.close();
    });

    it('answers a frame with an id but a wrong shape with BAD_FRAME, and an unknown call with UNKNOWN_CALL', async () => {
      const client = await connect();
      client.ws.send(JSON.stringify({ t: 'invoke', id: 9001, name: 42 }));
      const bad = await client.next((f) => f.id === 9001);
      expect(bad.result).toMatchObject({ ok: false, error: { code: ErrorCode.BAD_FRAME } });
      expect((await client.call('nope/never')).error.code).toBe(ErrorCode.UNKNOWN_CALL);
      client.ws.close();
    });

    it('closes a socket that sends an oversized frame (1009) and keeps serving the others', async () => {
      const big = await connect();
      const other = await connect();
      const closed = new Promise<number>((resolve) => big.ws.once('close', (code) => resolve(code)));
      big.ws.send(JSON.stringify({ t: 'invoke', id: 1, name: 'system/ping', input: 'x'.repeat(MAX_CLIENT_FRAME_BYTES) }));
      expect(await closed).toBe(1009);
      expect((await other.call('system/ping')).ok).toBe(true);
      other.ws.close();
    });
  });

  describe('when the host is closed', () => {
    it('drops its sockets and stops listening', async () => {
      const second = await startServeHost({ router: new Router(createHandlers(testCore.core), testCore.core.bus), renderDir, port: 0 });
      const secondOrigin = `http://127.0.0.1:${second.port}`;
      const ws = new WebSocket(`ws://127.0.0.1:${second.port}/rpc`, { origin: secondOrigin, headers: { authorization: `Bearer ${second.token}` } });
      await new Promise((r) => ws.once('open', r));
      const closed = new Promise((r) => ws.once('close', r));
      await second.close();
      await closed;
      await expect(fetch(secondOrigin)).rejects.toThrow();
      await second.close();
    });

    it('refuses to start without a built renderer, saying what to run', async () => {
      await expect(
        startServeHost({ router: new Router(createHandlers(testCore.core), testCore.core.bus), renderDir: path.join(renderDir, 'missing'), port: 0 }),
      ).rejects.toThrow(/npm run build/);
    });
  });
});
