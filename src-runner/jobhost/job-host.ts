/**
 * JobHost (`cronium-runner jobhost --id <hostId>`): a long-lived runner process that starts the app's jobs in its own
 * process, so a job costs no exec, login shell or Node start on the server (protocol: src-shared/protocol/job-host.ts).
 * At start it reads and deletes its key file (a regular file of its own user, no group/other bits; else it refuses to
 * start), replaces a stale socket and listens on ~/.cronium/jobhost/<hostId>.sock (0600 in the 0700 folder).
 * Per connection: hello, the app's proof (a wrong one is refused and counted before anything else is read), its own
 * proof, one request. A started job is the usual JobSupervisor with its start file in memory, in its own async context:
 * an exception in one job ends that job only. It exits once no hosted job is alive and nothing was started for idleMs,
 * or, after it stopped accepting (its socket path removed or replaced, or SIGTERM), once its last job is done.
 * Its own files (the runtime, and the code bundle of a JS runner) were checked by the launch exec's integrity guard;
 * before each start it looks whether they are still those files (inode, size, times): when one was replaced or
 * altered it refuses the job and stops accepting, so the app starts it with the exec, whose guard finds the change.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { channelProof, checkChannelProof, openFromChannel, randomToken } from '../../src-shared/protocol/channel-auth';
import {
  AppToHost,
  JOB_HOST_MAX_LINE_BYTES,
  JOB_HOST_PROTOCOL,
  JobHostKeyFile,
  MAX_SOCKET_PATH_BYTES,
  jobHostChannelName,
  jobHostStartSealName,
  type HostToApp,
} from '../../src-shared/protocol/job-host';
import { RUNNER_VERSION } from '../../src-shared/protocol/runner-info';
import { PAYLOAD_ARCHIVE_FILE, PAYLOAD_LAST_USED_FILE, PAYLOAD_SIGNATURE_FILE, RunnerStartFile } from '../../src-shared/protocol/runner-wire';
import { readJobState, writeJobState } from '../job-folder';
import { jobDir, jobHostDir, jobsRoot, payloadDir } from '../paths';
import { runtimeKind } from '../runtime-kind';
import { JobSupervisor } from '../job/supervisor';

/** How long a connection may take to prove itself and send its request. */
const CONNECTION_TIMEOUT_MS = 5_000;
/** Control connections open at once (each lives a few seconds at most). */
const MAX_CONNECTIONS = 64;
/** How often the host looks at its socket path and its idle time. */
const WATCH_MS = 2_000;
/** A key file no host took within this long is a launch whose host never started (the app waits 10 s for it). */
const STALE_KEY_FILE_MS = 60_000;

/** Why a host refuses to start (its folder, its key file, its socket): printed, exit code 4. */
export class JobHostError extends Error {}

export interface JobHostOptions {
  hostId: string;
  env: NodeJS.ProcessEnv;
  /** Exit after this long with no hosted job alive and nothing started. */
  idleMs: number;
  log(text: string): void;
}

/** The files this process runs from: the runtime (or the single executable) and a JS runner's code bundle. */
function ownFiles(): string[] {
  return runtimeKind() === 'js' ? [process.execPath, __filename] : [process.execPath];
}

/** What tells a file apart from its replacement or an altered copy (ctime changes with any write, chmod or rename). */
function fileIdentity(file: string): string {
  const st = fs.statSync(file, { throwIfNoEntry: false, bigint: true });
  return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : 'missing';
}

/** The hosted job whose code is running (the host tells its jobs' exceptions apart by it). */
const jobContext = new AsyncLocalStorage<string>();

