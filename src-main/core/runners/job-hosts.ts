/**
 * JobHosts: the app's side of the job hosts (src-shared/protocol/job-host.ts; docs/architecture.md "Job host"). At most
 * one host per (server, runner file) per app process, launched in the background after a runner job on that server
 * started the usual exec way, never in a job's critical path. The host's key lives in this process's memory only.
 * Every control connection (a direct-streamlocal channel to the host's socket, no process started) is proved both
 * ways before anything of a job crosses it, and the start file crosses it sealed. A host that fails in any way
 * (gone, wrong proof, refusal, malformed answer, timeout) is forgotten: the job starts with the exec, as without one.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock';
import { AppError, isAppError, messageOf } from '../errors';
import { shellQuote } from '../ssh/shell-quote';
import type { ExecOptions, ExecResult } from '../ssh/types';
import type { CompatibleRunner } from './runner-service';
import { INTEGRITY_EXIT_CODE, integrityGuard, integrityMismatch } from './runner-integrity';
import { channelProof, checkChannelProof, randomToken, sealForChannel } from '../../../src-shared/protocol/channel-auth';
import {
  AppToHost,
  HostToApp,
  JOB_HOST_FOLDER,
  JOB_HOST_IDLE_MS,
  JOB_HOST_MAX_LINE_BYTES,
  JOB_HOST_PATH_TOO_LONG_EXIT_CODE,
  JOB_HOST_PROTOCOL,
  MAX_SOCKET_PATH_BYTES,
  jobHostChannelName,
  jobHostStartSealName,
} from '../../../src-shared/protocol/job-host';
import type { RunnerStartFile } from '../../../src-shared/protocol/runner-wire';

/** Each step of a control conversation (hello, proof, answer) must come within this. */
const STEP_TIMEOUT_MS = 5_000;
/** After the launch exec: how long the app polls for the host to answer, and how often. */
const READY_WITHIN_MS = 10_000;
const READY_POLL_MS = 100;
/** After a launch or a host failed: how long the server+runner goes without a host. */
const NO_HOST_FOR_MS = 5 * 60_000;
/** The socket path after $HOME: /.cronium/jobhost/<16-character id>.sock. */
const SOCKET_PATH_AFTER_HOME_BYTES = `/.cronium/${JOB_HOST_FOLDER}/`.length + 16 + '.sock'.length;
/** A host unused this long may have idled out: the next exec start launches a new one rather than trying it. */
const TRUST_IDLE_FOR_MS = JOB_HOST_IDLE_MS - 60_000;

/** What JobHosts needs of a pooled connection. */
export interface HostConnection {
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  openStreamLocal(socketPath: string): Promise<Duplex>;
}

export interface JobHostsDeps {
  ssh: { acquire(serverId: string): Promise<HostConnection> };
  clock: Clock;
  /** settings.runner.jobHost: off = never launch nor use a host. */
  enabled: () => boolean;
  /** A debug line (launch failures and forgotten hosts say nothing to the user). */
  debug?: (line: string) => void;
}

/** A host that answered its proof: where its socket is, its pid (the supervisor pid of its jobs), its home. */
export interface JobHost {
  readonly serverId: string;
  readonly hostId: string;
  readonly socket: string;
  /** The server's $HOME the host runs under (its jobs' folders are <home>/.cronium/jobs/<jobId>). */
  readonly home: string;
  readonly pid: number;
  /** The (server, runner file) this host belongs to. */
  readonly slot: string;
}

interface HostSecret extends JobHost {
  readonly key: string;
}

type Entry = { state: 'launching' } | { state: 'ready'; host: HostSecret; lastUsed: number } | { state: 'none'; until: number };

/** A failure of a control conversation. `afterRequest`: host-start was sent and no clear answer came back. */
export class JobHostError extends AppError {
  constructor(message: string, readonly afterRequest = false) {
    super('RUNNER_START_FAILED', message);
  }
}

export class JobHosts {
  private readonly entries = new Map<string, Entry>();
  /** Counters for diagnostics, tests and benches. */
  readonly stats = { launches: 0, ready: 0, started: 0, forgotten: 0 };
  /** Launches under way (each settles, never rejects). */
  private readonly launching = new Set<Promise<unknown>>();

  constructor(private readonly deps: JobHostsDeps) {}

  /** The ready host of this server and runner file, or null (none, launching, or the setting is off). */
  ready(serverId: string, runner: CompatibleRunner): JobHost | null {
    if (!this.deps.enabled()) return null;
    const slot = slotOf(serverId, runner);
    const entry = this.entries.get(slot);
    if (entry?.state !== 'ready') return null;
    if (this.deps.clock.now() - entry.lastUsed > TRUST_IDLE_FOR_MS) {
      this.entries.delete(slot);
      return null;
    }
    return entry.host;
  }

