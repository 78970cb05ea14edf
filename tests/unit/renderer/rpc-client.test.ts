// The renderer's rpc client over the serve-mode WebSocket transport, against a real serve host and core:
// typed calls, RpcError with the AppError shape, pushed events, and the connection dropping and coming back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient, RpcError } from '../../../src-renderer/src/rpc/client';
import { removeTokenFromAddressBar, rpcUrlForPage, WsTransport } from '../../../src-renderer/src/rpc/ws-transport';
import type { ConnectionState } from '../../../src-renderer/src/rpc/transport';
import { startRendererTestHost, waitFor, type RendererTestHost } from './serve-fixture';
import { ErrorCode } from '../../../src-shared/errors';

let t: RendererTestHost;
beforeAll(async () => {
  t = await startRendererTestHost();
});
afterAll(async () => {
  await t?.cleanup();
});

describe('rpc client over the WebSocket transport', () => {
  describe('when the page starts', () => {
    it('derives the socket URL from the page address, never with a token in it', () => {
      expect(rpcUrlForPage({ protocol: 'http:', host: '127.0.0.1:4000' })).toBe('ws://127.0.0.1:4000/rpc');
    });

    it('takes a token out of the address bar (fragment or query) and leaves other addresses alone', () => {
      const urls: string[] = [];
      const history = { replaceState: (_d: unknown, _u: string, url: string) => void urls.push(url) };
      expect(removeTokenFromAddressBar({ pathname: '/', search: '', hash: '#token=a_b-c' }, history)).toBe(true);
      expect(removeTokenFromAddressBar({ pathname: '/logs', search: '?token=x&tab=2', hash: '' }, history)).toBe(true);
      expect(removeTokenFromAddressBar({ pathname: '/', search: '?tab=2', hash: '#section' }, history)).toBe(false);
      expect(urls).toEqual(['/', '/logs?tab=2']);
    });

    it('queues a call made before the socket is open and answers it once connected', async () => {
      const transport = new WsTransport({ url: t.rpcUrl, createSocket: t.createSocket });
      const client = new RpcClient(transport);
      expect(transport.state()).toBe('connecting');
      const info = await client.invoke('system/info');
      expect(info.dataDir).toBe(t.testCore.dataDir);
      expect(transport.state()).toBe('connected');
      transport.close();
    });
  });

  describe('when a call fails', () => {
    it('throws an RpcError carrying the code, message and fields', async () => {
      const transport = new WsTransport({ url: t.rpcUrl, createSocket: t.createSocket });
      const client = new RpcClient(transport);
      const err = await client.invoke('settings/update', { runner: { cacheTtlDays: 0 } }).catch((e) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err.code).toBe(ErrorCode.INVALID_INPUT);
      expect(err.fields).toHaveProperty(['runner.cacheTtlDays']);
      transport.close();
    });
  });

  describe('when the core pushes events', () => {
    it('delivers them by name, validated, and stops after unsubscribing', async () => {
      const transport = new WsTransport({ url: t.rpcUrl, createSocket: t.createSocket });
      const client = new RpcClient(transport);
      await client.invoke('system/ping');
      const notices: string[] = [];
      const stop = client.onEvent('system/notice', (n) => notices.push(n.message));
      t.testCore.core.bus.emit('system/notice', { level: 'info', message: 'first' });
      await waitFor(() => notices.length === 1);
      stop();
      t.testCore.core.bus.emit('system/notice', { level: 'info', message: 'second' });
      await client.invoke('system/ping'); // the event, had it been delivered, arrives before this answer
      expect(notices).toEqual(['first']);
      transport.close();
    });
  });

  describe('when the connection drops', () => {
    it('answers the call in flight with DISCONNECTED, reconnects, and works again', async () => {
      const transport = new WsTransport({ url: t.rpcUrl, createSocket: t.createSocket, initialBackoffMs: 20 });
      const client = new RpcClient(transport);
      const states: ConnectionState[] = [];
      transport.onStateChange((s) => states.push(s));
      await client.invoke('system/ping');
      const inFlight = client.invoke('system/info').catch((e) => e);
      t.sockets[t.sockets.length - 1].terminate();
      const err = await inFlight;
      expect(err).toBeInstanceOf(RpcError);
      expect(err.code).toBe(ErrorCode.DISCONNECTED);
      await waitFor(() => transport.state() === 'connected');
      expect(states).toEqual(['connected', 'reconnecting', 'connected']);
      expect((await client.invoke('system/ping')).at).toMatch(/^\d{4}-/);
      transport.close();
    });

    it('reports disconnected when the server stays away, and fails queued calls after their wait', async () => {
      const transport = new WsTransport({
        // Nothing listens on port 1: every attempt is refused at once.
        url: 'ws://127.0.0.1:1/rpc',
        createSocket: t.createSocket,
        initialBackoffMs: 10,
        maxBackoffMs: 20,
        attemptsBeforeDisconnected: 3,
        queueTimeoutMs: 200,
      });
      const client = new RpcClient(transport);
      const err = await client.invoke('system/ping').catch((e) => e);
      expect(err.code).toBe(ErrorCode.DISCONNECTED);
      await waitFor(() => transport.state() === 'disconnected');
      transport.close();
    });
  });
});
