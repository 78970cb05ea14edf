/**
 * SshPool: the one place the app gets SSH connections from. Reuses a connection per server, multiplexes channels on
 * it, opens another only when the open ones carry too many channels (up to a bound per server), checks liveness, closes
 * idle connections, and reconnects on the next use after a loss. It asks the resolver for the target (and its
 * credentials) at each new connection and keeps no credential itself (parsed keys: parsed-keys.ts, cleared at close).
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock';
import { AppError } from '../errors';
import { SshConnection } from './ssh-connection';
import { SshErrorCode } from './errors';
import { parsedKeys } from './parsed-keys';
import type { ExecOptions, ExecResult, SshConnectionEvent, SshTargetResolver } from './types';

export interface SshPoolOptions {
  /** Connections per server at most (default 4). */
  maxConnectionsPerServer?: number;
  /** Session channels per connection before another connection is opened (default 8, below OpenSSH's MaxSessions 10). */
  maxChannelsPerConnection?: number;
  /** Close a connection unused this long (default 120 s; 0 = never). */
  idleCloseMs?: number;
  /** Liveness check period (default 15 s; 0 = off). */
  livenessIntervalMs?: number;
  /** A liveness check unanswered this long marks the connection dead (default 10 s). */
  livenessTimeoutMs?: number;
  /** Bound on connect + handshake + authentication (default 10 s). */
  connectTimeoutMs?: number;
  /** The connections' timers (connect, exec, liveness, idle) run on it (default: the system clock). */
  clock?: Clock;
  onConnectionEvent?: (event: SshConnectionEvent) => void;
}

interface ServerSlot {
  connections: SshConnection[];
  opening: Promise<void> | undefined;
  /** Callers waiting for a channel to free up when every connection is full and the bound is reached. */
  waiters: Array<() => void>;
}

export class SshPool {
  private readonly servers = new Map<string, ServerSlot>();
  private readonly opts: Required<Omit<SshPoolOptions, 'onConnectionEvent' | 'clock'>>;
  private closed = false;

  constructor(
    private readonly resolver: SshTargetResolver,
    private readonly options: SshPoolOptions = {},
  ) {
    this.opts = {
      maxConnectionsPerServer: options.maxConnectionsPerServer ?? 4,
      maxChannelsPerConnection: options.maxChannelsPerConnection ?? 8,
      idleCloseMs: options.idleCloseMs ?? 120_000,
      livenessIntervalMs: options.livenessIntervalMs ?? 15_000,
      livenessTimeoutMs: options.livenessTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    };
  }

  /** An open connection to the server with a free channel, connecting (once, for all concurrent callers) if needed. */
  async acquire(serverId: string): Promise<SshConnection> {
    for (;;) {
      const connection = this.pick(serverId);
      if (connection) return connection;
      await this.grow(serverId);
    }
  }

  /**
   * Runs a command on a pooled connection. The channel is claimed in the same tick the connection is picked, so a
   * burst of calls spreads over connections instead of overfilling one.
   */
  async exec(serverId: string, command: string, opts?: ExecOptions): Promise<ExecResult> {
    for (;;) {
      const connection = this.pick(serverId);
      if (connection) return connection.exec(command, opts);
      await this.grow(serverId);
    }
  }

  /** The server's open connections (for status displays and tests). */
  connectionsOf(serverId: string): readonly SshConnection[] {
    return this.servers.get(serverId)?.connections.filter((c) => c.isOpen) ?? [];
  }

  /** Closes the server's connections: call after its address, credentials or pinned key changed. */
  invalidate(serverId: string): void {
    const slot = this.servers.get(serverId);
    if (!slot) return;
    for (const connection of slot.connections) connection.end('invalidated');
    slot.connections = [];
  }

  closeAll(): void {
    this.closed = true;
    parsedKeys.clear();
    for (const serverId of this.servers.keys()) this.invalidate(serverId);
    for (const slot of this.servers.values()) for (const wake of slot.waiters.splice(0)) wake();
  }

  private slot(serverId: string): ServerSlot {
    let slot = this.servers.get(serverId);
    if (!slot) {
      slot = { connections: [], opening: undefined, waiters: [] };
      this.servers.set(serverId, slot);
    }
    return slot;
  }

  /** Synchronous choice: the least-loaded open connection with a free channel, or undefined. */
  private pick(serverId: string): SshConnection | undefined {
    if (this.closed) throw new AppError(SshErrorCode.POOL_CLOSED, 'the SSH pool is shutting down; no new connection is made');
    const slot = this.slot(serverId);
    slot.connections = slot.connections.filter((c) => c.isOpen);
    let best: SshConnection | undefined;
    for (const c of slot.connections) {
      if (c.activeChannels < this.opts.maxChannelsPerConnection && (!best || c.activeChannels < best.activeChannels)) best = c;
    }
    return best;
  }

  /** Makes room: joins a connect in progress, opens a connection if under the bound, or waits for a channel to free. */
  private async grow(serverId: string): Promise<void> {
    const slot = this.slot(serverId);
    if (slot.opening) return slot.opening;
    if (slot.connections.length >= this.opts.maxConnectionsPerServer) {
      return new Promise<void>((resolve) => slot.waiters.push(resolve));
    }
    const opening = this.open(serverId, slot).finally(() => {
      if (slot.opening === opening) slot.opening = undefined;
    });
    slot.opening = opening;
    return opening;
  }

  private async open(serverId: string, slot: ServerSlot): Promise<void> {
    const started = performance.now();
    let connection: SshConnection;
    try {
      const target = await this.resolver(serverId);
      let id = '';
      connection = await SshConnection.open(target, {
        connectTimeoutMs: this.opts.connectTimeoutMs,
        livenessIntervalMs: this.opts.livenessIntervalMs,
        livenessTimeoutMs: this.opts.livenessTimeoutMs,
        idleCloseMs: this.opts.idleCloseMs,
        clock: this.options.clock,
        onLiveness: (latencyMs) => this.emit({ type: 'liveness', serverId, connectionId: id, latencyMs }),
        onDead: (reason) => this.emit({ type: 'dead', serverId, connectionId: id, reason }),
        // A freed channel may let in a caller that waits because every connection is full.
        onChannelFree: () => this.wake(slot),
      });
      id = connection.id;
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('INTERNAL', String(err));
      this.emit({ type: 'connect-failed', serverId, code: e.code, message: e.message });
      throw err;
    }
    if (this.closed) {
      connection.end('invalidated');
      return;
    }
    slot.connections.push(connection);
    this.emit({ type: 'connected', serverId, connectionId: connection.id, connectMs: performance.now() - started });
    connection.onClose((reason) => {
      slot.connections = slot.connections.filter((c) => c !== connection);
      this.emit({ type: 'closed', serverId, connectionId: connection.id, reason });
      this.wake(slot);
    });
  }

  private wake(slot: ServerSlot): void {
    for (const wake of slot.waiters.splice(0)) wake();
  }

  private emit(event: SshConnectionEvent): void {
    try {
      this.options.onConnectionEvent?.(event);
    } catch {
      // a listener's failure must not break the connection it was told about
    }
  }
}