  /** After a job started the exec way: launches this server's host in the background unless one is there or failed lately. */
  launchSoon(serverId: string, runner: CompatibleRunner): void {
    if (!this.deps.enabled()) return;
    const slot = slotOf(serverId, runner);
    const entry = this.entries.get(slot);
    if (entry && (entry.state !== 'none' || entry.until > this.deps.clock.now())) return;
    this.entries.set(slot, { state: 'launching' });
    this.stats.launches++;
    const launched = this.launch(slot, serverId, runner).then(
      (host) => {
        this.stats.ready++;
        this.entries.set(slot, { state: 'ready', host, lastUsed: this.deps.clock.now() });
      },
      (err) => {
        this.deps.debug?.(`[job-host] no job host on server ${serverId}: ${messageOf(err)}; jobs there start with an exec`);
        // A lost connection says nothing about the host: the next exec start on this server tries again.
        if (isAppError(err) && err.code === 'CONNECTION_LOST') this.entries.delete(slot);
        else this.entries.set(slot, { state: 'none', until: this.deps.clock.now() + NO_HOST_FOR_MS });
      },
    );
    this.launching.add(launched);
    void launched.finally(() => this.launching.delete(launched));
  }

  /** Resolves once no launch is under way (a test that changes the runner's files on a server waits for this first). */
  async settled(): Promise<void> {
    while (this.launching.size > 0) await Promise.all(this.launching);
  }

  /** The host failed: its jobs-to-be start with the exec. `gone`: its socket is not there (idle exit), relaunch soon. */
  forget(host: JobHost, why: string, gone = false): void {
    const entry = this.entries.get(host.slot);
    if (entry?.state !== 'ready' || entry.host.hostId !== host.hostId) return;
    this.stats.forgotten++;
    this.deps.debug?.(`[job-host] forgetting job host ${host.hostId} on server ${host.serverId}: ${why}`);
    if (gone) this.entries.delete(host.slot);
    else this.entries.set(host.slot, { state: 'none', until: this.deps.clock.now() + NO_HOST_FOR_MS });
  }

  /**
   * The server's runners were removed (RunnerService.remove, whose exec also removed the hosts' sockets, so each host
   * exits once its last job is done): its hosts are forgotten, and the next exec start there may launch a new one.
   */
  forgetServer(serverId: string): void {
    for (const slot of [...this.entries.keys()]) {
      if ((JSON.parse(slot) as unknown[])[0] === serverId) this.entries.delete(slot);
    }
  }

  /**
   * Asks the host to start a job: 'started' (its supervisor now connects to the tunnel the start file names) or
   * 'payload-missing' (nothing started). Throws JobHostError (or FORWARD_REFUSED when the socket is gone) otherwise.
   */
  async start(conn: HostConnection, host: JobHost, jobId: string, payloadChecksum: string, start: RunnerStartFile): Promise<'started' | 'payload-missing'> {
    const secret = this.secretOf(host);
    const answer = await this.converse(conn, secret, (hostNonce, appNonce) => ({
      type: 'host-start',
      jobId,
      payload: payloadChecksum,
      sealedStart: sealForChannel(secret.key, jobHostStartSealName(host.hostId, jobId, payloadChecksum), hostNonce, appNonce, JSON.stringify(start)),
    }));
    if (answer?.type === 'host-started' && answer.jobId === jobId) {
      this.touch(host);
      this.stats.started++;
      return 'started';
    }
    if (answer?.type === 'host-payload-missing' && answer.jobId === jobId) return 'payload-missing';
    throw new JobHostError(answer?.type === 'host-refused' ? `the job host refused the job: ${answer.reason}` : `the job host answered ${answer?.type ?? 'nothing'} to host-start`, answer?.type !== 'host-refused');
  }

  /**
   * Ends a hosted job that has not received its environment yet (the app gave up on its hello): true when the host
   * ended it, false when it had no such job waiting, null when the host could not be asked or did not answer.
   */
  async abandon(host: JobHost, jobId: string): Promise<boolean | null> {
    try {
      const secret = this.secretOf(host);
      const conn = await this.deps.ssh.acquire(host.serverId);
      const answer = await this.converse(conn, secret, () => ({ type: 'host-abandon', jobId }));
      return answer?.type === 'host-abandoned' && answer.jobId === jobId ? answer.ended : null;
    } catch (err) {
      this.deps.debug?.(`[job-host] abandoning job ${jobId} on job host ${host.hostId} failed: ${messageOf(err)}`);
      return null;
    }
  }

