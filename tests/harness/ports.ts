/**
 * Test harness: TCP port helpers (pick a free port, wait until a port accepts connections).
 * Owns nothing long-lived: every socket it opens is closed before its promise settles.
 */
import net from 'node:net';

/** A port that was free a moment ago on `host`. The caller binds it soon after; a lost race shows as a bind error. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the port bound on ${host}`));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** Resolves true if a TCP connection to host:port succeeds within timeoutMs, false otherwise. */
export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls until host:port accepts a TCP connection. `stillAlive` lets the caller stop early (e.g. the server process
 * exited), so a failed start is reported at once instead of after the whole timeout.
 */
export async function waitForPort(
  host: string,
  port: number,
  { timeoutMs = 10_000, stillAlive = () => true }: { timeoutMs?: number; stillAlive?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!stillAlive()) throw new Error(`the server meant to listen on ${host}:${port} exited before accepting connections`);
    if (await canConnect(host, port, 300)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing accepted connections on ${host}:${port} within ${timeoutMs} ms`);
}
