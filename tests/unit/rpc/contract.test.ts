/**
 * The contract test: the real router and handlers over a real core (SQLite file in a temp folder), driven through the
 * in-memory transport that carries the serve-mode wire frames, the way a renderer drives the app.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SettingsView } from '../../../src-shared/contract/settings';
import { createHandlers } from '../../../src-main/rpc/handlers';
import { createMemoryTransport, type MemoryTransport } from '../../../src-main/rpc/memory-transport';
import { Router } from '../../../src-main/rpc/router';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { ErrorCode } from '../../../src-shared/errors';

let test: TestCore;
let pair: MemoryTransport;

function connect(handlers = createHandlers(test.core)): MemoryTransport {
  pair = createMemoryTransport(new Router(handlers, test.core.bus));
  return pair;
}

beforeEach(async () => {
  test = await createTestCore();
});
afterEach(async () => {
  pair?.close();
  await test.cleanup();
  vi.restoreAllMocks();
});

describe('the IPC contract over a message transport', () => {
  describe('when the renderer makes a valid call', () => {
    it('gets the value back', async () => {
      const { client } = connect();
      const info = await client.invoke('system/info', {});
      expect(info).toMatchObject({ ok: true, value: { appVersion: '0.0.0-test', mode: 'serve', dataDir: test.dataDir, keychain: { available: true } } });
      const view = await client.invoke('settings/get');
      expect(view.ok).toBe(true);
      if (view.ok) expect(SettingsView.parse(view.value).settings.runner.defaultVersion).toBe('1.0.0');
    });
  });

  describe('when the core has started', () => {
    it('reports the port its local listener is bound to, and that port answers', async () => {
      await test.core.start();
      const { client } = connect();
      const info = await client.invoke('system/info');
      expect(info.ok).toBe(true);
      const port = info.ok ? (info.value as { listenerPort: number }).listenerPort : 0;
      expect(port).toBeGreaterThan(0);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(await health.json()).toMatchObject({ status: 'ok', version: '0.0.0-test' });
    });
  });

  describe('when the renderer makes a call that is not in the contract', () => {
    it('is refused with UNKNOWN_CALL', async () => {
      const { client } = connect();
      const result = await client.invoke('servers/deleteEverything', {});
      expect(result).toEqual({ ok: false, error: { code: ErrorCode.UNKNOWN_CALL, message: expect.stringContaining('servers/deleteEverything') } });
    });
  });

  describe('when the renderer sends an invalid input', () => {
    it('is refused with INVALID_INPUT naming the field, and nothing changes', async () => {
      const { client } = connect();
      const result = await client.invoke('settings/update', { runner: { cacheTtlDays: 'ninety' } });
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe(ErrorCode.INVALID_INPUT);
        expect(result.error.fields).toHaveProperty(['runner.cacheTtlDays']);
      }
      expect(test.core.settings.current().runner.cacheTtlDays).toBe(90);
    });

    it('is refused with INVALID_SETTING when well-formed values contradict each other', async () => {
      const { client } = connect();
      const result = await client.invoke('settings/update', { runner: { health: { memoryDegradedPercent: 99, memoryUnhealthyPercent: 90 } } });
      expect(result).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_SETTING, fields: { 'runner.health.memoryDegradedPercent': expect.any(String) } } });
    });

    it('drops a frame that is not an invoke without breaking the connection', async () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const { client, sendRaw } = connect();
      sendRaw({ t: 'invoke', id: -1, name: 'system/ping' });
      sendRaw('not even an object');
      expect((await client.invoke('system/ping')).ok).toBe(true);
      expect(warn).toHaveBeenCalledTimes(2);
    });
  });

  describe('when the user updates a setting', () => {
    it('answers with the new view and pushes settings/changed to the client', async () => {
      const { client } = connect();
      const pushed = new Promise<unknown>((resolve) => {
        const stop = client.on((name, payload) => {
          if (name === 'settings/changed') {
            stop();
            resolve(payload);
          }
        });
      });
      const result = await client.invoke('settings/update', { streaming: { bufferSize: 8192 }, flags: { ssh_runner_streaming_logs: false } });
      expect(result.ok).toBe(true);
      const event = SettingsView.parse(await pushed);
      expect(event.settings.streaming.bufferSize).toBe(8192);
      expect(event.settings.flags.ssh_runner_streaming_logs).toBe(false);
    });
  });

  describe('when a handler returns more than the contract declares', () => {
    it('strips the extra fields before they reach the client', async () => {
      const handlers = createHandlers(test.core);
      const { client } = connect({
        ...handlers,
        'system/ping': () => ({ at: '2025-01-01T00:00:00.000Z', secretPath: '/root/.ssh/id_ed25519' }) as never,
      });
      expect(await client.invoke('system/ping')).toEqual({ ok: true, value: { at: '2025-01-01T00:00:00.000Z' } });
    });

    it('refuses an answer that breaks the contract instead of passing it on', async () => {
      vi.spyOn(console, 'error').mockImplementation(() => {});
      const handlers = createHandlers(test.core);
      const { client } = connect({ ...handlers, 'system/ping': () => ({ at: 42 }) as never });
      expect(await client.invoke('system/ping')).toMatchObject({ ok: false, error: { code: ErrorCode.INTERNAL } });
    });
  });

  describe('when the connection closes', () => {
    it('stops pushing events and refuses further calls', async () => {
      const { client } = connect();
      const seen: string[] = [];
      client.on((name) => seen.push(name));
      pair.close();
      test.core.settings.update({ runner: { cacheTtlDays: 5 } });
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual([]);
      expect(await client.invoke('system/ping')).toMatchObject({ ok: false, error: { code: ErrorCode.DISCONNECTED } });
    });
  });
});