  // ---- launching ------------------------------------------------------------------------------------------------------

  private async launch(slot: string, serverId: string, runner: CompatibleRunner): Promise<HostSecret> {
    const hostId = randomBytes(12).toString('base64url');
    const key = randomToken();
    const conn = await this.deps.ssh.acquire(serverId);
    const cmd =
      `${integrityGuard(runner)}umask 077; d="$HOME/.cronium/${JOB_HOST_FOLDER}"; s="$d/${hostId}.sock"; [ "\${#s}" -le ${MAX_SOCKET_PATH_BYTES} ] || exit ${JOB_HOST_PATH_TOO_LONG_EXIT_CODE}; ` +
      `mkdir -p "$d" && chmod 700 "$d" && cat > "$d/${hostId}.key" && ` +
      `( setsid nohup ${runner.command} jobhost --id ${shellQuote(hostId)} > "$d/${hostId}.out" 2>&1 < /dev/null & echo $! ) && printf '\\n%s' "$d"`;
    const r = await conn.exec(cmd, { stdin: JSON.stringify({ key }), timeoutMs: 20_000 });
    // The last two non-empty lines (startup files of the login shell may print before them).
    const lines = (r.stdout ?? '').split('\n').filter((l) => l.trim() !== '');
    const pid = Number(lines.at(-2));
    const dir = lines.at(-1) ?? '';
    if (r.code === JOB_HOST_PATH_TOO_LONG_EXIT_CODE) {
      throw new JobHostError(
        `no job host was started on server ${serverId}: its socket path would be longer than the ${MAX_SOCKET_PATH_BYTES} bytes a Unix socket path may have ` +
          `(the home folder path is too long). Jobs there start with an exec, as without a host; for a host, give the user a home folder path of at most ${MAX_SOCKET_PATH_BYTES - SOCKET_PATH_AFTER_HOME_BYTES} bytes`,
      );
    }
    if (r.code === INTEGRITY_EXIT_CODE) {
      throw new JobHostError(
        `no job host was started on server ${serverId}: the integrity check refused the runner (${integrityMismatch(`server ${serverId}`, runner, r.stderr).message}). ` +
          'The next job there starts with the exec, whose check settles it: a runner file that was altered is marked tampered and deployed again',
      );
    }
    if (r.code !== 0 || !Number.isInteger(pid) || pid <= 0 || !dir.startsWith('/') || lines.length < 2) {
      throw new Error(`the launch exec ended with ${r.code ?? r.signal}: ${(r.stderr ?? '').trim().slice(0, 200) || 'no message'}`);
    }
    const socket = `${dir}/${hostId}.sock`;
    const suffix = `/.cronium/${JOB_HOST_FOLDER}`;
    if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES || !dir.endsWith(suffix)) throw new Error(`the socket path ${socket} does not fit`);
    const host: HostSecret = { serverId, hostId, socket, home: dir.slice(0, -suffix.length), pid, slot, key };
    const deadline = this.deps.clock.now() + READY_WITHIN_MS;
    for (;;) {
      try {
        const answer = await this.converse(await this.deps.ssh.acquire(serverId), host, null);
        if (answer === null) return host;
      } catch (err) {
        if (this.deps.clock.now() >= deadline) throw new Error(`the job host did not answer within ${READY_WITHIN_MS / 1000} s (${messageOf(err)})`);
      }
      await new Promise<void>((resolve) => this.deps.clock.setTimeout(resolve, READY_POLL_MS));
    }
  }

  // ---- the control connection -------------------------------------------------------------------------------------

  /**
   * One control conversation: host-hello, the app's challenge and proof, the host's proof (checked before anything
   * else is sent), then `request` and its answer. A null request only proves the host (the readiness check) and
   * closes; the answer is then null.
   */
  private async converse(conn: HostConnection, host: HostSecret, request: ((hostNonce: string, appNonce: string) => AppToHost) | null): Promise<HostToApp | null> {
    const stream = await this.openWithin(conn, host.socket);
    const reader = new LineReader(stream, this.deps.clock);
    const send = (msg: AppToHost) => stream.write(`${JSON.stringify(msg)}\n`);
    let requested = false;
    try {
      const hello = await reader.next('host-hello');
      if (hello.type !== 'host-hello' || hello.hostId !== host.hostId || hello.protocol !== JOB_HOST_PROTOCOL) {
        throw new JobHostError(`the socket ${host.socket} answered ${describe(hello)} instead of this job host's hello`);
      }
      const name = jobHostChannelName(host.hostId);
      const appNonce = randomToken();
      send({ type: 'host-challenge', appNonce, proof: channelProof(host.key, 'app', name, hello.hostNonce, appNonce) });
      const proof = await reader.next('host-proof');
      if (proof.type !== 'host-proof' || !checkChannelProof(host.key, 'runner', name, hello.hostNonce, appNonce, proof.proof)) {
        throw new JobHostError(`the process on ${host.socket} did not prove the job host key (${proof.type === 'host-proof' ? 'wrong proof' : describe(proof)})`);
      }
      if (!request) return null;
      requested = true;
      send(request(hello.hostNonce, appNonce));
      return await reader.next('its answer');
    } catch (err) {
      if (requested && !(err instanceof JobHostError && err.afterRequest)) throw new JobHostError(messageOf(err), true);
      throw err;
    } finally {
      reader.close();
      stream.destroy();
    }
  }

  /** The control channel, or an error after STEP_TIMEOUT_MS (a black-holed link); a channel that opens late is closed. */
  private openWithin(conn: HostConnection, socket: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      let late = false;
      const timer = this.deps.clock.setTimeout(() => {
        late = true;
        reject(new JobHostError(`the control channel to ${socket} did not open within ${STEP_TIMEOUT_MS / 1000} s`));
      }, STEP_TIMEOUT_MS);
      conn.openStreamLocal(socket).then(
        (stream) => {
          timer.cancel();
          if (late) stream.destroy();
          else resolve(stream);
        },
        (err: unknown) => {
          timer.cancel();
          reject(err);
        },
      );
    });
  }

  private secretOf(host: JobHost): HostSecret {
    const entry = this.entries.get(host.slot);
    if (entry?.state !== 'ready' || entry.host.hostId !== host.hostId) throw new JobHostError(`job host ${host.hostId} is no longer in use`);
    return entry.host;
  }

  private touch(host: JobHost): void {
    const entry = this.entries.get(host.slot);
    if (entry?.state === 'ready' && entry.host.hostId === host.hostId) entry.lastUsed = this.deps.clock.now();
  }
}

