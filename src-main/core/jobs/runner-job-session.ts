/**
 * RunnerJobSession: the app's side of one runner job while this process drives it: the SSH link (a pooled
 * connection, a reverse tunnel on the server's loopback to the listener), the runner's socket (hello -> welcome ->
 * env, log batches into the LogAggregator, acks once lines are committed, helper calls, exit), and everything that
 * keeps the job whole when the link fails: the log goes PARTIAL with a 'system' line, the session re-opens a tunnel
 * with backoff and runs `cronium-runner attach`, the runner replays from the last stored line, the log goes back to
 * STREAMING and ends in its final state. Cancel and timeout reach the runner (socket, or `cancel` over SSH).
 * It never ends a job because a link failed, and never writes a job's status (the JobService does, from `result`).
 * With streaming logs off (the ssh_runner_streaming_logs flag, read by the mode policy) the runner's live lines are
 * not stored as they come: when the runner reports the exit, the session asks it to replay its spool from the last
 * stored line and stores the whole log then (complete, in order), before the job ends.
 */
import type { SshConnection } from '../ssh/ssh-connection';
import { pipeToLocal } from '../ssh/ssh-connection';
import type { SshPool } from '../ssh/ssh-pool';
import type { LocalListener } from '../listener/local-listener';
import type { ListenerAuth } from '../listener/auth';
import type { RunnerChannel, RunnerStreamHub } from '../listener/runner-websocket';
import type { LogStore } from '../logs/log-store';
import { LogAggregator } from '../logs/log-aggregator';
import type { Metrics } from '../metrics/metrics';
import type { SettingsService } from '../settings/settings-service';
import type { EventBus } from '../event-bus';
import type { VariablesService } from '../variables/variables-service';
import type { JobHelpers, VariableHelperJob } from '../execution/job-helpers';
import { backoffDelay } from '../backoff';
import { every, sleep, withTimeout, type Clock } from '../clock';
import { AppError, isAppError, messageOf } from '../errors';
import type { CompatibleRunner, IntegrityCheckpoint } from '../runners/runner-service';
import { INTEGRITY_EXIT_CODE, integrityGuard, integrityMismatch } from '../runners/runner-integrity';
import { PAYLOAD_MISSING_EXIT_CODE } from '../payloads/payload-service';
import type { JobLinks } from '../runners/job-links';
import { JobHostError, type JobHost, type JobHosts } from '../runners/job-hosts';
import { MAX_SOCKET_PATH_BYTES } from '../../../src-shared/protocol/job-host';
import { describeJobLink } from '../../../src-shared/contract/jobs';
import type { ExecutionResult, LogSink } from './executor';
import { shellQuote } from '../ssh/shell-quote';
import type { LogStatus } from '../../../src-shared/contract/logs';
import { CHANNEL_AUTH_CAPABILITY, channelProof, checkChannelProof, randomToken, sealForChannel } from '../../../src-shared/protocol/channel-auth';
import {
  HelperArgs,
  LOG_COLUMNS_CAPABILITY,
  LOG_COLUMNS_FORMAT,
  RunnerJobStatus,
  type HelperOp,
  type RunnerStartFile,
  type RunnerToApp,
} from '../../../src-shared/protocol/runner-wire';

/** The code a session rejects `result` with when the app stops: the job keeps running on the server, untouched. */
export const JOB_DETACHED = 'JOB_DETACHED';
/** How long a connection has to prove the job key after its challenge. */
const CHALLENGE_TIMEOUT_MS = 10_000;
/** How long the exec that starts (or re-attaches) a runner may take; it returns as soon as the runner is detached. */
const START_EXEC_TIMEOUT_MS = 20_000;
/** How long opening a reverse tunnel (Unix socket or TCP) may take. */
const TUNNEL_OPEN_TIMEOUT_MS = 10_000;
/** The tunnel's Unix socket, inside the job's 0700 folder on the server. */
const TUNNEL_SOCKET = 'tunnel.sock';
/** The start exec's exit code when $HOME is not the one known for the server (nothing was started). */
const HOME_CHANGED_EXIT_CODE = 95;
/** Per SSH pool: the home of each server where an earlier job's Unix-socket tunnel worked (absolute, from $HOME). */
const homesByPool = new WeakMap<SshPool, Map<string, string>>();
function knownHomes(pool: SshPool): Map<string, string> {
  let homes = homesByPool.get(pool);
  if (!homes) homesByPool.set(pool, (homes = new Map()));
  return homes;
}

export interface RunnerSessionDeps {
  /** Where the job's link state is shown ("link lost at 14:02:11, reconnecting (attempt 3)"). */
  links?: JobLinks;
  /** Every wait, timeout and timestamp of the session (the core's Clock). */
  clock: Clock;
  /** Settles a runner file that failed its integrity guard (RunnerService); without it such a job fails. */
  runnerIntegrity?: { settleIntegrity(runner: CompatibleRunner, where: IntegrityCheckpoint): Promise<CompatibleRunner> };
  ssh: SshPool;
  listener: LocalListener;
  hub: RunnerStreamHub;
  auth: ListenerAuth;
  logs: LogStore;
  metrics: Metrics;
  settings: SettingsService;
  bus: EventBus;
  variables: VariablesService;
  /** The `event` helper's answer (shared with the listener's helper routes). */
  helpers: JobHelpers;
  /** Whether runner lines are stored as they arrive (ssh_runner_streaming_logs, as the mode policy reads it). */
  streamingLogs: () => boolean;
  /** The job hosts (one resident runner per server that starts jobs without an exec); without it every job starts with one. */
  jobHosts?: JobHosts;
}

/** The payload a new job runs: its checksum, the start exec's presence check, and how to place it when missing. */
export interface StartPayload {
  checksum: string;
  check: string;
  place: () => Promise<unknown>;
}

export interface RunnerSessionOptions {
  /** Runner tokens live this long; each welcome hands the runner a fresh one. */
  tokenTtlSeconds: number;
  /** How long a started (or re-attached) runner has to say hello. */
  helloTimeoutMs: number;
  /** After the runner's socket closes with the SSH link still up, how long it has to reconnect by itself. */
  socketGraceMs: number;
  /** Between TERM and KILL of the script's process group on cancel or timeout. */
  cancelGraceMs: number;
  reattachMinDelayMs: number;
  reattachMaxDelayMs: number;
}

