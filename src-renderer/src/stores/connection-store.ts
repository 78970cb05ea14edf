/**
 * Connection store: the transport's state (connected / reconnecting / disconnected) for the banner, and a session
 * counter that goes up at every (re)connection so panes reload what they may have missed. Never sends calls itself.
 */
import { create } from 'zustand';
import type { ConnectionState, RpcTransport } from '../rpc/transport';

interface ConnectionStore {
  kind: 'ipc' | 'ws' | 'none';
  state: ConnectionState;
  /** Number of times the link has come up; > 1 means at least one reconnection happened. */
  sessions: number;
  retryNow: () => void;
}

export const useConnectionStore = create<ConnectionStore>(() => ({
  kind: 'none',
  state: 'connecting',
  sessions: 0,
  retryNow: () => {},
}));

/** Mirrors a transport into the store; returns the function that stops mirroring. */
export function bindConnection(transport: RpcTransport): () => void {
  const apply = (state: ConnectionState) =>
    useConnectionStore.setState((s) => ({ state, sessions: state === 'connected' ? s.sessions + 1 : s.sessions }));
  useConnectionStore.setState({ kind: transport.kind, state: 'connecting', sessions: 0, retryNow: () => transport.retryNow() });
  apply(transport.state());
  return transport.onStateChange(apply);
}