/** Reads the host key file and deletes it, whatever it holds: a regular file of this user with no group/other bits. */
export function takeHostKey(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    fs.rmSync(file, { force: true });
    throw new JobHostError(`the key file ${file} cannot be opened (${(err as NodeJS.ErrnoException).code ?? 'error'}); the app writes it when it launches the host`);
  }
  try {
    const st = fs.fstatSync(fd);
    const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
    if (!st.isFile()) throw new JobHostError(`the key file ${file} is not a regular file; refusing to start`);
    if (uid !== undefined && st.uid !== uid) throw new JobHostError(`the key file ${file} belongs to uid ${st.uid}, not to this user (${uid}); refusing to start`);
    if ((st.mode & 0o077) !== 0) throw new JobHostError(`the key file ${file} has mode 0${(st.mode & 0o777).toString(8)}; it must be 0600 (refusing to start)`);
    try {
      return JobHostKeyFile.parse(JSON.parse(fs.readFileSync(fd, 'utf8'))).key;
    } catch {
      throw new JobHostError(`the key file ${file} is not a job host key file; refusing to start`);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

/** Deletes the key files in the folder older than STALE_KEY_FILE_MS: their hosts never started, nothing will read them. */
function removeStaleKeyFiles(dir: string, log: (text: string) => void): void {
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('.key')) continue;
    const file = path.join(dir, name);
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    if (st && !st.isDirectory() && Date.now() - st.mtimeMs > STALE_KEY_FILE_MS) {
      fs.rmSync(file, { force: true });
      log(`removed the stale key file ${file} (its host never started)`);
    }
  }
}

/** The folder must be this user's and 0700: everything in it (socket, key) relies on that. */
function checkFolder(dir: string): void {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (!st?.isDirectory()) throw new JobHostError(`${dir} is not a folder; the app creates it (0700) when it launches the host`);
  if (uid !== undefined && st.uid !== uid) throw new JobHostError(`${dir} belongs to uid ${st.uid}, not to this user; refusing to start`);
  if ((st.mode & 0o077) !== 0) throw new JobHostError(`${dir} has mode 0${(st.mode & 0o777).toString(8)}; it must be 0700 (refusing to start)`);
}

/**
 * As the start exec's presence check (PayloadService.presenceCheck, whose shell also compares the archive's size, which
 * the host is not told): the archive, non-empty, and its signature (written last) are there. Marks the payload used.
 */
function payloadPresent(checksum: string, env: NodeJS.ProcessEnv): boolean {
  const dir = payloadDir(checksum, env);
  const archive = fs.statSync(path.join(dir, PAYLOAD_ARCHIVE_FILE), { throwIfNoEntry: false });
  const sig = fs.statSync(path.join(dir, PAYLOAD_SIGNATURE_FILE), { throwIfNoEntry: false });
  if (!archive?.isFile() || archive.size === 0 || !sig?.isFile()) return false;
  try {
    fs.writeFileSync(path.join(dir, PAYLOAD_LAST_USED_FILE), new Date().toISOString(), { mode: 0o600 });
  } catch {
    // Only the cleanup's hint: the job runs without it.
  }
  return true;
}

/** A hosted job's runner log goes to its folder's runner.out, as a `run` process's stderr does. */
function jobLog(dir: string): (text: string) => void {
  return (text) => {
    try {
      fs.appendFileSync(path.join(dir, 'runner.out'), `${new Date().toISOString()} ${text}\n`, { mode: 0o600 });
    } catch {
      // The folder was removed (collected): nothing to keep the line for.
    }
  };
}

export class JobHost {
  private readonly dir: string;
  private readonly socketPath: string;
  private readonly channelName: string;
  private key = '';
  private server: net.Server | null = null;
  /** Inode and change time of the socket this host bound: a path removed and made again can get the same inode. */
  private socketId = '';
  /** Identity of each of its own files (ownFiles) when it started, right after the launch exec's integrity guard. */
  private readonly filesAtLaunch = new Map(ownFiles().map((f) => [f, fileIdentity(f)]));
  private readonly jobs = new Map<string, JobSupervisor>();
  private lastActivity = Date.now();
  /** No new connections (SIGTERM, or the socket path is no longer ours): exit once the last job is done. */
  private closing = false;
  private watchTimer: NodeJS.Timeout | undefined;
  private finished!: (code: number) => void;
  /** Connections refused for a missing or wrong proof of the host key. */
  refusedProofs = 0;

  private readonly onSigterm = () => {
    this.o.log('SIGTERM: no new jobs; exiting when the hosted jobs are done');
    this.stopAccepting();
    this.maybeExit();
  };
  // SIGUSR1 is `attach` talking to one hosted job (each has its own listener). This one stays for the host's life:
  // without any listener Node would open its inspector on SIGUSR1.
  private readonly onSigusr1 = () => undefined;
  private readonly onUncaught = (err: unknown) => this.jobFailed(err);

