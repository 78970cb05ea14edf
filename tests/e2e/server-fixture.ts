// Setup the runner and workflow stories share: contract calls over serve mode's own WebSocket (as the renderer makes
// them) and a server added through them for a key user of a real sshd, its host key trusted. Starts nothing itself.
import WebSocket from 'ws';
import type { SshdHandle, SshdKeyUser } from '../harness/sshd';
import type { ServeProcess } from './serve-fixture';

export type Rpc = (name: string, input: unknown) => Promise<any>;

/** One contract call per WebSocket to `serve()` (a getter, so the spec's serve process is read at call time). */
export function serveRpc(serve: () => ServeProcess | undefined): Rpc {
  return (name, input) =>
    new Promise((resolve, reject) => {
      const s = serve();
      if (!s) throw new Error(`${name}: serve mode is not running`);
      // A non-browser client: the token as a bearer header (browsers use the session cookie instead).
      const ws = new WebSocket(`ws://127.0.0.1:${s.port}/rpc`, { origin: s.origin, headers: { authorization: `Bearer ${s.token}` } });
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ t: 'invoke', id: 1, name, input })));
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data));
        if (frame.t !== 'result') return;
        ws.close();
        if (frame.result.ok) resolve(frame.result.value);
        else reject(new Error(`${name}: ${frame.result.error.message}`));
      });
    });
}

/** Saves a key-auth server for `user` on `sshd` and trusts sshd's host key, as the user would after the prompt. */
export async function addTrustedServer(rpc: Rpc, sshd: SshdHandle, user: SshdKeyUser, name: string): Promise<{ id: string }> {
  const server = await rpc('servers/save', {
    name, host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey,
  });
  await rpc('servers/trustHostKey', { id: server.id, fingerprint: sshd.hostKeyFingerprint });
  return server;
}
