/**
 * SshConnection: one authenticated SSH connection to one server, with exec, SFTP helpers, reverse tunnels and a
 * liveness check of its own. It owns its socket (no-delay set before the first byte) and reports how it ended; it never
 * reconnects by itself (the pool does) and never keeps a credential after the handshake.
 */
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Duplex, Readable } from 'node:stream';
import type { Client, ClientChannel, ExecOptions as ExecChannelOptions, SFTPWrapper } from 'ssh2';
import { every, systemClock, type Clock } from '../clock';
import { AppError } from '../errors';
import { SshErrorCode, connectionLost, sshErrorToAppError, type SshErrorContext } from './errors';
import { errorContext, handshake, openHopChain, type HopChain } from './ssh-handshake';
import type { ConnectionCloseReason, ExecOptions, ExecResult, SshTarget } from './types';

export interface SshConnectionOptions {
  /** Bound on TCP connect + key exchange + authentication. */
  connectTimeoutMs: number;
  /** How often to check the connection answers; 0 disables. */
  livenessIntervalMs: number;
  /** A check unanswered this long, with no other byte received meanwhile, marks the connection dead. */
  livenessTimeoutMs: number;
  /** Close after this long with no exec, no SFTP operation and no tunnel in use; 0 disables. */
  idleCloseMs: number;
  /** The connect, exec, liveness and idle timers run on it (default: the system clock). */
  clock?: Clock;
  onLiveness?(latencyMs: number): void;
  onDead?(reason: string): void;
  onChannelFree?(): void;
}

export interface RemoteFileStat {
  size: number;
  mode: number;
  mtimeMs: number;
  isDirectory: boolean;
  isFile: boolean;
}

export interface ReverseTunnel {
  remotePort: number;
  close(): Promise<void>;
}

/** A reverse tunnel ending on a Unix socket on the server (OpenSSH streamlocal forwarding). */
export interface StreamLocalTunnel {
  socketPath: string;
  close(): Promise<void>;
}

export type TunnelConnectionHandler = (stream: ClientChannel, info: { srcIP: string; srcPort: number }) => void;

const DEFAULT_MAX_COLLECT = 8 * 1024 * 1024;
const SFTP_NO_SUCH_FILE = 2;

/** An onConnection handler for forwardIn() that pipes every tunnelled connection to a local TCP port. */
export function pipeToLocal(localPort: number, localHost = '127.0.0.1'): TunnelConnectionHandler {
  return (stream) => {
    const local = net.connect({ host: localHost, port: localPort });
    local.setNoDelay(true);
    local.on('error', () => stream.close());
    stream.on('error', () => local.destroy());
    stream.pipe(local).pipe(stream);
  };
}

export class SshConnection {
  readonly id = randomUUID();
  readonly serverId: string;
  /** Round trip of the last liveness check, in ms; null before the first one. */
  latencyMs: number | null = null;

  private readonly ctx: SshErrorContext;
  /** Whether this server allows agent forwarding for the commands that ask for it. */
  private readonly agentForwarding: boolean;
  private readonly closeListeners = new Set<(reason: ConnectionCloseReason, error?: AppError) => void>();
  private readonly tunnels = new Map<number, TunnelConnectionHandler>();
  private readonly unixTunnels = new Map<string, TunnelConnectionHandler>();
  private closedReason: ConnectionCloseReason | undefined;
  private closeError: AppError | undefined;
  private intendedReason: ConnectionCloseReason | undefined;
  private execChannels = 0;
  /** Open direct-streamlocal channels (openStreamLocal): in use, but not session channels (MaxSessions). */
  private localStreams = 0;
  private sftpOps = 0;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private lastReceivedAt = performance.now();
  private readonly clock: Clock;
  private livenessTimer: { cancel(): void } | undefined;
  private idleTimer: { cancel(): void } | undefined;
  private pingInFlight = false;