  constructor(private readonly o: JobHostOptions) {
    this.dir = jobHostDir(o.env);
    this.socketPath = path.join(this.dir, `${o.hostId}.sock`);
    this.channelName = jobHostChannelName(o.hostId);
  }

  /** Starts the host; resolves with the exit code once it has stopped. Throws JobHostError when it cannot start. */
  async run(): Promise<number> {
    const keyFile = path.join(this.dir, `${this.o.hostId}.key`);
    try {
      checkFolder(this.dir);
    } catch (err) {
      // A host that refuses to start leaves no key file behind (takeHostKey deletes it in every case too).
      try {
        fs.rmSync(keyFile, { force: true });
      } catch {
        // No folder, or not one this user can change: the refusal's reason says what to fix.
      }
      throw err;
    }
    this.key = takeHostKey(keyFile);
    removeStaleKeyFiles(this.dir, this.o.log);
    if (Buffer.byteLength(this.socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new JobHostError(`the socket path ${this.socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; refusing to start`);
    }
    const done = new Promise<number>((resolve) => (this.finished = resolve));
    // One SIGUSR1 listener per hosted job: many are expected here, not a leak.
    process.setMaxListeners(0);
    process.on('SIGUSR1', this.onSigusr1);
    await this.listen();
    process.on('SIGTERM', this.onSigterm);
    process.on('uncaughtException', this.onUncaught);
    process.on('unhandledRejection', this.onUncaught);
    this.watchTimer = setInterval(() => this.watch(), Math.min(WATCH_MS, Math.max(50, Math.floor(this.o.idleMs / 4))));
    this.o.log(`job host ${this.o.hostId} (pid ${process.pid}) listening on ${this.socketPath}; idle exit after ${this.o.idleMs} ms`);
    return done;
  }

  /**
   * Binds a temporary name and renames it over the socket path (a stale socket is replaced at once). Node unlinks the
   * name it bound when the listener closes, even at the process's end: that is the temporary one, so this host never
   * removes a socket that replaced its own; it removes the socket path itself only while it is still its socket.
   */
  private async listen(): Promise<void> {
    const old = fs.lstatSync(this.socketPath, { throwIfNoEntry: false });
    if (old?.isDirectory()) throw new JobHostError(`${this.socketPath} is a folder; refusing to start`);
    const bound = path.join(this.dir, `${this.o.hostId}.${process.pid.toString(36)}`);
    fs.rmSync(bound, { force: true });
    const server = net.createServer((sock) => this.onConnection(sock));
    // Only this user can connect; still, a runaway client cannot take every file descriptor.
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new JobHostError(`cannot listen on ${bound}: ${err.message}`)));
      // Bound inside listen(): the umask goes back at once.
      const mask = process.umask(0o177);
      try {
        server.listen(bound, () => resolve());
      } finally {
        process.umask(mask);
      }
    });
    server.on('error', (err) => this.o.log(`control socket: ${err.message}`));
    fs.chmodSync(bound, 0o600);
    fs.renameSync(bound, this.socketPath);
    if (old) this.o.log(`replaced the stale ${this.socketPath}`);
    this.socketId = this.socketIdentity() ?? '';
    this.server = server;
  }

  // ---- one control connection ----------------------------------------------------------------------------------------

  private onConnection(sock: net.Socket): void {
    if (this.closing) {
      sock.destroy();
      return;
    }
    const hostNonce = randomToken();
    let appNonce: string | null = null;
    let done = false;
    let buf = '';
    const timer = setTimeout(() => sock.destroy(), CONNECTION_TIMEOUT_MS);
    const finish = (answer: HostToApp) => {
      done = true;
      clearTimeout(timer);
      sock.end(JSON.stringify(answer) + '\n');
      // A peer that never closes its end does not keep the connection (or the host) open.
      setTimeout(() => sock.destroy(), CONNECTION_TIMEOUT_MS).unref();
    };
    const refuse = (reason: string) => finish({ type: 'host-refused', reason });
    const onLine = (line: string) => {
      let msg: AppToHost;
      try {
        msg = AppToHost.parse(JSON.parse(line));
      } catch {
        if (appNonce === null) this.countRefused('sent no valid challenge');
        return refuse('malformed message');
      }
      if (appNonce === null) {
        if (msg.type !== 'host-challenge') {
          this.countRefused(`sent ${msg.type} before proving the host key`);
          return refuse('prove the host key first');
        }
        if (!checkChannelProof(this.key, 'app', this.channelName, hostNonce, msg.appNonce, msg.proof)) {
          this.countRefused('did not prove the host key');
          return refuse('wrong proof of the host key');
        }
        appNonce = msg.appNonce;
        sock.write(JSON.stringify({ type: 'host-proof', proof: channelProof(this.key, 'runner', this.channelName, hostNonce, appNonce) } satisfies HostToApp) + '\n');
        return;
      }
      if (msg.type === 'host-start') return finish(this.start(msg, hostNonce, appNonce));
      if (msg.type === 'host-abandon') return finish(this.abandon(msg.jobId));
      return refuse('one challenge per connection');
    };
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('close', () => clearTimeout(timer));
    sock.on('data', (chunk: string) => {
      if (done) return;
      buf += chunk;
      let nl: number;
      while (!done && (nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          onLine(line);
        } catch (err) {
          // A request that failed here (a file that cannot be looked at) is refused; it does not stop the host.
          this.o.log(`a control request failed: ${(err as Error).message}`);
          if (!done) refuse('the job host could not handle the request; start the job without it');
        }
      }
      if (!done && buf.length > JOB_HOST_MAX_LINE_BYTES) {
        if (appNonce === null) this.countRefused('sent an over-long line');
        refuse(`a line longer than ${JOB_HOST_MAX_LINE_BYTES} bytes`);
      }
    });
    sock.write(
      JSON.stringify({ type: 'host-hello', protocol: JOB_HOST_PROTOCOL, runnerVersion: RUNNER_VERSION, hostId: this.o.hostId, hostNonce, pid: process.pid } satisfies HostToApp) + '\n',
    );
  }

  private countRefused(what: string): void {
    this.refusedProofs++;
    this.o.log(`refused a control connection that ${what} (${this.refusedProofs} refused so far)`);
  }

  // ---- requests ------------------------------------------------------------------------------------------------------

  private start(msg: Extract<AppToHost, { type: 'host-start' }>, hostNonce: string, appNonce: string): HostToApp {
    const refused = (reason: string): HostToApp => ({ type: 'host-refused', reason });
    if (this.closing) return refused('this job host is stopping; start the job without it');
    const changed = [...this.filesAtLaunch].find(([file, id]) => fileIdentity(file) !== id);
    if (changed) {
      this.o.log(`${changed[0]} was replaced or altered since this host started: no new jobs; exiting when the hosted jobs are done`);
      this.stopAccepting();
      return refused(`the runner file ${changed[0]} changed since this job host started; start the job with the exec (its integrity check looks at the file)`);
    }
    let start: RunnerStartFile;
    try {
      start = RunnerStartFile.parse(JSON.parse(openFromChannel(this.key, jobHostStartSealName(this.o.hostId, msg.jobId, msg.payload), hostNonce, appNonce, msg.sealedStart)));
    } catch (err) {
      return refused(`the sealed start file could not be opened: ${(err as Error).message.slice(0, 200)}`);
    }
    let dir: string;
    try {
      dir = jobDir(msg.jobId, this.o.env);
    } catch (err) {
      return refused((err as Error).message);
    }
    if (this.jobs.has(msg.jobId) || fs.existsSync(dir)) return refused(`job ${msg.jobId} is already in use on this server`);
    if (!payloadPresent(msg.payload, this.o.env)) return { type: 'host-payload-missing', jobId: msg.jobId };
    try {
      fs.mkdirSync(jobsRoot(this.o.env), { recursive: true, mode: 0o700 });
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return refused(code === 'EEXIST' ? `job ${msg.jobId} is already in use on this server` : `the job folder could not be created (${code ?? 'error'})`);
    }
    const jobId = msg.jobId;
    let supervisor: JobSupervisor;
    try {
      supervisor = jobContext.run(jobId, () => new JobSupervisor({ jobId, dir, env: this.o.env, payload: msg.payload, resume: false, start, log: jobLog(dir) }));
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      return refused(`the job could not be set up: ${(err as Error).message.slice(0, 200)}`);
    }
    this.jobs.set(jobId, supervisor);
    this.lastActivity = Date.now();
    void supervisor.ended.then(() => this.jobEnded(jobId, dir));
    // After the answer is written: the payload check and unpacking are not in the app's wait.
    setImmediate(() => jobContext.run(jobId, () => void supervisor.run().catch((err: unknown) => this.jobFailed(err))));
    this.o.log(`started job ${jobId}`);
    return { type: 'host-started', jobId };
  }

  private abandon(jobId: string): HostToApp {
    const supervisor = this.jobs.get(jobId);
    const ended = supervisor ? jobContext.run(jobId, () => supervisor.abandon()) : false;
    if (ended) this.o.log(`job ${jobId} abandoned by the app before it started`);
    return { type: 'host-abandoned', jobId, ended };
  }

  // ---- the jobs' ends ------------------------------------------------------------------------------------------------

  private jobEnded(jobId: string, dir: string): void {
    this.jobs.delete(jobId);
    this.lastActivity = Date.now();
    // Nothing supervises the job in this process any more: `attach` must resume it (`run --resume`), not signal the host.
    try {
      const record = readJobState(dir);
      if (record && !record.delivered && record.supervisorPid === process.pid) {
        const { supervisorPid: _gone, ...rest } = record;
        writeJobState(dir, rest);
      }
    } catch (err) {
      this.o.log(`job ${jobId}: state.json could not be updated: ${(err as Error).message}`);
    }
    this.o.log(`job ${jobId} done`);
    this.maybeExit();
  }

  /** An exception or rejection nobody handled: the job whose code it came from ends; outside any job, the host stops. */
  private jobFailed(err: unknown): void {
    const jobId = jobContext.getStore();
    const supervisor = jobId === undefined ? undefined : this.jobs.get(jobId);
    if (jobId !== undefined && !supervisor) {
      this.o.log(`job ${jobId}, already ended, raised: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (jobId === undefined || !supervisor) {
      this.o.log(`internal error outside any job, stopping the host (its jobs are resumed by attach): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      // The host's own state is unknown now: end like a killed `run` process, whose jobs `attach` resumes.
      process.exit(70);
    }
    try {
      jobContext.run(jobId, () => supervisor.crash(err));
    } catch (again) {
      try {
        jobContext.run(jobId, () => supervisor.crash(again));
      } catch {
        // crash() twice stops the job; nothing more can be done for it here.
      }
    }
  }

  // ---- stopping ------------------------------------------------------------------------------------------------------

  private watch(): void {
    if (!this.closing) {
      const now = this.socketIdentity();
      if (now !== this.socketId) {
        this.o.log(`${this.socketPath} was ${now ? 'replaced' : 'removed'}: no new jobs; exiting when the hosted jobs are done`);
        this.stopAccepting();
      }
    }
    this.maybeExit();
  }

  private stopAccepting(): void {
    if (this.closing) return;
    this.closing = true;
    this.server?.close();
    if (this.socketIdentity() === this.socketId) fs.rmSync(this.socketPath, { force: true });
  }

  private socketIdentity(): string | null {
    const st = fs.lstatSync(this.socketPath, { throwIfNoEntry: false, bigint: true });
    return st?.isSocket() ? `${st.dev}:${st.ino}:${st.ctimeNs}` : null;
  }

  private maybeExit(): void {
    if (this.jobs.size > 0 || this.server === null) return;
    if (!this.closing && Date.now() - this.lastActivity < this.o.idleMs) return;
    if (!this.closing) this.o.log(`idle for ${this.o.idleMs} ms: exiting`);
    this.stopAccepting();
    clearInterval(this.watchTimer);
    process.off('SIGTERM', this.onSigterm);
    process.off('uncaughtException', this.onUncaught);
    process.off('unhandledRejection', this.onUncaught);
    this.server = null;
    this.finished(0);
  }
}
