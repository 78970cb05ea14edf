// A real serve host (real core, real SQLite file, real HTTP/WebSocket) for the renderer's unit tests, and the
// WebSocket factory a browser would give: the `ws` client sending the served Origin and the session cookie the page
// got by trading the token at POST /session, as the page does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { startServeHost, type ServeHost } from '../../../src-main/headless/serve-host';
import { createHandlers } from '../../../src-main/rpc/handlers';
import { Router } from '../../../src-main/rpc/router';
import type { WebSocketFactory, WebSocketLike } from '../../../src-renderer/src/rpc/ws-transport';
import { createTestCore, type TestCore } from '../../harness/test-core';

export interface RendererTestHost {
  testCore: TestCore;
  host: ServeHost;
  rpcUrl: string;
  /** Sockets the transport opened, newest last, so a test can cut one. */
  sockets: WebSocket[];
  createSocket: WebSocketFactory;
  cleanup(): Promise<void>;
}

export async function startRendererTestHost(env: Record<string, string> = {}): Promise<RendererTestHost> {
  const testCore = await createTestCore({ env });
  const renderDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-render-'));
  fs.writeFileSync(path.join(renderDir, 'index.html'), '<!doctype html><title>t</title>');
  const host = await startServeHost({
    router: new Router(createHandlers(testCore.core), testCore.core.bus, [testCore.core.logs.stream]),
    renderDir,
    port: 0,
  });
  const session = await fetch(`http://127.0.0.1:${host.port}/session`, { method: 'POST', headers: { authorization: `Bearer ${host.token}` } });
  const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0]!;
  const sockets: WebSocket[] = [];
  const createSocket: WebSocketFactory = (url) => {
    const ws = new WebSocket(url, { origin: `http://127.0.0.1:${host.port}`, headers: { cookie } });
    ws.on('error', () => {});
    sockets.push(ws);
    return ws as unknown as WebSocketLike;
  };
  return {
    testCore,
    host,
    rpcUrl: `ws://127.0.0.1:${host.port}/rpc`,
    sockets,
    createSocket,
    async cleanup() {
      await host.close();
      await testCore.cleanup();
      fs.rmSync(renderDir, { recursive: true, force: true });
    },
  };
}

export async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
