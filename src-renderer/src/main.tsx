/**
 * Renderer entry: picks the transport (window.cronium from the preload -> Electron IPC, otherwise serve mode's
 * WebSocket), installs the rpc client the stores use, mirrors the connection state, and mounts the App.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { installRpcClient, RpcClient } from './rpc/client';
import { IpcTransport } from './rpc/ipc-transport';
import type { RpcTransport } from './rpc/transport';
import { rpcUrlForPage, WsTransport } from './rpc/ws-transport';
import { bindConnection } from './stores/connection-store';
import './styles.css';

function createTransport(): RpcTransport {
  if (window.cronium) return new IpcTransport(window.cronium);
  const transport = new WsTransport({ url: rpcUrlForPage(window.location) });
  // The token now lives in an HttpOnly cookie and in the transport: take it out of the address bar and history.
  if (new URLSearchParams(window.location.search).has('token')) {
    window.history.replaceState(null, '', window.location.pathname);
  }
  return transport;
}

const transport = createTransport();
installRpcClient(new RpcClient(transport));
bindConnection(transport);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
