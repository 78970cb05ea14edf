/**
 * The local listener under a flood (issue 12 item 5): unauthenticated 4 MiB bodies are refused from their headers and
 * never read, so the app's memory stays flat; a runner streaming over its WebSocket meanwhile loses nothing. Also the
 * connection caps and the timeouts that keep silent sockets from holding the listener.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { ListenerAuth } from '../../../src-main/core/listener/auth';
import { LocalListener } from '../../../src-main/core/listener/local-listener';
import { registerStreamingRoutes } from '../../../src-main/core/listener/runner-routes-streaming';
import { RunnerStreamHub } from '../../../src-main/core/listener/runner-websocket';
import { createMetrics } from '../../../src-main/core/metrics/metrics';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { SettingsService } from '../../../src-main/core/settings/settings-service';
import { runnerStreamPath, type WireLine } from '../../../src-shared/protocol/runner-wire';

const MIGRATIONS = path.resolve(__dirname, '../../../migrations');
const MB = 1024 * 1024;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let tmp: string;
let db: AppDatabase;
let listener: LocalListener;
let auth: ListenerAuth;
let hub: RunnerStreamHub;

function memory(): { heap: number; rss: number } {
  for (let i = 0; i < 4; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

/** 200 unauthenticated POSTs of 4 MiB each, all at once, from another process (so its buffers are not counted here). */
function flood(port: number, count: number, bytes: number): Promise<Record<string, number>> {
  const script = `
    const http = require('node:http');
    const body = Buffer.alloc(${bytes}, 120);
    const outcome = {};
    let left = ${count};
    const done = (k) => { outcome[k] = (outcome[k] || 0) + 1; if (--left === 0) { process.stdout.write(JSON.stringify(outcome)); process.exit(0); } };
    for (let i = 0; i < ${count}; i++) {
      const req = http.request({ host: '127.0.0.1', port: ${port}, method: 'POST', path: '/api/logs/l-' + i + '/partial', agent: false,
        headers: { 'content-type': 'application/json', 'content-length': String(body.length) } });
      let settled = false;
      const settle = (k) => { if (!settled) { settled = true; done(k); } };
      req.on('response', (res) => { res.resume(); settle('http ' + res.statusCode); });
      req.on('error', (e) => settle(e.code || 'error'));
      req.end(body);
    }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`flood client exited ${code}`))));
  });
}

beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-flood-test-'));
  db = openDatabase(path.join(tmp, 'cronium.sqlite'), MIGRATIONS);
  const bus = new EventBus();
  const settings = new SettingsService(db, {}, bus);
  listener = new LocalListener({ metrics: createMetrics(), settings, limits: { idleTimeoutMs: 400, maxUnauthenticatedConnections: 16 } });
  auth = new ListenerAuth({ settings: { helperJwtSecretFromEnv: () => 'f'.repeat(40) }, secrets: new MemorySecretStore() });
  hub = new RunnerStreamHub(listener, auth);
  // Only the routes' authentication runs in these tests: the services behind them are never reached.
  const unused = {} as never;
  registerStreamingRoutes({ listener, auth, db, bus, logs: unused, events: unused, payloads: unused, hub, helpers: unused });
  await listener.start(0);
});

afterEach(async () => {
  await listener.stop();
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the local listener under a flood', () => {
  it('refuses 200 unauthenticated 4 MiB bodies without reading them, memory stays flat and a runner keeps streaming', async () => {
    const jobId = 'job-flood';
    const received: number[] = [];
    let closedWhy: string | null = null;
    hub.expect(jobId, {
      onOpen: () => undefined,
      onMessage: (_ch, msg) => {
        if (msg.type === 'log') received.push(...msg.lines.map((l) => l.seq));
      },
      onClose: (_ch, why) => {
        closedWhy = why;
      },
    });
    auth.openJob(jobId, 'srv-1');
    const token = await auth.mintToken({ aud: 'runner', sub: jobId, jobId, serverId: 'srv-1' }, 300);
    const ws = new WebSocket(`ws://127.0.0.1:${listener.port}${runnerStreamPath(jobId)}`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    let seq = 0;
    const sendBatch = () => {
      const lines: WireLine[] = [];
      for (let i = 0; i < 20; i++) lines.push({ seq: ++seq, stream: 'stdout', ts: new Date().toISOString(), text: `line ${seq} ${'.'.repeat(80)}` });
      ws.send(JSON.stringify({ type: 'log', lines }));
    };
    // Warm up (first requests, JIT, socket buffers), then measure.
    for (let i = 0; i < 20; i++) sendBatch();
    await flood(listener.port, 10, 64 * 1024);
    const before = memory();

    const streaming = setInterval(sendBatch, 2);
    const outcome = await flood(listener.port, 200, 4 * MB);
    clearInterval(streaming);
    const after = memory();

    // Every request was refused: 401 from its headers, or its connection closed (the unauthenticated cap).
    const total = Object.values(outcome).reduce((a, b) => a + b, 0);
    expect(total).toBe(200);
    expect(Object.keys(outcome).filter((k) => k.startsWith('http ') && k !== 'http 401')).toEqual([]);
    expect(outcome['http 401'] ?? 0).toBeGreaterThan(0);

    const heapGrowthMb = (after.heap - before.heap) / MB;
    const rssGrowthMb = (after.rss - before.rss) / MB;
    console.info(`[flood] heap+external ${(before.heap / MB).toFixed(1)} -> ${(after.heap / MB).toFixed(1)} MB (${heapGrowthMb.toFixed(1)}), rss ${(before.rss / MB).toFixed(1)} -> ${(after.rss / MB).toFixed(1)} MB (${rssGrowthMb.toFixed(1)}), outcome ${JSON.stringify(outcome)}`);
    expect(heapGrowthMb).toBeLessThan(20);
    expect(rssGrowthMb).toBeLessThan(20);

    // The stream was not disturbed: every line arrived once, in order, on the same socket.
    const last = seq;
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(last);
    expect(received).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(closedWhy).toBeNull();
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });

  it('refuses an unauthenticated body before reading it, and closes that connection', async () => {
    const socket = net.connect(listener.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    const closed = new Promise((r) => socket.once('close', r));
    socket.on('error', () => undefined);
    socket.write(`POST /api/logs/l1/partial HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${4 * MB}\r\n\r\n{"lines":`);
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
    expect(answer.toLowerCase()).toContain('connection: close');
  });

  it('keeps at most the cap of unauthenticated connections, closing the oldest first', async () => {
    const sockets: net.Socket[] = [];
    const closed = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const s = net.connect(listener.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closed.add(i));
      await new Promise((r) => s.once('connect', r));
      await expect.poll(() => listener.unauthenticatedConnections + listener.refusedConnections).toBe(i + 1);
      sockets.push(s);
    }
    expect(listener.unauthenticatedConnections).toBe(16);
    expect(listener.refusedConnections).toBe(4);
    await expect.poll(() => [...closed].sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
    for (const s of sockets) s.destroy();
  });

  it('closes a connection that stays silent (idle timeout), and one that never finishes its headers', async () => {
    const silent = net.connect(listener.port, '127.0.0.1');
    silent.on('error', () => undefined);
    const slow = net.connect(listener.port, '127.0.0.1');
    slow.on('error', () => undefined);
    await new Promise((r) => slow.once('connect', r));
    slow.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await Promise.all([new Promise((r) => silent.once('close', r)), new Promise((r) => slow.once('close', r))]);
    await expect.poll(() => listener.unauthenticatedConnections).toBe(0);
  });
});