/** One host per server and runner file: a redeployed or upgraded runner gets a host of its own. */
function slotOf(serverId: string, runner: CompatibleRunner): string {
  return JSON.stringify([serverId, runner.deploymentId, runner.path, runner.fingerprint, runner.sha256, runner.runtime?.fingerprint ?? null]);
}

function describe(msg: HostToApp): string {
  return msg.type === 'host-refused' ? `host-refused (${msg.reason})` : msg.type;
}

/** Reads the host's newline-delimited JSON, each line bounded and parsed with HostToApp, each wait bounded. */
class LineReader {
  private buffer = '';
  private readonly lines: string[] = [];
  private failure: Error | null = null;
  private waiter: (() => void) | null = null;
  private readonly onData = (chunk: Buffer | string) => {
    this.buffer += chunk.toString();
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      this.lines.push(this.buffer.slice(0, nl));
      this.buffer = this.buffer.slice(nl + 1);
    }
    if (this.buffer.length > JOB_HOST_MAX_LINE_BYTES) this.fail(new JobHostError('the job host sent a line longer than the protocol allows'));
    this.wake();
  };
  private readonly onEnd = () => this.fail(new JobHostError('the job host closed the connection'));
  private readonly onError = (err: Error) => this.fail(new JobHostError(`the control connection failed: ${err.message}`));

  constructor(private readonly stream: Duplex, private readonly clock: Clock) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
  }

  async next(what: string): Promise<HostToApp> {
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) {
        let parsed: ReturnType<typeof HostToApp.safeParse>;
        try {
          parsed = HostToApp.safeParse(JSON.parse(line));
        } catch {
          throw new JobHostError(`the job host sent a line that is not JSON while the app waited for ${what}`);
        }
        if (!parsed.success) throw new JobHostError(`the job host sent a malformed message while the app waited for ${what}`);
        return parsed.data;
      }
      if (this.failure) throw this.failure;
      const arrived = await new Promise<boolean>((resolve) => {
        const timer = this.clock.setTimeout(() => resolve(false), STEP_TIMEOUT_MS);
        this.waiter = () => {
          timer.cancel();
          resolve(true);
        };
      });
      this.waiter = null;
      if (!arrived) throw new JobHostError(`the job host did not send ${what} within ${STEP_TIMEOUT_MS / 1000} s`);
    }
  }

  close(): void {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onError);
    // An error after close must not be unhandled.
    this.stream.on('error', () => undefined);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  private wake(): void {
    this.waiter?.();
  }
}