export interface RunnerSessionInit {
  jobId: string;
  serverId: string;
  serverName: string;
  attempt: number;
  /** `content` (the script) picks the secret variables the job uses; without it, every one the event can read. */
  event: { id: string | null; name: string; version: number; timeoutSeconds: number; content?: string };
  runner: CompatibleRunner;
  sink: LogSink;
  /** Runner lines already in the log (resume); 0 for a new attempt. */
  initialRunnerSeq: number;
  initialLogStatus: LogStatus;
  secrets: Record<string, string>;
  /** Run-time parameters (CRONIUM_OPT_*): plain ones set as environment; secret ones travel with `secrets`. */
  parameterEnv?: Record<string, string>;
  input: unknown;
  signal: AbortSignal;
  /** When the job started (the timeout counts from here). */
  startedAtMs: number;
}

export class RunnerJobSession {
  readonly result: Promise<ExecutionResult>;
  /** The process supervising the job: its own `run` process, or (started through a job host) the host's pid. */
  remotePid: number | null = null;
  /** The job host this job was started through, if any (kept in the runner metadata as `jobHost`). */
  hostedBy: string | null = null;

  private resolveResult!: (r: ExecutionResult) => void;
  private rejectResult!: (e: unknown) => void;
  private readonly aggregator: LogAggregator;
  private readonly unexpect: () => void;
  /** Runner tokens of this job are accepted until this is called (dispose). */
  private readonly closeTokens: () => void;
  /** The job key (channel-auth.ts): handed to the runner in the start/attach file, proved by both ends per connection. */
  private channelKey = randomToken();
  /** Connections that said hello and were challenged, until they prove the job key (or close). */
  private readonly challenged = new Map<RunnerChannel, { hello: Extract<RunnerToApp, { type: 'hello' }>; runnerNonce: string; appNonce: string }>();
  /** Connections refused because they did not prove the job key (diagnostics and tests). */
  refusedConnections = 0;
  private conn: SshConnection | null = null;
  private tunnel: { close(): Promise<void> } | null = null;
  /** Where the open tunnel ends on the server: the job folder's Unix socket, or a loopback port (the fallback). */
  private tunnelTarget: { socket: string } | { port: number } | null = null;
  /** How the last tunnel was opened ('unix-socket' or 'tcp', and why), kept in the job's runner metadata. */
  private tunnelKind: { kind: 'unix-socket' | 'tcp'; reason?: string } | null = null;
  /** The server refused streamlocal forwarding once: this session uses the TCP fallback from then on. */
  private streamLocalRefused = false;
  private offConnClose: (() => void) | null = null;
  private channel: RunnerChannel | null = null;
  private helloWaiters: Array<() => void> = [];
  private finished = false;
  private reattaching = false;
  private stopKind: 'cancel' | 'timeout' | null = null;
  private logStatus: LogStatus;
  private recovering = false;
  private replayAskedFrom = -1;
  private lastActivity: number;
  private silenceReported = false;
  private output: unknown = undefined;
  private condition: boolean | null = null;
  private reattachments = 0;
  /** When the link was lost (clock ms); null while it is up. */
  private lostAt: number | null = null;
  private runnerInfo: Record<string, unknown> = {};
  private readonly timers = new Set<{ cancel(): void }>();
  private socketGrace: { cancel(): void } | undefined;
  private readonly closeWaiters = new Map<RunnerChannel, () => void>();
  private readonly dir: string;
  private readonly onAbort: () => void;
  /** The runner this session uses; replaced when an integrity check redeploys it during a re-attach. */
  private runner: CompatibleRunner;
  /** Streaming logs on: lines are stored as they arrive. Off: only once the runner has exited (collecting). */
  private readonly streaming: boolean;
  private collecting = false;