  private constructor(
    private readonly client: Client,
    private readonly sock: Duplex,
    target: SshTarget,
    private readonly options: SshConnectionOptions,
    private readonly chain: HopChain | undefined,
  ) {
    this.clock = options.clock ?? systemClock;
    this.serverId = target.serverId;
    this.ctx = errorContext(target);
    this.agentForwarding = target.auth.type === 'agent' && target.agentForwarding === true;
    // A hop that goes away takes the tunnel with it: that is a link loss of this connection like any other.
    chain?.clients.forEach((hop, i) => {
      hop.on('close', () => {
        if (this.closedReason !== undefined) return;
        this.closeError ??= connectionLost(this.ctx, `the jump host ${chain.names[i]} dropped the link`);
        this.sock.destroy();
      });
    });
    sock.on('data', () => {
      this.lastReceivedAt = performance.now();
    });
    client.on('error', (err) => {
      this.closeError ??= sshErrorToAppError(err, this.ctx);
    });
    client.on('close', () => {
      this.chain?.close();
      this.markClosed();
    });
    client.on('tcp connection', (info, accept, reject) => {
      const handler = this.tunnels.get(info.destPort);
      if (!handler) return reject();
      handler(accept(), { srcIP: info.srcIP, srcPort: info.srcPort });
    });
    client.on('unix connection', (info, accept, reject) => {
      const handler = this.unixTunnels.get(info.socketPath);
      if (!handler) return reject();
      handler(accept() as ClientChannel, { srcIP: 'unix', srcPort: 0 });
    });
    if (options.livenessIntervalMs > 0) {
      this.livenessTimer = every(this.clock, options.livenessIntervalMs, () => void this.checkLiveness());
    }
    this.touch();
  }

  /**
   * Connects and authenticates, through the target's jump hosts when it has any. Every host key (each hop's and the
   * target's) is checked against its own pin during key exchange, before any credential is sent to that host; an
   * unknown or changed key rejects with HOST_KEY_UNTRUSTED / HOST_KEY_CHANGED (naming the hop when it is one).
   */
  static async open(target: SshTarget, options: SshConnectionOptions): Promise<SshConnection> {
    const handshakeOptions = { connectTimeoutMs: options.connectTimeoutMs, clock: options.clock };
    const chain = target.hops && target.hops.length > 0 ? await openHopChain(target.hops, target, handshakeOptions) : undefined;
    try {
      const { client, sock } = await handshake(target, chain?.stream, handshakeOptions);
      return new SshConnection(client, sock, target, options, chain);
    } catch (err) {
      chain?.close();
      throw err;
    }
  }

  get isOpen(): boolean {
    return this.closedReason === undefined && this.intendedReason === undefined;
  }

  /** Session channels in use (execs plus the SFTP session): what the server's MaxSessions counts. */
  get activeChannels(): number {
    return this.execChannels + (this.sftpSession ? 1 : 0);
  }

  onClose(cb: (reason: ConnectionCloseReason, error?: AppError) => void): () => void {
    if (this.closedReason !== undefined) {
      cb(this.closedReason, this.closeError);
      return () => undefined;
    }
    this.closeListeners.add(cb);
    return () => this.closeListeners.delete(cb);
  }

  /** Graceful close; running execs end with CONNECTION_LOST. */
  end(reason: ConnectionCloseReason = 'ended'): void {
    this.intendedReason ??= reason;
    this.client.end();
    // A peer that does not answer the disconnect must not keep the socket open.
    this.clock.setTimeout(() => this.sock.destroy(), 2_000);
  }

