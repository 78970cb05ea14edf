// Navigation store and connection store: moving between panes, opening a log, and mirroring a transport's state.
import { describe, expect, it } from 'vitest';
import { bindConnection, useConnectionStore } from '../../../src-renderer/src/stores/connection-store';
import { PANES, useNavigationStore } from '../../../src-renderer/src/stores/navigation-store';
import { WsTransport } from '../../../src-renderer/src/rpc/ws-transport';
import { startRendererTestHost, waitFor } from './serve-fixture';

describe('navigation store', () => {
  describe('when the user moves around', () => {
    it('starts on the Dashboard and knows every pane, Settings last', () => {
      expect(useNavigationStore.getState().pane).toBe('dashboard');
      expect(PANES[0]).toBe('dashboard');
      expect(PANES.at(-1)).toBe('settings');
      expect(PANES).toEqual(
        expect.arrayContaining(['dashboard', 'servers', 'events', 'logs', 'variables', 'runners', 'workflows', 'upcoming', 'audit', 'notifications', 'settings']),
      );
    });

    it('opens a log by navigating to Logs with that log selected, keeping other selections', () => {
      useNavigationStore.getState().select('servers', { serverId: 's1' });
      useNavigationStore.getState().openLog('log-42');
      expect(useNavigationStore.getState()).toMatchObject({ pane: 'logs', selection: { serverId: 's1', logId: 'log-42' } });
    });
  });
});

describe('connection store', () => {
  describe('when the serve-mode socket connects, drops and comes back', () => {
    it('mirrors the state and counts sessions so panes can reload', async () => {
      const t = await startRendererTestHost();
      const transport = new WsTransport({ url: t.rpcUrl, createSocket: t.createSocket, initialBackoffMs: 20 });
      const stop = bindConnection(transport);
      expect(useConnectionStore.getState().kind).toBe('ws');
      await waitFor(() => useConnectionStore.getState().state === 'connected');
      expect(useConnectionStore.getState().sessions).toBe(1);
      t.sockets[0].terminate();
      await waitFor(() => useConnectionStore.getState().state === 'reconnecting');
      await waitFor(() => useConnectionStore.getState().state === 'connected');
      expect(useConnectionStore.getState().sessions).toBe(2);
      stop();
      transport.close();
      await t.cleanup();
    });
  });
});
