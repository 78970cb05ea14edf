/**
 * HelperServer: the local channel between a script's helper shims (cronium.sh / cronium.py / cronium.js) and its
 * runner: a unix socket only the job's user can open (0600, in the job's 0700 folder), one JSON request per line,
 * one JSON reply per line. It validates each request and hands it to the supervisor; it never answers by itself.
 * Requests are handled in the async context the server was made in (a job host's job: the host tells by it which job
 * an exception came from, and ends that job only); a connection's own events run outside it.
 */
import { AsyncResource } from 'node:async_hooks';
import fs from 'node:fs';
import net from 'node:net';
import { HelperCall, type HelperReply } from '../../src-shared/protocol/runner-wire';

const MAX_REQUEST_BYTES = 2 * 1024 * 1024;

export class HelperServer {
  private readonly server: net.Server;
  /** The context of the code that made this server (the supervisor of one job). */
  private readonly scope = new AsyncResource('CroniumHelperServer');

  constructor(
    readonly socketPath: string,
    handle: (call: HelperCall) => Promise<HelperReply>,
  ) {
    fs.rmSync(socketPath, { force: true });
    this.server = net.createServer((sock) => {
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('error', () => sock.destroy());
      const onData = (chunk: string) => {
        buf += chunk;
        if (buf.length > MAX_REQUEST_BYTES) {
          sock.end(JSON.stringify({ id: '0', ok: false, error: 'helper request too large' }) + '\n');
          return;
        }
        let nl: number;
        while ((nl = buf.indexOf('\n')) !== -1) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let call: HelperCall;
          try {
            call = HelperCall.parse(JSON.parse(line));
          } catch (err) {
            sock.write(JSON.stringify({ id: '0', ok: false, error: `malformed helper request: ${(err as Error).message.slice(0, 200)}` }) + '\n');
            continue;
          }
          void handle(call).then(
            (reply) => !sock.destroyed && sock.write(JSON.stringify({ ...reply, id: call.id }) + '\n'),
            (err: unknown) => !sock.destroyed && sock.write(JSON.stringify({ id: call.id, ok: false, error: String((err as Error)?.message ?? err) }) + '\n'),
          );
        }
      };
      sock.on('data', (chunk: string) =>
        this.scope.runInAsyncScope(() => {
          try {
            onData(chunk);
          } catch (err) {
            // Thrown again from a tick in that context: an exception of the job's own code, as in any of its callbacks.
            process.nextTick(() => {
              throw err;
            });
          }
        }),
      );
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      // The socket is bound inside listen(): the umask goes back at once, before any other job in this process (a job
      // host runs many) could read or set it.
      const old = process.umask(0o177);
      try {
        this.server.listen(this.socketPath, () => resolve());
      } finally {
        process.umask(old);
      }
    });
  }

  close(): void {
    this.server.close();
    fs.rmSync(this.socketPath, { force: true });
  }
}
