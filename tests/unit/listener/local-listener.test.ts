/**
 * The local listener over real HTTP and WebSocket connections on 127.0.0.1: built-in routes, routing, bounded and
 * validated bodies, errors mapped to statuses, authentication of routes and upgrades, and loopback-only binding.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { AppError } from '../../../src-main/core/errors';
import { EventBus } from '../../../src-main/core/event-bus';
import { ListenerAuth } from '../../../src-main/core/listener/auth';
import { LocalListener } from '../../../src-main/core/listener/local-listener';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { createMetrics, type Metrics } from '../../../src-main/core/metrics/metrics';
import { SettingsService } from '../../../src-main/core/settings/settings-service';
import { ErrorCode } from '../../../src-shared/errors';

const MIGRATIONS = path.resolve(__dirname, '../../../migrations');

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

let tmp: string;
let db: AppDatabase;
let metrics: Metrics;
let listener: LocalListener;

function request(
  method: string,
  urlPath: string,
  opts: { body?: string | Buffer; headers?: Record<string, string>; chunked?: boolean; port?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined && !opts.chunked) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = http.request({ host: '127.0.0.1', port: opts.port ?? listener.port, method, path: urlPath, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) {
      if (opts.chunked) {
        // Send in pieces without a length, so the bound is enforced while streaming.
        const buf = Buffer.from(opts.body);
        for (let i = 0; i < buf.length; i += 64 * 1024) req.write(buf.subarray(i, i + 64 * 1024));
      } else req.write(opts.body);
    }
    req.end();
  });
}

function connectRefused(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(2000);
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

function openWs(urlPath: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${listener.port}${urlPath}`, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      res.resume();
    });
    ws.once('error', (err) => reject(err));
  });
}

beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-listener-test-'));
  db = openDatabase(path.join(tmp, 'cronium.sqlite'), MIGRATIONS);
  metrics = createMetrics();
  listener = new LocalListener({ metrics, settings: new SettingsService(db, {}, new EventBus()), appVersion: '9.8.7' });
  await listener.start(0);
});
afterEach(async () => {
  await listener.stop();
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the local listener', () => {
  describe('when it starts', () => {
    it('binds 127.0.0.1 on a free port and nothing else', async () => {
      const port = listener.port;
      expect(port).toBeGreaterThan(0);
      expect((await request('GET', '/health')).status).toBe(200);
      // 127.0.0.2 is also loopback: a listener bound to 0.0.0.0 would answer there, one bound to 127.0.0.1 does not.
      expect(await connectRefused('127.0.0.2', port)).toBe('ECONNREFUSED');
      const external = Object.values(os.networkInterfaces())
        .flat()
        .filter((a): a is os.NetworkInterfaceInfo => !!a && a.family === 'IPv4' && !a.internal);
      for (const addr of external) expect(await connectRefused(addr.address, port)).toBe('ECONNREFUSED');
    });

    it('says clearly when the configured port is taken', async () => {
      const other = new LocalListener({ metrics, settings: new SettingsService(db, {}, new EventBus()) });
      const err = await other.start(listener.port).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe(ErrorCode.LISTENER_PORT_IN_USE);
      expect((err as AppError).message).toContain('HELPER_API_PORT');
      expect(other.port).toBe(0);
    });

    it('frees the port when stopped', async () => {
      const port = listener.port;
      await listener.stop();
      expect(listener.port).toBe(0);
      expect(await connectRefused('127.0.0.1', port)).toBe('ECONNREFUSED');
      await listener.start(port);
      expect(listener.port).toBe(port);
    });
  });

  describe('when a runner or a monitor asks for health and metrics', () => {
    it('answers /health with its status and version', async () => {
      const reply = await request('GET', '/health');
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect(reply.json).toMatchObject({ status: 'ok', version: '9.8.7', runnerDefaultVersion: '1.0.0' });
    });

    it('answers /metrics only to an automation token, with the Prometheus exposition of its registry', async () => {
      const auth = new ListenerAuth({ settings: { helperJwtSecretFromEnv: () => 'm'.repeat(40) }, secrets: new MemorySecretStore() });
      listener.serveMetrics(auth.bearer(['automation']));
      metrics.runnerDeploymentsTotal.inc({ server: 'db-1' });
      expect((await request('GET', '/metrics')).status).toBe(401);
      const runnerToken = await auth.mintToken({ aud: 'runner', sub: 'job-1', jobId: 'job-1', serverId: 's-1' }, 60);
      expect((await request('GET', '/metrics', { headers: { authorization: `Bearer ${runnerToken}` } })).status).toBe(401);
      const token = await auth.mintToken({ aud: 'automation', sub: 'prometheus' }, 60);
      const reply = await request('GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toMatch(/^text\/plain/);
      expect(reply.text).toContain('runner_deployments_total{server="db-1"} 1');
      expect(reply.text).toContain('# TYPE partial_log_recovery_count counter');
    });
  });

  describe('when a route is added', () => {
    beforeEach(() => {
      listener.addRoute('POST', '/api/runners/deployments/:serverId/status', async (ctx) => ({
        status: 200,
        json: { params: ctx.params, query: ctx.query, body: ctx.body },
      }), { auth: async () => undefined });
      listener.addRoute('POST', '/api/logs/:logId/partial', async (ctx) => ({ status: 202, json: { bytes: (ctx.body as Buffer).length } }), {
        auth: async () => undefined,
        maxBodyBytes: 1024,
      });
    });

    it('passes decoded path parameters, the query and the JSON body', async () => {
      const reply = await request('POST', '/api/runners/deployments/srv%201/status?verbose=1', {
        body: JSON.stringify({ status: 'active' }),
        headers: { 'content-type': 'application/json' },
      });
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({ params: { serverId: 'srv 1' }, query: { verbose: '1' }, body: { status: 'active' } });
    });

    it('hands a non-JSON body over as bytes', async () => {
      const reply = await request('POST', '/api/logs/l1/partial', { body: 'line one\nline two\n', headers: { 'content-type': 'text/plain' } });
      expect(reply).toMatchObject({ status: 202, json: { bytes: 18 } });
    });

    it('refuses malformed JSON with 400', async () => {
      const reply = await request('POST', '/api/runners/deployments/s1/status', { body: '{"status": ', headers: { 'content-type': 'application/json' } });
      expect(reply.status).toBe(400);
      expect(reply.json.code).toBe(ErrorCode.INVALID_INPUT);
      expect(reply.json.message).toMatch(/not valid JSON/);
    });

    it('refuses a body over the bound with 413, whether its length is declared or not', async () => {
      const big = 'x'.repeat(4096);
      const declared = await request('POST', '/api/logs/l1/partial', { body: big });
      expect(declared.status).toBe(413);
      expect(declared.json).toMatchObject({ code: ErrorCode.PAYLOAD_TOO_LARGE });
      expect(declared.json.message).toContain('1024 bytes');
      const streamed = await request('POST', '/api/logs/l1/partial', { body: 'y'.repeat(300 * 1024), chunked: true });
      expect(streamed.status).toBe(413);
    });

    it('answers 404 for an unknown route and 405 for a wrong method', async () => {
      const missing = await request('GET', '/api/nothing/here');
      expect(missing.status).toBe(404);
      expect(missing.json).toMatchObject({ code: ErrorCode.NOT_FOUND });
      const wrong = await request('GET', '/api/logs/l1/partial');
      expect(wrong.status).toBe(405);
      expect(wrong.headers.allow).toBe('POST');
    });

    it('refuses requests addressed to a host name other than loopback (DNS rebinding)', async () => {
      const reply = await request('GET', '/health', { headers: { host: `evil.example:${listener.port}` } });
      expect(reply.status).toBe(403);
      const ok = await request('GET', '/health', { headers: { host: `localhost:${listener.port}` } });
      expect(ok.status).toBe(200);
    });
  });

  describe('when a handler fails', () => {
    it('maps AppError codes to statuses and hides unexpected errors', async () => {
      listener.addRoute('GET', '/api/runners/health/:deploymentId', async (ctx) => {
        throw new AppError(ErrorCode.NOT_FOUND, `No runner deployment ${ctx.params.deploymentId}.`);
      }, { public: true });
      listener.addRoute('GET', '/boom', async () => {
        throw new Error('database password is hunter2');
      }, { public: true });
      const notFound = await request('GET', '/api/runners/health/d-42');
      expect(notFound.status).toBe(404);
      expect(notFound.json).toEqual({ code: ErrorCode.NOT_FOUND, message: 'No runner deployment d-42.' });

      const origError = console.error;
      console.error = () => {};
      try {
        const boom = await request('GET', '/boom');
        expect(boom.status).toBe(500);
        expect(boom.json.code).toBe(ErrorCode.INTERNAL);
        expect(boom.text).not.toContain('hunter2');
      } finally {
        console.error = origError;
      }
    });
  });

  describe('when a route is added without an auth check', () => {
    it('is refused unless it is declared public, and a public route takes no body', async () => {
      expect(() => listener.addRoute('POST', '/api/open', async () => ({ status: 200 }))).toThrow(/needs an auth check/);
      listener.addRoute('POST', '/api/open', async () => ({ status: 200, json: { ok: true } }), { public: true });
      expect((await request('POST', '/api/open')).status).toBe(200);
      expect((await request('POST', '/api/open', { body: 'x' })).status).toBe(413);
    });
  });

  describe('when a route requires authentication', () => {
    it('refuses a request without valid credentials before the handler or the body is touched', async () => {
      let handled = 0;
      listener.addRoute(
        'POST',
        '/api/helpers/variables/:id',
        async () => {
          handled++;
          return { status: 200, json: { ok: true } };
        },
        {
          auth: async (headers) => {
            if (headers.authorization !== 'Bearer good') throw new AppError(ErrorCode.UNAUTHORIZED, 'A valid runner token is required.');
          },
        },
      );
      const refused = await request('POST', '/api/helpers/variables/v1', { body: '{}', headers: { 'content-type': 'application/json' } });
      expect(refused.status).toBe(401);
      expect(refused.json).toEqual({ code: ErrorCode.UNAUTHORIZED, message: 'A valid runner token is required.' });
      expect(handled).toBe(0);
      const accepted = await request('POST', '/api/helpers/variables/v1', { body: '{}', headers: { 'content-type': 'application/json', authorization: 'Bearer good' } });
      expect(accepted.status).toBe(200);
      expect(handled).toBe(1);
    });
  });

  describe('when a runner opens a WebSocket', () => {
    beforeEach(() => {
      listener.addWebSocketRoute(
        '/api/logs/stream/:logId',
        (ws, _req, params) => {
          ws.on('message', (data) => ws.send(`${params.logId}:${String(data)}`));
        },
        {
          authenticate: async (req) => {
            if (req.headers.authorization !== 'Bearer job-token') throw new AppError(ErrorCode.UNAUTHORIZED, 'bad token');
            return { jobId: 'j1' };
          },
          maxPayload: 1024,
        },
      );
    });

    it('connects an authenticated runner to the route with its parameters', async () => {
      const { ws } = await openWs('/api/logs/stream/log-7', { authorization: 'Bearer job-token' });
      const reply = new Promise<string>((resolve) => ws!.once('message', (d) => resolve(String(d))));
      ws!.send('hello');
      expect(await reply).toBe('log-7:hello');
      ws!.close();
    });

    it('refuses the upgrade with 401 without a valid token, and 404 on an unknown path', async () => {
      expect((await openWs('/api/logs/stream/log-7', { authorization: 'Bearer wrong' })).status).toBe(401);
      expect((await openWs('/api/no/such/stream', { authorization: 'Bearer job-token' })).status).toBe(404);
    });

    it('closes a connection that sends a message over the size bound', async () => {
      const { ws } = await openWs('/api/logs/stream/log-7', { authorization: 'Bearer job-token' });
      const closed = new Promise<number>((resolve) => ws!.once('close', (code) => resolve(code)));
      ws!.on('error', () => {});
      ws!.send('z'.repeat(4096));
      expect(await closed).toBe(1009);
    });

    it('drops open connections when the listener stops', async () => {
      const { ws } = await openWs('/api/logs/stream/log-7', { authorization: 'Bearer job-token' });
      const closed = new Promise<void>((resolve) => ws!.once('close', () => resolve()));
      await listener.stop();
      await closed;
      expect(ws!.readyState).toBe(WebSocket.CLOSED);
    });
  });
});