  /**
   * Runs a command on an exec channel. stdout/stderr are collected (bounded) unless callbacks are given. On abort or
   * timeout the promise rejects at once and the channel is signalled and closed; killing the remote process group is
   * the caller's job (OpenSSH keeps the channel until the process exits, and may ignore the signal request).
   */
  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertOpen();
    this.execChannels++;
    this.touch();
    // The channel holds a server session slot until the server closes it, which may be after we gave up on it.
    const release = once(() => {
      this.execChannels--;
      this.touch();
      this.options.onChannelFree?.();
    });
    return new Promise<ExecResult>((resolve, reject) => {
      const max = opts.maxCollectBytes ?? DEFAULT_MAX_COLLECT;
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      let truncated = false;
      let code: number | null = null;
      let signal: string | null = null;
      let sawExit = false;
      let channel: ClientChannel | undefined;
      let timer: { cancel(): void } | undefined;

      const settle = once((failure?: AppError) => {
        timer?.cancel();
        opts.signal?.removeEventListener('abort', onAbort);
        if (failure) return reject(failure);
        if (!sawExit && !this.isOpen) return reject(this.closeError ?? connectionLost(this.ctx, 'closed during the command'));
        const result: ExecResult = { code, signal };
        if (!opts.onStdout) result.stdout = Buffer.concat(out).toString('utf8');
        if (!opts.onStderr) result.stderr = Buffer.concat(err).toString('utf8');
        if (truncated) result.truncated = true;
        resolve(result);
      });
      let stopping: AppError | undefined;
      // Gives up at once; the channel is asked to signal and close, and is released when the server closes it.
      const stop = (error: AppError) => {
        stopping ??= error;
        settle(error);
        if (!channel) return;
        try {
          channel.signal('KILL');
        } catch {}
        channel.close();
      };
      const cancelled = () => new AppError(SshErrorCode.EXEC_CANCELLED, `the command on ${this.ctx.name} was cancelled`);
      const onAbort = () => stop(cancelled());
      if (opts.signal?.aborted) {
        release();
        return settle(cancelled());
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeoutMs !== undefined) {
        timer = this.clock.setTimeout(
          () =>
            stop(new AppError(SshErrorCode.EXEC_TIMEOUT, `the command on ${this.ctx.name} did not finish within ${opts.timeoutMs} ms and was stopped`)),
          opts.timeoutMs,
        );
      }
      const collect = (into: Buffer[], chunk: Buffer, used: number): number => {
        const room = max - used;
        if (room <= 0) {
          truncated = true;
          return used;
        }
        if (chunk.length > room) truncated = true;
        into.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        return used + Math.min(chunk.length, room);
      };

      try {
        // ssh2 honours a per-exec agentForward (client.js asks for auth-agent-req on this channel only); its typings omit it.
        const execOptions = { agentForward: opts.agentForward === true && this.agentForwarding } as ExecChannelOptions;
        this.client.exec(command, execOptions, (openErr, stream) => {
          if (openErr) {
            release();
            return settle(
              this.isOpen
                ? new AppError(SshErrorCode.CHANNEL_REFUSED, `${this.ctx.name} refused to open a session channel (${openErr.message}); the server's MaxSessions may be too low`)
                : (this.closeError ?? connectionLost(this.ctx, openErr.message)),
            );
          }
          channel = stream;
          stream.on('close', () => {
            release();
            settle();
          });
          if (stopping) return stop(stopping);
          stream.on('data', (chunk: Buffer) => {
            if (opts.onStdout) opts.onStdout(chunk);
            else outBytes = collect(out, chunk, outBytes);
          });
          stream.stderr.on('data', (chunk: Buffer) => {
            if (opts.onStderr) opts.onStderr(chunk);
            else errBytes = collect(err, chunk, errBytes);
          });
          stream.on('exit', (exitCode: number | null, exitSignal?: string) => {
            sawExit = true;
            code = typeof exitCode === 'number' ? exitCode : null;
            signal = exitSignal ?? null;
          });
          stream.on('error', () => undefined);
          if (opts.stdin !== undefined) stream.end(opts.stdin);
          else stream.end();
        });
      } catch (e) {
        release();
        settle(this.closeError ?? connectionLost(this.ctx, String((e as Error).message)));
      }
    });
  }

  /** The connection's SFTP session, opened once and reused. */
  sftp(): Promise<SFTPWrapper> {
    this.assertOpen();
    if (!this.sftpSession) {
      const session = new Promise<SFTPWrapper>((resolve, reject) => {
        try {
          this.client.sftp((err, sftp) => {
            if (err) return reject(new AppError(SshErrorCode.SFTP_FAILED, `${this.ctx.name} refused SFTP (${err.message}); the server needs an sftp subsystem`));
            sftp.on('close', () => {
              if (this.sftpSession === session) this.sftpSession = undefined;
              this.options.onChannelFree?.();
            });
            resolve(sftp);
          });
        } catch (e) {
          reject(this.closeError ?? connectionLost(this.ctx, String((e as Error).message)));
        }
      });
      this.sftpSession = session;
      session.catch(() => {
        if (this.sftpSession === session) this.sftpSession = undefined;
      });
    }
    return this.sftpSession;
  }

  /** Writes a file (from a local path or a buffer) and sets its mode, which the server's umask would otherwise alter. */
  async uploadFile(source: string | Buffer, remotePath: string, mode = 0o644): Promise<void> {
    await this.withSftp(remotePath, async (sftp) => {
      if (typeof source === 'string') {
        await cb<void>((done) => sftp.fastPut(source, remotePath, { mode }, (e) => done(e)));
      } else {
        await cb<void>((done) => sftp.writeFile(remotePath, source, { mode }, (e) => done(e)));
      }
      await cb<void>((done) => sftp.chmod(remotePath, mode, (e) => done(e)));
    });
  }

  /** Reads a remote file, from byte `start` when given (resuming after a reconnect). */
  readFile(remotePath: string, opts: { start?: number } = {}): Promise<Buffer> {
    return this.withSftp(remotePath, (sftp) =>
      new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const stream: Readable = sftp.createReadStream(remotePath, opts.start ? { start: opts.start } : {});
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', reject);
        stream.on('end', () => resolve(Buffer.concat(chunks)));
      }),
    );
  }

  /** File facts, or null when nothing exists at that path. */
  stat(remotePath: string): Promise<RemoteFileStat | null> {
    return this.withSftp(remotePath, async (sftp) => {
      try {
        const s = await cb<any>((done) => sftp.stat(remotePath, done));
        return { size: s.size, mode: s.mode, mtimeMs: s.mtime * 1000, isDirectory: s.isDirectory(), isFile: s.isFile() };
      } catch (e: any) {
        if (e?.code === SFTP_NO_SUCH_FILE) return null;
        throw e;
      }
    });
  }

  /** Creates a folder and its parents (like mkdir -p); existing folders are left as they are. */
  mkdirp(remotePath: string, mode = 0o755): Promise<void> {
    return this.withSftp(remotePath, async (sftp) => {
      const absolute = remotePath.startsWith('/');
      const parts = remotePath.split('/').filter((p) => p !== '' && p !== '.');
      let current = absolute ? '' : '.';
      for (const part of parts) {
        current = `${current}/${part}`;
        const path = absolute ? current : current.slice(2);
        try {
          const s = await cb<any>((done) => sftp.stat(path, done));
          if (!s.isDirectory()) throw new AppError(SshErrorCode.SFTP_FAILED, `${path} on ${this.ctx.name} exists and is not a folder`);
        } catch (e: any) {
          if (e?.code !== SFTP_NO_SUCH_FILE) throw e;
          try {
            await cb<void>((done) => sftp.mkdir(path, { mode }, (err) => done(err)));
          } catch (mkErr: any) {
            // Another channel may have created it meanwhile.
            const again = await cb<any>((done) => sftp.stat(path, done)).catch(() => null);
            if (!again?.isDirectory()) throw mkErr;
          }
        }
      }
    });
  }

  /**
   * Reverse tunnel: the server listens on remoteHost:remotePort (0 = a free port it picks) and every connection to it
   * is handed to onConnection. Keeps the connection from idling out until close().
   */
  forwardIn(remoteHost = '127.0.0.1', remotePort = 0, onConnection: TunnelConnectionHandler): Promise<ReverseTunnel> {
    this.assertOpen();
    return new Promise((resolve, reject) => {
      try {
        this.client.forwardIn(remoteHost, remotePort, (err, boundPort) => {
          if (err) {
            return reject(
              new AppError(SshErrorCode.FORWARD_REFUSED, `${this.ctx.name} refused to forward ${remoteHost}:${remotePort} (${err.message}); the server needs AllowTcpForwarding yes (or remote)`),
            );
          }
          const port = boundPort || remotePort;
          this.tunnels.set(port, onConnection);
          this.touch();
          resolve({
            remotePort: port,
            close: () =>
              new Promise<void>((done) => {
                if (!this.tunnels.delete(port)) return done();
                this.touch();
                if (!this.isOpen) return done();
                try {
                  this.client.unforwardIn(remoteHost, port, () => done());
                } catch {
                  done();
                }
              }),
          });
        });
      } catch (e) {
        reject(this.closeError ?? connectionLost(this.ctx, String((e as Error).message)));
      }
    });
  }

  /**
   * Reverse tunnel on a Unix socket (streamlocal-forward@openssh.com): the server's sshd binds socketPath (absolute;
   * it must not exist yet unless the server sets StreamLocalBindUnlink) and every connection to it is handed to
   * onConnection. Rejects with FORWARD_REFUSED where the server does not allow it (Dropbear, AllowStreamLocalForwarding
   * no, a folder it cannot write): callers fall back to forwardIn().
   */
  forwardInStreamLocal(socketPath: string, onConnection: TunnelConnectionHandler): Promise<StreamLocalTunnel> {
    this.assertOpen();
    return new Promise((resolve, reject) => {
      try {
        this.client.openssh_forwardInStreamLocal(socketPath, (err) => {
          if (err) {
            return reject(
              new AppError(SshErrorCode.FORWARD_REFUSED, `${this.ctx.name} refused to forward the Unix socket ${socketPath} (${err.message}); the server needs OpenSSH with AllowStreamLocalForwarding yes (or remote)`),
            );
          }
          this.unixTunnels.set(socketPath, onConnection);
          this.touch();
          resolve({
            socketPath,
            close: () =>
              new Promise<void>((done) => {
                if (!this.unixTunnels.delete(socketPath)) return done();
                this.touch();
                if (!this.isOpen) return done();
                try {
                  this.client.openssh_unforwardInStreamLocal(socketPath, () => done());
                } catch {
                  done();
                }
              }),
          });
        });
      } catch (e) {
        reject(this.closeError ?? connectionLost(this.ctx, String((e as Error).message)));
      }
    });
  }

  /**
   * A stream to the Unix socket socketPath on the server (direct-streamlocal@openssh.com): no process is started. Rejects
   * with FORWARD_REFUSED when the server refuses the channel (AllowStreamLocalForwarding no or local-only off, Dropbear,
   * no such socket, or one nobody listens on). The connection counts as in use until the stream closes.
   */
  openStreamLocal(socketPath: string): Promise<Duplex> {
    this.assertOpen();
    return new Promise((resolve, reject) => {
      try {
        this.client.openssh_forwardOutStreamLocal(socketPath, (err, stream) => {
          if (err) {
            return reject(
              new AppError(SshErrorCode.FORWARD_REFUSED, `${this.ctx.name} refused a connection to the Unix socket ${socketPath} (${err.message}); the server needs OpenSSH with AllowStreamLocalForwarding yes (or local) and a process listening there`),
            );
          }
          this.localStreams++;
          this.touch();
          stream.once('close', () => {
            this.localStreams--;
            this.touch();
          });
          resolve(stream);
        });
      } catch (e) {
        reject(this.closeError ?? connectionLost(this.ctx, String((e as Error).message)));
      }
    });
  }

  /**
   * One liveness round trip: a keepalive@openssh.com global request, which every OpenSSH server answers (with
   * failure) without starting a process. Resolves with the round trip in ms.
   */
  ping(timeoutMs: number): Promise<number> {
    this.assertOpen();
    const client = this.client as unknown as { _callbacks?: Array<(err: unknown) => void>; _protocol?: { ping?: () => void } };
    if (!Array.isArray(client._callbacks) || typeof client._protocol?.ping !== 'function') {
      // ssh2 changed its internals: fall back to the costlier exec of `true`.
      const started = performance.now();
      return this.exec('true', { timeoutMs }).then(() => performance.now() - started);
    }
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const timer = this.clock.setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      // Global-request replies arrive in order; ssh2 matches them to this queue the same way its own keepalive does.
      client._callbacks!.push((err) => {
        timer.cancel();
        if (err instanceof Error) reject(err);
        else resolve(performance.now() - started);
      });
      client._protocol!.ping!();
    });
  }

  private async checkLiveness(): Promise<void> {
    if (!this.isOpen || this.pingInFlight) return;
    this.pingInFlight = true;
    const sentAt = performance.now();
    try {
      this.latencyMs = await this.ping(this.options.livenessTimeoutMs);
      this.options.onLiveness?.(this.latencyMs);
    } catch {
      if (!this.isOpen) return;
      // A busy link (a large transfer queued ahead of the check) still delivers bytes: only silence means dead.
      if (this.lastReceivedAt > sentAt) return;
      const reason = `no answer to the liveness check within ${this.options.livenessTimeoutMs} ms`;
      this.closeError = connectionLost(this.ctx, reason);
      this.intendedReason ??= 'dead';
      this.options.onDead?.(reason);
      this.sock.destroy();
    } finally {
      this.pingInFlight = false;
    }
  }

  private get inUse(): boolean {
    return this.execChannels > 0 || this.sftpOps > 0 || this.localStreams > 0 || this.tunnels.size > 0 || this.unixTunnels.size > 0;
  }

  /** Re-arms the idle timer whenever use starts or stops. */
  private touch(): void {
    this.idleTimer?.cancel();
    if (this.options.idleCloseMs > 0 && !this.inUse && this.isOpen) {
      this.idleTimer = this.clock.setTimeout(() => {
        if (!this.inUse) this.end('idle');
      }, this.options.idleCloseMs);
    }
  }

  private async withSftp<T>(remotePath: string, work: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    const sftp = await this.sftp();
    this.sftpOps++;
    this.touch();
    try {
      return await work(sftp);
    } catch (e: any) {
      if (e instanceof AppError) throw e;
      if (!this.isOpen) throw this.closeError ?? connectionLost(this.ctx, String(e?.message ?? e));
      throw new AppError(SshErrorCode.SFTP_FAILED, `SFTP on ${this.ctx.name} failed for ${remotePath}: ${e?.message ?? e}`);
    } finally {
      this.sftpOps--;
      this.touch();
    }
  }

  private assertOpen(): void {
    if (!this.isOpen) throw this.closeError ?? connectionLost(this.ctx, 'the connection was closed');
  }

  private markClosed(): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = this.intendedReason ?? 'lost';
    if (this.closedReason === 'lost') this.closeError ??= connectionLost(this.ctx, 'the server or the network closed it');
    this.livenessTimer?.cancel();
    this.idleTimer?.cancel();
    this.tunnels.clear();
    this.unixTunnels.clear();
    for (const listener of this.closeListeners) listener(this.closedReason, this.closeError);
    this.closeListeners.clear();
  }
}

function once<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let called = false;
  return (...args) => {
    if (called) return;
    called = true;
    fn(...args);
  };
}

function cb<T>(start: (done: (err: any, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value as T))));
}