  constructor(
    private readonly deps: RunnerSessionDeps,
    private readonly o: RunnerSessionOptions,
    private readonly init: RunnerSessionInit,
  ) {
    this.result = new Promise((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // Callers await `result` only after start(); a rejection before that must not count as unhandled.
    this.result.catch(() => undefined);
    this.dir = `"$HOME/.cronium/jobs/${init.jobId}"`;
    this.runner = init.runner;
    this.lastActivity = deps.clock.now();
    this.logStatus = init.initialLogStatus;
    this.streaming = deps.streamingLogs();
    this.aggregator = new LogAggregator(init.sink, deps.logs, deps.metrics, init.initialRunnerSeq);
    this.aggregator.onDurable((upTo) => this.channel?.send({ type: 'ack', upTo }));
    this.closeTokens = deps.auth.openJob(init.jobId, init.serverId);
    this.unexpect = deps.hub.expect(init.jobId, {
      onOpen: () => undefined,
      onMessage: (ch, msg) => this.onMessage(ch, msg),
      onClose: (ch, why, silent) => this.onChannelClosed(ch, why, silent === true),
      onPostedLines: (lines) => {
        this.lastActivity = this.deps.clock.now();
        if (!this.takesLines()) return { accepted: 0, duplicates: 0, gap: false, resumeFrom: this.aggregator.lastRunnerSeq };
        const r = this.aggregator.accept(lines);
        return { ...r, resumeFrom: this.aggregator.lastRunnerSeq };
      },
    });
    this.onAbort = () => {
      const reason = init.signal.reason;
      if (isAppError(reason) && reason.code === 'APP_STOPPING') this.detach();
      else this.requestStop('cancel');
    };
    init.signal.addEventListener('abort', this.onAbort, { once: true });
    const timeoutAt = init.startedAtMs + init.event.timeoutSeconds * 1000;
    // One tick a second checks the timeout and LOG_STREAM_TIMEOUT (a single long timer would overflow past 24.8 days).
    this.every(1000, () => {
      if (this.deps.clock.now() >= timeoutAt) this.requestStop('timeout');
      this.watchSilence();
    }, true);
  }

  // ---- starting and re-attaching ----------------------------------------------------------------------------------

  /**
   * Starts the runner for a new job and waits for its hello. Throws (nothing of the script ran) when it cannot.
   * `payload.check` (PayloadService.presenceCheck) runs in the start exec; when it finds the payload missing, the
   * session has it placed (`payload.place`, SFTP) and runs the start exec once more.
   */
  async start(payload: StartPayload, payloadPublicKey: string): Promise<void> {
    try {
      const hosts = this.deps.jobHosts;
      const host = hosts?.ready(this.init.serverId, this.runner);
      if (hosts && host && (await this.startThroughHost(hosts, host, payload, payloadPublicKey))) return;
      const home = knownHomes(this.deps.ssh).get(this.init.serverId);
      if (home !== undefined && (await this.startWithKnownHome(home, payload, payloadPublicKey))) {
        hosts?.launchSoon(this.init.serverId, this.runner);
        return;
      }
      await this.openLink(false);
      const start = await this.startFile(this.openTunnelTarget(), payloadPublicKey);
      const r = await this.execStart(this.liveConn(), '', `mkdir -p "$d" && `, payload, start);
      await this.startedOrThrow(r);
      // This server's home is known from now on: its next jobs open their tunnel after the start exec (one exec less).
      const target = this.tunnelTarget;
      const suffix = `/.cronium/jobs/${this.init.jobId}/${TUNNEL_SOCKET}`;
      if (target && 'socket' in target && target.socket.endsWith(suffix)) knownHomes(this.deps.ssh).set(this.init.serverId, target.socket.slice(0, -suffix.length));
      // In the background, never in this job's way: the next jobs on this server start through a job host (which
      // needs the Unix-socket forwarding this job's tunnel just used).
      if (this.tunnelKind?.kind === 'unix-socket') hosts?.launchSoon(this.init.serverId, this.runner);
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  /**
   * The start when this server's home is known (an earlier job of this app found it): one exec creates the job's
   * 0700 folder, writes start.json naming the tunnel's socket there and starts the runner; the tunnel is opened right
   * after, while the runner starts (it retries its connection until the socket is there). The exec refuses (exit 95,
   * nothing started) when $HOME is not the known one; the caller then starts the usual way. Returns whether it started.
   */
  private async startWithKnownHome(home: string, payload: StartPayload, payloadPublicKey: string): Promise<boolean> {
    const socket = `${home}/.cronium/jobs/${this.init.jobId}/${TUNNEL_SOCKET}`;
    if (this.streamLocalRefused || Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES || /[\n\r]/.test(home)) return false;
    const conn = await this.deps.ssh.acquire(this.init.serverId);
    const start = await this.startFile({ socket }, payloadPublicKey);
    const r = await this.execStart(conn, `[ "$HOME" = ${shellQuote(home)} ] || exit ${HOME_CHANGED_EXIT_CODE}; `, `mkdir -p "$d" && chmod 700 "$d" && rm -f "$d/${TUNNEL_SOCKET}" && `, payload, start);
    if (r.code === HOME_CHANGED_EXIT_CODE) {
      knownHomes(this.deps.ssh).delete(this.init.serverId);
      return false;
    }
    await this.startedOrThrow(r, async () => {
      let tunnel: { close(): Promise<void> };
      try {
        tunnel = await this.openSocketTunnel(conn, socket);
      } catch (err) {
        // The next job on this server starts the usual way again (which falls back to a TCP tunnel when refused).
        knownHomes(this.deps.ssh).delete(this.init.serverId);
        if (isAppError(err) && err.code === 'FORWARD_REFUSED') this.streamLocalRefused = true;
        throw err;
      }
      if (!this.adoptLink(conn, tunnel, { socket })) {
        await tunnel.close();
        throw this.linkGone();
      }
    });
    return true;
  }

  /**
   * The start through this server's job host: one control connection (no exec) proves the host and hands it the
   * sealed start file; its supervisor then connects to the job's tunnel, opened right after. Any failure before the
   * host said host-started forgets the host and returns false: the caller starts the job with the exec, as without a
   * host. After host-started it behaves as the exec start, except that a runner that never says hello is abandoned
   * through the host (host-abandon), never killed by pid (the pid is the host's, which runs other jobs).
   */
  private async startThroughHost(hosts: JobHosts, host: JobHost, payload: StartPayload, payloadPublicKey: string): Promise<boolean> {
    const socket = `${host.home}/.cronium/jobs/${this.init.jobId}/${TUNNEL_SOCKET}`;
    if (this.streamLocalRefused || Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) return false;
    const conn = await this.deps.ssh.acquire(this.init.serverId);
    const start = await this.startFile({ socket }, payloadPublicKey);
    try {
      let answer = await hosts.start(conn, host, this.init.jobId, payload.checksum, start);
      if (answer === 'payload-missing') {
        // Placement failing, or the host still missing it, is the exec start's to report (it places it once more).
        if (!(await payload.place().then(() => true, () => false))) return false;
        answer = await hosts.start(conn, host, this.init.jobId, payload.checksum, start);
        if (answer === 'payload-missing') return false;
      }
    } catch (err) {
      if (err instanceof JobHostError && err.afterRequest) {
        // The host may have started it without saying so: that supervisor can never prove the job key from now on
        // (a new one is made), so it never gets the environment, and it is asked to end. Only a host that answers it
        // had no such job lets the exec start it; otherwise the job's folder may be in use and the start fails.
        this.channelKey = randomToken();
        const ended = await hosts.abandon(host, this.init.jobId);
        hosts.forget(host, messageOf(err));
        if (ended !== false) {
          throw new AppError('RUNNER_START_FAILED', `the job host on ${this.init.serverName} did not confirm the start (${messageOf(err)}); nothing of the script ran, run it again`);
        }
        return false;
      }
      hosts.forget(host, messageOf(err), isAppError(err) && err.code === 'FORWARD_REFUSED');
      return false;
    }
    this.remotePid = host.pid;
    this.hostedBy = host.hostId;
    const abandon = () => hosts.abandon(host, this.init.jobId);
    let tunnel: { close(): Promise<void> };
    try {
      tunnel = await this.openSocketTunnel(conn, socket);
    } catch (err) {
      await abandon();
      if (isAppError(err) && err.code === 'FORWARD_REFUSED') this.streamLocalRefused = true;
      throw err;
    }
    if (!this.adoptLink(conn, tunnel, { socket })) {
      await tunnel.close();
      await abandon();
      throw this.linkGone();
    }
    if (!(await this.waitHello(this.o.helloTimeoutMs))) {
      // A hello arriving while the host is asked can no longer prove the job key: it never gets the environment.
      this.channelKey = randomToken();
      await abandon();
      throw new AppError(
        'RUNNER_START_FAILED',
        `the job's runner in the job host (pid ${host.pid}) did not connect back within ${this.o.helloTimeoutMs / 1000} s; see ~/.cronium/jobhost/${host.hostId}.out on ${this.init.serverName}`,
      );
    }
    return true;
  }

  /** start.json of a new job: where its tunnel ends, its token, the keys it checks the payload and the channel with. */
  private async startFile(target: { socket: string } | { port: number }, payloadPublicKey: string): Promise<RunnerStartFile> {
    return { token: await this.mintToken(), ...target, payloadPublicKey, channelKey: this.channelKey, bufferSize: this.deps.settings.current().streaming.bufferSize };
  }

  /**
   * The start exec: the integrity guard first (a runner file that is not the deployed one never runs), then `pre`,
   * the payload's presence check, the job folder (`mkdir`), start.json from stdin and the detached runner. When the
   * payload is missing it is placed and the exec runs once more.
   */
  private async execStart(conn: SshConnection, pre: string, mkdir: string, payload: StartPayload, start: RunnerStartFile) {
    const cmd =
      `${integrityGuard(this.runner)}umask 077; ${pre}${payload.check}d=${this.dir}; ${mkdir}cat > "$d/start.json" && ` +
      `( setsid nohup ${this.runner.command} run --job ${shellQuote(this.init.jobId)} --payload ${shellQuote(payload.checksum)} > "$d/runner.out" 2>&1 < /dev/null & echo $! )`;
    const r = await conn.exec(cmd, { stdin: JSON.stringify(start), timeoutMs: START_EXEC_TIMEOUT_MS });
    if (r.code !== PAYLOAD_MISSING_EXIT_CODE) return r;
    await payload.place();
    const again = await conn.exec(cmd, { stdin: JSON.stringify(start), timeoutMs: START_EXEC_TIMEOUT_MS });
    if (again.code === PAYLOAD_MISSING_EXIT_CODE) {
      throw new AppError('RUNNER_START_FAILED', `payload ${payload.checksum} is still missing on ${this.init.serverName} after its upload; check the free space and permissions of ~/.cronium/payloads there`);
    }
    return again;
  }

  /**
   * After the start exec: the runner's pid, `link` (the tunnel, when it is opened after the start), then its hello.
   * Throws (the runner killed, nothing of the script ran: it waits for the app's env) when any of it fails.
   */
  private async startedOrThrow(r: { code: number | null; signal?: string | null; stdout?: string; stderr?: string }, link?: () => Promise<void>): Promise<void> {
    if (r.code === INTEGRITY_EXIT_CODE && this.runner.fingerprint) throw integrityMismatch(this.init.serverName, this.runner, r.stderr ?? '');
    const pid = Number((r.stdout ?? '').trim().split('\n').pop());
    if (r.code !== 0 || !Number.isInteger(pid) || pid <= 0) {
      throw new AppError('RUNNER_START_FAILED', `the runner did not start (exit ${r.code ?? r.signal}): ${(r.stderr ?? '').trim().slice(0, 300) || 'no message'}`);
    }
    this.remotePid = pid;
    const kill = () => this.deps.ssh.exec(this.init.serverId, `kill ${pid} 2>/dev/null; true`, { timeoutMs: 5_000 }).catch(() => undefined);
    if (link) {
      try {
        await link();
      } catch (err) {
        await kill();
        throw err;
      }
    }
    if (!(await this.waitHello(this.o.helloTimeoutMs))) {
      // A hello arriving while the runner is killed can no longer prove the job key: it never gets the environment.
      this.channelKey = randomToken();
      await kill();
      throw new AppError(
        'RUNNER_START_FAILED',
        `the runner (pid ${pid}) did not connect back within ${this.o.helloTimeoutMs / 1000} s; see ~/.cronium/jobs/${this.init.jobId}/runner.out on ${this.init.serverName}`,
      );
    }
  }

  /** Re-attaches to a job started earlier (app restart): keeps trying until the runner says hello or the job ends. */
  resume(): void {
    void this.reattachLoop();
  }

  private async openLink(prove: boolean): Promise<void> {
    let conn = await this.deps.ssh.acquire(this.init.serverId);
    if (prove) {
      // A connection can look open while its link is a black hole: it must answer before it carries the job again.
      try {
        await conn.ping(3_000);
      } catch {
        conn.end('dead');
        conn = await this.deps.ssh.acquire(this.init.serverId);
      }
    }
    const { tunnel, target } = await this.openTunnel(conn, !prove);
    if (!this.adoptLink(conn, tunnel, target)) await tunnel.close();
  }

  /** The link this session uses from now on (its loss starts a re-attach); false when the session already finished. */
  private adoptLink(conn: SshConnection, tunnel: { close(): Promise<void> }, target: { socket: string } | { port: number }): boolean {
    if (this.finished) return false;
    this.conn = conn;
    this.tunnel = tunnel;
    this.tunnelTarget = target;
    this.offConnClose = conn.onClose(() => this.linkLost('the SSH connection closed'));
    return true;
  }

  /** A reverse tunnel from the Unix socket `socket` on the server to the listener. */
  private async openSocketTunnel(conn: SshConnection, socket: string): Promise<{ close(): Promise<void> }> {
    const tunnel = await this.timeLimit(conn.forwardInStreamLocal(socket, pipeToLocal(this.deps.listener.port)), TUNNEL_OPEN_TIMEOUT_MS, 'opening the reverse tunnel');
    this.tunnelKind = { kind: 'unix-socket' };
    return tunnel;
  }

  /**
   * Opens the reverse tunnel. Preferred: a Unix socket inside the job's 0700 folder, which only this Unix user (and
   * root) can connect to. One exec creates the folder 0700 (a new job) or checks it is there (re-attach), removes a
   * stale socket (sshd does not replace one unless StreamLocalBindUnlink is set) and prints the folder's absolute path.
   * Where the server refuses streamlocal forwarding (Dropbear, AllowStreamLocalForwarding no) or the path is too long
   * for a socket, the tunnel is a loopback TCP port, protected by the channel handshake alone.
   */
  private async openTunnel(conn: SshConnection, createFolder: boolean): Promise<{ tunnel: { close(): Promise<void> }; target: { socket: string } | { port: number } }> {
    const toListener = pipeToLocal(this.deps.listener.port);
    let reason = this.streamLocalRefused ? 'the server refused Unix-socket forwarding earlier in this job' : '';
    if (!reason) {
      const make = createFolder ? `{ mkdir -p "$d" && chmod 700 "$d"; }` : 'false';
      const r = await conn.exec(`umask 077; d=${this.dir}; if [ -d "$d" ] || ${make}; then rm -f "$d/${TUNNEL_SOCKET}" && printf '%s' "$d"; fi`, { timeoutMs: 10_000 });
      const folder = (r.stdout ?? '').trim();
      const socket = `${folder}/${TUNNEL_SOCKET}`;
      if (r.code !== 0 || !folder.startsWith('/')) reason = `the job folder could not be prepared (exit ${r.code ?? r.signal})`;
      else if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) reason = `the socket path would be longer than ${MAX_SOCKET_PATH_BYTES} bytes`;
      else {
        try {
          return { tunnel: await this.openSocketTunnel(conn, socket), target: { socket } };
        } catch (err) {
          if (!(isAppError(err) && err.code === 'FORWARD_REFUSED')) throw err;
          this.streamLocalRefused = true;
          reason = err.message;
        }
      }
    }
    const tunnel = await this.timeLimit(conn.forwardIn('127.0.0.1', 0, toListener), TUNNEL_OPEN_TIMEOUT_MS, 'opening the reverse tunnel');
    if (this.tunnelKind?.kind !== 'tcp') this.init.sink.system(`the runner's tunnel is a loopback TCP port (protected by the channel handshake): ${reason}`);
    this.tunnelKind = { kind: 'tcp', reason };
    return { tunnel, target: { port: tunnel.remotePort } };
  }

  /**
   * The tunnel openLink() just opened. The session can finish (cancel, timeout, app stopping) or lose its link while
   * the link is opening; the runner is then not started and the caller gets a clear error.
   */
  private openTunnelTarget(): { socket: string } | { port: number } {
    if (this.finished || !this.tunnel || !this.tunnelTarget) throw this.linkGone();
    return this.tunnelTarget;
  }

  private liveConn(): SshConnection {
    if (this.finished || !this.conn) throw this.linkGone();
    return this.conn;
  }

  private linkGone(): AppError {
    return this.finished
      ? new AppError('RUNNER_JOB_ENDED', `job ${this.init.jobId} ended while the link to ${this.init.serverName} was opening; the runner was not started`)
      : new AppError('RUNNER_LINK_LOST', `the link to ${this.init.serverName} closed while it was opening; try again when the server is reachable`);
  }

  private async closeLink(): Promise<void> {
    this.offConnClose?.();
    this.offConnClose = null;
    const tunnel = this.tunnel;
    this.tunnel = null;
    this.tunnelTarget = null;
    this.conn = null;
    if (tunnel) await this.timeLimit(tunnel.close(), 3_000, 'closing the tunnel').catch(() => undefined);
  }

  private async attachOnce(): Promise<void> {
    await this.closeLink();
    await this.openLink(true);
    const target = this.openTunnelTarget();
    const file: RunnerStartFile = { token: await this.mintToken(), ...target, channelKey: this.channelKey };
    const where = 'socket' in target ? `--socket ${shellQuote(target.socket)}` : `--port ${target.port}`;
    const cmd = `${integrityGuard(this.runner)}umask 077; d=${this.dir}; [ -d "$d" ] || exit 3; cat > "$d/attach.json" && ${this.runner.command} attach --job ${shellQuote(this.init.jobId)} ${where}`;
    const r = await this.liveConn().exec(cmd, { stdin: JSON.stringify(file), timeoutMs: START_EXEC_TIMEOUT_MS });
    if (r.code === INTEGRITY_EXIT_CODE && this.runner.fingerprint) throw integrityMismatch(this.init.serverName, this.runner, r.stderr);
    if (r.code === 3) {
      throw new AppError('RUNNER_JOB_GONE', `${this.init.serverName} has no record of this job any more (~/.cronium/jobs/${this.init.jobId} is gone)`);
    }
    const status = RunnerJobStatus.safeParse(safeJson((r.stdout ?? '').trim().split('\n').pop() ?? ''));
    if (r.code !== 0 || !status.success) {
      throw new AppError('RUNNER_ATTACH_FAILED', `cronium-runner attach failed on ${this.init.serverName} (exit ${r.code ?? r.signal}): ${(r.stderr ?? '').trim().slice(0, 300)}`);
    }
    if (!(await this.waitHello(this.o.helloTimeoutMs))) {
      throw new AppError('RUNNER_ATTACH_FAILED', `the runner on ${this.init.serverName} did not connect back within ${this.o.helloTimeoutMs / 1000} s after attach`);
    }
  }

  private async reattachLoop(): Promise<void> {
    if (this.reattaching || this.finished) return;
    this.reattaching = true;
    const backoff = { kind: 'exponential', initialMs: this.o.reattachMinDelayMs, maxMs: this.o.reattachMaxDelayMs } as const;
    let failures = 0;
    try {
      while (!this.finished) {
        if (this.channel) return; // the runner found its way back by itself
        if (failures === 0) this.deps.links?.attempt(this.init.jobId, 1);
        try {
          await this.attachOnce();
          this.reattachments++;
          return;
        } catch (err) {
          if (this.finished) return;
          this.deps.metrics.sshRunnerConnectionFailures.inc({ reason: failureReason(err) });
          if (isAppError(err) && err.code === 'RUNNER_INTEGRITY_MISMATCH') {
            // Not the deployed runner: settle it (full hash; redeploy when allowed) and re-attach with what is there.
            try {
              if (!this.deps.runnerIntegrity) throw err;
              this.init.sink.system(`${err.message}; checking its sha256 before re-attaching`);
              this.runner = await this.deps.runnerIntegrity.settleIntegrity(this.runner, 're-attach');
              continue;
            } catch (settleErr) {
              if (this.finished) return;
              this.finish({ status: 'FAILURE', exitCode: null, signal: null, reason: `${messageOf(settleErr)}; the job was not re-attached and may still be running on ${this.init.serverName}` });
              return;
            }
          }
          if (isAppError(err) && err.code === 'RUNNER_JOB_GONE') {
            this.finish({ status: 'PARTIAL', exitCode: null, signal: null, reason: `${err.message}; the output received until then is kept` });
            return;
          }
          this.deps.links?.attempt(this.init.jobId, failures + 2);
          if (++failures === 1) this.init.sink.system(`re-attaching failed (${messageOf(err)}); retrying with backoff`);
          await this.sleep(backoffDelay(backoff, failures)!);
        }
      }
    } finally {
      this.reattaching = false;
    }
  }

  private linkLost(why: string): void {
    if (this.finished) return;
    const ch = this.channel;
    this.channel = null;
    ch?.close('link lost');
    if (this.lostAt === null) {
      this.lostAt = this.deps.clock.now();
      this.deps.links?.lost(this.init.jobId, new Date(this.lostAt).toISOString(), why);
      this.armUnreachableNotice(this.lostAt);
    }
    this.markPartial(why);
    void this.reattachLoop();
  }

  /** After settings.runner.unreachableNoticeSeconds still unreachable: one notice (toast and native notification). */
  private armUnreachableNotice(lostAt: number): void {
    const seconds = this.deps.settings.current().runner.unreachableNoticeSeconds ?? 60;
    this.every(seconds * 1000, () => {
      if (this.finished || this.lostAt !== lostAt) return;
      const since = new Date(lostAt).toISOString();
      this.deps.bus.emit('jobs/unreachable', { jobId: this.init.jobId, eventName: this.init.event.name, serverName: this.init.serverName, since, seconds });
      this.deps.bus.emit('system/notice', {
        level: 'warning',
        message: `${this.init.event.name} on ${this.init.serverName} has been unreachable for ${seconds} s (${describeJobLink({ state: 'lost', since, reason: '', attempt: 0 })}); the job keeps running on the server`,
      });
    }, false);
  }

  /** The runner is back (hello on a fresh link): the job's link state clears and the log says for how long it was away. */
  private linkRestored(): void {
    if (this.lostAt === null) return;
    const away = (this.deps.clock.now() - this.lostAt) / 1000;
    this.lostAt = null;
    this.deps.links?.clear(this.init.jobId);
    this.init.sink.system(`link back at ${new Date(this.deps.clock.now()).toTimeString().slice(0, 8)} after ${away.toFixed(1)} s; streaming again`);
  }

  private onChannelClosed(ch: RunnerChannel, why: string, silent = false): void {
    this.challenged.delete(ch);
    this.closeWaiters.get(ch)?.();
    if (ch !== this.channel || this.finished) return;
    this.channel = null;
    // Silence (the heartbeat found nothing for DEAD_AFTER_MS) is a dead link: shown at once, no grace to wait out.
    if (silent) return this.linkLost(why);
    // With the tunnel still up the runner reconnects by itself within its backoff; only then is the link lost.
    this.socketGrace?.cancel();
    this.socketGrace = this.deps.clock.setTimeout(() => {
      if (!this.channel && !this.finished) this.linkLost(why);
    }, this.o.socketGraceMs);
  }

  private markPartial(why: string): void {
    if (this.logStatus !== 'STREAMING') return;
    this.logStatus = 'PARTIAL';
    this.init.sink.setStatus('PARTIAL', { runnerMetadata: this.metadata() });
    this.init.sink.system(`link lost at ${new Date(this.lostAt ?? this.deps.clock.now()).toTimeString().slice(0, 8)} (${why}), reconnecting`);
  }

  // ---- the runner's messages --------------------------------------------------------------------------------------

  private onMessage(ch: RunnerChannel, msg: RunnerToApp): void {
    // A connection that has not proved the job key gets its challenge and nothing else, and changes nothing.
    if (ch !== this.channel && msg.type !== 'hello' && msg.type !== 'proof') return;
    if (ch === this.channel) {
      this.lastActivity = this.deps.clock.now();
      this.silenceReported = false;
    }
    switch (msg.type) {
      case 'hello':
        this.onHello(ch, msg).catch((err) => {
          console.warn(`[runner] job ${this.init.jobId}: answering the runner's hello failed: ${messageOf(err)}`);
          ch.close('hello failed');
        });
        return;
      case 'proof':
        // Minting the token can fail (keychain): the runner is dropped and reconnects, or the link is re-attached.
        this.onProof(ch, msg.proof).catch((err) => {
          console.warn(`[runner] job ${this.init.jobId}: answering the runner's proof failed: ${messageOf(err)}`);
          ch.close('welcome failed');
        });
        return;
      case 'log': {
        if (ch !== this.channel || !this.takesLines()) return;
        const r = this.aggregator.accept(msg.lines);
        if (r.accepted > 0) this.replayAskedFrom = -1;
        if (r.gap) this.askReplay(ch);
        return;
      }
      case 'exit':
        if (ch !== this.channel) return;
        if (msg.lastSeq > this.aggregator.lastRunnerSeq) {
          // Streaming off: the script has ended, so now the log is collected (replayed from the runner's spool).
          this.collecting = true;
          return this.askReplay(ch);
        }
        // `finished` is already set when this fails: without a result here the job would wait forever.
        this.complete(ch, msg).catch((err) => {
          this.finish({ status: 'FAILURE', exitCode: msg.code, signal: msg.signal, reason: `recording the end of the job failed: ${messageOf(err)}` });
        });
        return;
      case 'helper.request':
        void this.answerHelper(msg.id, msg.op, msg.args);
        return;
      case 'health':
        this.runnerInfo.health = msg;
        return;
      case 'error':
        console.warn(`[runner] job ${this.init.jobId}: the runner refused a message: ${msg.message}`);
        return;
    }
  }

  /** A connection said hello: it gets the app's nonce and proof, and must prove the job key in turn (onProof). */
  private async onHello(ch: RunnerChannel, hello: Extract<RunnerToApp, { type: 'hello' }>): Promise<void> {
    if (hello.jobId !== this.init.jobId || this.finished) return ch.close('wrong job');
    if (this.challenged.has(ch) || ch === this.channel) return; // one handshake per connection
    if (!hello.nonce || !hello.capabilities.includes(CHANNEL_AUTH_CAPABILITY)) {
      this.refuseChannel(ch, `the runner (version ${hello.runnerVersion}) does not prove the job key (${CHANNEL_AUTH_CAPABILITY}); redeploy the runner`);
      return;
    }
    const appNonce = randomToken();
    this.challenged.set(ch, { hello, runnerNonce: hello.nonce, appNonce });
    // A connection that holds its challenge unanswered is closed; the runner answers within milliseconds.
    this.deps.clock.setTimeout(() => {
      if (this.challenged.delete(ch)) this.refuseChannel(ch, 'a connection to the job channel did not answer its challenge');
    }, CHALLENGE_TIMEOUT_MS);
    ch.send({ type: 'challenge', nonce: appNonce, proof: channelProof(this.channelKey, 'app', this.init.jobId, hello.nonce, appNonce) });
  }

  private async onProof(ch: RunnerChannel, proof: string): Promise<void> {
    const pending = this.challenged.get(ch);
    this.challenged.delete(ch);
    if (!pending || this.finished) return ch.close('no handshake in progress');
    if (!checkChannelProof(this.channelKey, 'runner', this.init.jobId, pending.runnerNonce, pending.appNonce, proof)) {
      this.refuseChannel(ch, 'a connection to the job channel did not prove the job key');
      return;
    }
    await this.onProvenHello(ch, pending.hello, { runnerNonce: pending.runnerNonce, appNonce: pending.appNonce });
  }

  /** A connection that failed the handshake is closed; the job and its runner's connection go on untouched. */
  private refuseChannel(ch: RunnerChannel, why: string): void {
    this.refusedConnections++;
    console.warn(`[runner] job ${this.init.jobId}: ${why}; the connection was closed, the job goes on`);
    ch.close('refused');
  }

  /** The runner proved the job key: it becomes the job's channel and gets the token, the environment, the rest. */
  private async onProvenHello(ch: RunnerChannel, hello: Extract<RunnerToApp, { type: 'hello' }>, nonces: { runnerNonce: string; appNonce: string }): Promise<void> {
    const seal = (text: string) => sealForChannel(this.channelKey, this.init.jobId, nonces.runnerNonce, nonces.appNonce, text);
    const old = this.channel;
    this.channel = ch;
    this.socketGrace?.cancel();
    if (old && old !== ch) old.close('superseded by a newer connection');
    this.replayAskedFrom = -1;
    this.runnerInfo = { runnerVersion: hello.runnerVersion, os: hello.os, arch: hello.arch, capabilities: hello.capabilities, protocolVersion: hello.protocolVersion };
    // A runner that can send column-wise log batches is asked to (far cheaper to parse); an older one sends `log`.
    const logFormat = hello.capabilities.includes(LOG_COLUMNS_CAPABILITY) ? { logFormat: LOG_COLUMNS_FORMAT } : {};
    ch.send({ type: 'welcome', resumeFrom: this.aggregator.lastRunnerSeq, sealedToken: seal(await this.mintToken()), ...logFormat });
    if (hello.state === 'starting') {
      // The runner masks these before a line reaches its spool: the event's secrets, and the secret variables the
      // script uses (read now, from the keychain; the runner keeps them in memory only). Secrets read under a
      // computed name are masked app-side when the app answers that getVariable.
      const { id, content } = this.init.event;
      const secretValues = content !== undefined
        ? await this.deps.variables.secretsUsedBy({ id, content })
        : (await this.deps.variables.visibleTo(id)).secretValues;
      if (ch !== this.channel || this.finished) return;
      // Sealed for this connection: only the runner that proved the key can open it, even through a relay.
      ch.send({ type: 'env', values: {}, sealed: seal(JSON.stringify({ values: this.init.secrets, mask: secretValues, plain: this.init.parameterEnv ?? {} })) });
    }
    if (this.stopKind && hello.state !== 'exited') ch.send({ type: 'cancel', graceMs: this.o.cancelGraceMs });
    if (this.logStatus === 'PENDING' || this.logStatus === 'PARTIAL') {
      this.recovering ||= this.logStatus === 'PARTIAL';
      this.logStatus = 'STREAMING';
      this.init.sink.setStatus('STREAMING', { runnerVersion: hello.runnerVersion, runnerMetadata: this.metadata() });
    }
    this.linkRestored();
    for (const wake of this.helloWaiters.splice(0)) wake();
  }

  /** Whether runner lines are stored now: always when streaming, else once the runner has exited (collecting). */
  private takesLines(): boolean {
    return this.streaming || this.collecting;
  }

  private askReplay(ch: RunnerChannel): void {
    const from = this.aggregator.lastRunnerSeq;
    if (this.replayAskedFrom === from) return;
    this.replayAskedFrom = from;
    ch.send({ type: 'welcome', resumeFrom: from });
  }

  private async complete(ch: RunnerChannel, exit: Extract<RunnerToApp, { type: 'exit' }>): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.init.sink.flush();
    // Everything is committed: the runner may forget the job. It closes its socket once it has the final ack; the
    // job ends here only then (or after a bound), so an app that stops right after never leaves a runner waiting.
    const closed = new Promise<void>((resolve) => this.closeWaiters.set(ch, resolve));
    ch.send({ type: 'ack', upTo: exit.lastSeq });
    const confirmed = await Promise.race([closed.then(() => true), sleep(this.deps.clock, 3_000).then(() => false)]);
    this.closeWaiters.delete(ch);
    if (!confirmed) ch.close('job complete');
    if (this.recovering) this.deps.metrics.partialLogRecoveryCount.inc();
    const output = exit.output !== undefined ? exit.output : this.output;
    const condition = exit.condition ?? this.condition;
    const extra = { ...(output !== undefined ? { output } : {}), ...(condition !== null && condition !== undefined ? { condition } : {}) };
    let result: ExecutionResult;
    if (exit.error) result = { status: 'FAILURE', exitCode: null, signal: null, reason: `the runner could not run the script: ${exit.error}` };
    else if (this.stopKind === 'cancel') result = { status: 'CANCELLED', exitCode: exit.code, signal: exit.signal, reason: `cancelled by the user; the runner ended the script's process group${exit.signal ? ` (${exit.signal})` : ''}` };
    else if (this.stopKind === 'timeout') result = { status: 'TIMEOUT', exitCode: exit.code, signal: exit.signal, reason: `did not finish within ${this.init.event.timeoutSeconds} s; the runner ended the script's process group` };
    else if (exit.code === 0) result = { status: 'SUCCESS', exitCode: 0, signal: null, reason: null };
    else if (exit.code !== null) result = { status: 'FAILURE', exitCode: exit.code, signal: null, reason: `the script exited with code ${exit.code}` };
    else result = { status: 'FAILURE', exitCode: null, signal: exit.signal, reason: `the script was ended by ${exit.signal ?? 'a signal'} on the server` };
    this.init.sink.setStatus(this.logStatus, { runnerMetadata: this.metadata() });
    this.finish({ ...result, ...extra });
  }

  // ---- helpers ------------------------------------------------------------------------------------------------------

  private async answerHelper(id: string, op: HelperOp, rawArgs: Record<string, unknown>): Promise<void> {
    let reply: { ok: boolean; value?: unknown; error?: string };
    try {
      reply = { ok: true, value: await this.helperValue(op, rawArgs) };
    } catch (err) {
      reply = { ok: false, error: messageOf(err) };
    }
    this.channel?.send({ type: 'helper.response', id, ...reply, ...(reply.value === undefined ? { value: null } : {}) });
  }

  /** This job as the variable helpers see it: its event's scope, and its log's masker for secret values. */
  private variableHelperJob(): VariableHelperJob {
    const sink = this.init.sink;
    return { jobId: this.init.jobId, eventId: this.init.event.id, mask: (value) => sink.addSecret?.(value) };
  }

  private async helperValue(op: HelperOp, rawArgs: Record<string, unknown>): Promise<unknown> {
    const parsed = HelperArgs[op].safeParse(rawArgs);
    if (!parsed.success) throw new AppError('INVALID_INPUT', `${op}: ${parsed.error.issues[0]?.message ?? 'invalid arguments'}`);
    const args = parsed.data as Record<string, unknown>;
    const eventId = this.init.event.id;
    switch (op) {
      case 'input':
        return this.init.input ?? null;
      case 'output':
        this.output = args.value;
        return null;
      case 'setCondition':
        this.condition = args.value === true;
        return null;
      case 'getVariable':
        return this.deps.helpers.getVariable(this.variableHelperJob(), String(args.key));
      case 'setVariable':
        await this.deps.helpers.setVariable(this.variableHelperJob(), {
          key: String(args.key), value: String(args.value), scope: args.scope as 'global' | 'event' | undefined, secret: args.secret === true,
        });
        return null;
      case 'event':
        return this.deps.helpers.event({
          eventId, eventName: this.init.event.name, eventVersion: this.init.event.version,
          jobId: this.init.jobId, serverId: this.init.serverId, serverName: this.init.serverName, attempt: this.init.attempt,
        });
    }
  }

  // ---- cancel, timeout, silence, detach -----------------------------------------------------------------------------

  private requestStop(kind: 'cancel' | 'timeout'): void {
    if (this.finished || this.stopKind) return;
    this.stopKind = kind;
    const graceMs = this.o.cancelGraceMs;
    if (this.channel) this.channel.send({ type: 'cancel', graceMs });
    else {
      // The socket is down: end the process group over SSH; the runner reports the exit once re-attached.
      void this.deps.ssh
        .exec(this.init.serverId, `${integrityGuard(this.runner)}${this.runner.command} cancel --job ${shellQuote(this.init.jobId)} --grace ${graceMs}`, { timeoutMs: graceMs + 10_000 })
        .catch(() => undefined);
    }
    // A runner that never confirms (unreachable for good) does not hold the job forever.
    this.every(graceMs + 15_000, () => {
      if (this.finished) return;
      const reason = kind === 'cancel'
        ? 'cancelled by the user; the runner could not be reached to confirm that the script ended'
        : `did not finish within ${this.init.event.timeoutSeconds} s; the runner could not be reached to confirm that the script ended`;
      this.finish({ status: kind === 'cancel' ? 'CANCELLED' : 'TIMEOUT', exitCode: null, signal: null, reason });
    }, false);
  }

  private watchSilence(): void {
    if (this.finished || this.silenceReported) return;
    const limitS = this.deps.settings.current().streaming.timeoutSeconds;
    if (this.deps.clock.now() - this.lastActivity < limitS * 1000) return;
    this.silenceReported = true;
    const what = this.channel ? 'no output from the runner' : 'the runner has been unreachable';
    const text = `${what} for ${limitS} s (LOG_STREAM_TIMEOUT); the job is not stopped and Cronium keeps listening`;
    this.init.sink.system(text);
    this.deps.bus.emit('system/notice', { level: 'warning', message: `${this.init.event.name} on ${this.init.serverName}: ${text}` });
  }

  /** The app is stopping: leave the job running on the server, as it is, for the next start to re-attach. */
  private detach(): void {
    if (this.finished) return;
    this.finished = true;
    void this.init.sink.flush().finally(() => {
      this.dispose();
      this.rejectResult(new AppError(JOB_DETACHED, 'Cronium is closing; the job keeps running on the server and is re-attached at the next start'));
    });
  }

  private finish(result: ExecutionResult): void {
    this.finished = true;
    this.dispose();
    this.resolveResult(result);
  }

  /** Releases everything this session holds here (never anything on the server). */
  dispose(): void {
    this.finished = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.socketGrace?.cancel();
    this.deps.links?.clear(this.init.jobId);
    this.init.signal.removeEventListener('abort', this.onAbort);
    this.unexpect();
    this.closeTokens();
    this.aggregator.close();
    for (const wake of this.helloWaiters.splice(0)) wake();
    void this.closeLink();
  }

  // ---- small things -------------------------------------------------------------------------------------------------

  private metadata(): Record<string, unknown> {
    return { ...this.runnerInfo, ...(this.hostedBy ? { jobHost: this.hostedBy } : {}), tunnel: this.tunnelKind, lastAckedSeq: this.aggregator.durableRunnerSeq, lastRunnerSeq: this.aggregator.lastRunnerSeq, reattachments: this.reattachments, remotePid: this.remotePid };
  }

  private mintToken(): Promise<string> {
    return this.deps.auth.mintToken({ aud: 'runner', sub: this.init.jobId, jobId: this.init.jobId, serverId: this.init.serverId }, this.o.tokenTtlSeconds);
  }

  private waitHello(ms: number): Promise<boolean> {
    if (this.channel) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.deps.clock.setTimeout(() => resolve(false), ms);
      this.helloWaiters.push(() => {
        timer.cancel();
        resolve(this.channel !== null);
      });
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.every(ms, resolve, false));
  }

  /** Runs fn after ms (again every ms when repeat, until the session finishes); dispose() cancels it. */
  private every(ms: number, fn: () => void, repeat: boolean): void {
    if (repeat) {
      const ticker = every(this.deps.clock, ms, () => {
        fn();
        if (this.finished) ticker.cancel();
      });
      this.timers.add(ticker);
      return;
    }
    const timer = this.deps.clock.setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private timeLimit<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    return withTimeout(this.deps.clock, p, ms, () => new AppError('RUNNER_LINK_TIMEOUT', `${what} took longer than ${ms / 1000} s`));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A short label for ssh_runner_connection_failures. */
export function failureReason(err: unknown): string {
  const code = isAppError(err) ? err.code : '';
  if (/HOST_KEY/.test(code)) return 'host_key';
  if (/AUTH/.test(code)) return 'auth';
  if (/TIMEOUT/.test(code)) return 'timeout';
  if (/REFUSED|UNREACHABLE/.test(code)) return 'refused';
  if (/FORWARD|TUNNEL|LINK/.test(code)) return 'tunnel';
  if (/DEPLOY|RUNNER_NOT/.test(code)) return 'deploy';
  if (/PAYLOAD/.test(code)) return 'payload';
  if (/RUNNER_START|ATTACH|JOB_GONE/.test(code)) return 'start';
  if (/CONNECTION|LOST/.test(code)) return 'connection_lost';
  return 'other';
}
