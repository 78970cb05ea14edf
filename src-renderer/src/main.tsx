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
import { removeTokenFromAddressBar, rpcUrlForPage, WsTransport } from './rpc/ws-transport';
import { bindConnection } from './stores/connection-store';
import './styles.css';
// After styles.css: the shell's rules for small and large windows and the focus ring refine the base styles.
import './shell.css';

function createTransport(): RpcTransport {
  if (window.cronium) return new IpcTransport(window.cronium);
  // The session cookie authenticates the socket; a token still in the address bar goes out of it and of the history.
  removeTokenFromAddressBar(window.location, window.history);
  // The printed URL opened again in this tab only changes the fragment (no reload): take the token out again.
  window.addEventListener('hashchange', () => removeTokenFromAddressBar(window.location, window.history));
  return new WsTransport({ url: rpcUrlForPage(window.location) });
}

const transport = createTransport();
installRpcClient(new RpcClient(transport));
bindConnection(transport);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
