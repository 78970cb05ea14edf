/**
 * JobSupervisor: one job on the server, from payload to delivered exit. It verifies and unpacks the payload, waits for
 * the secret environment over the authenticated socket, runs the script in its own process group, masks secrets in,
 * numbers and spools every output line BEFORE sending it, streams batches (LOG_STREAM_BUFFER_SIZE bytes or ~5 ms),
 * replays from the app's `welcome.resumeFrom` after every reconnection, relays helper calls, and ends only when the
 * app has acknowledged the last line and the exit (or, finished and unattended, after a linger time: `attach` resumes
 * it later). It never writes a secret to disk and never drops a line.
 *
 * Re-attach (documented choice): `cronium-runner attach` writes the new port and token to attach.json and sends the
 * supervisor SIGUSR1; the supervisor reads (and deletes) the file and reconnects there at once. When no supervisor is
 * alive any more, `attach` starts `run --resume`, which replays the spool and reports the exit recorded in state.json.
 *
 * Server-fired jobs (`run --server-fired`, started by the resident runner for a server-held schedule): no app is
 * there, so there is no start file and no environment to wait for. The payload is verified with the key the resident
 * manifest was verified with, the script starts at once (server-held events use no secrets: docs/security.md), and
 * its helper calls are answered here while the app is away: output / setCondition / setVariable are recorded in
 * state.json (the variables are handed to the app as helper requests when it attaches), getVariable / input answer
 * that they are not available. Unattended at its exit, it stops at once; the app collects it later through `attach`.
 */
import { AsyncResource } from 'node:async_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  RUNNER_CAPABILITIES,
  RUNNER_PROTOCOL_VERSION,
  RUNNER_VERSION,
} from '../../src-shared/protocol/runner-info';
import { channelProof, checkChannelProof, openFromChannel, randomToken } from '../../src-shared/protocol/channel-auth';
import {
  RunnerStartFile,
  SealedEnv,
  type AppToRunner,
  type HelperCall,
  type HelperReply,
  type PayloadManifest,
  type WireLine,
} from '../../src-shared/protocol/runner-wire';
import { readJobState, writeJobState, type JobStateRecord } from '../job-folder';
import { payloadDir } from '../paths';
import { runtimeKind } from '../runtime-kind';
import { HelperServer } from './helper-server';
import { JobOutput } from './job-output';
import { openPayload } from './payload';
import { Spool } from './spool';
import { giveUpDelayMs, isCollected } from './give-up';
import { StreamClient, describeTunnel } from './stream-client';
import { trustedKeyPem } from '../resident/manifest';

export const START_FILE = 'start.json';
export const ATTACH_FILE = 'attach.json';
const BATCH_DELAY_MS = 5;
/** How often an unattended runner looks whether its job was collected elsewhere. */
const COLLECTED_CHECK_MS = 5_000;
const DEFAULT_BUFFER_BYTES = 64 * 1024;
const HIGH_WATER_BYTES = 8 * 1024 * 1024;
/**
 * Lines not sent yet, kept in memory for sending; beyond this many they are read back from the spool. A line leaves
 * memory once sent: a resend (a reconnection, or the app asking for lines again) reads the spool, which holds every
 * unacknowledged line anyway. Holding sent lines until their acknowledgement kept up to this many line objects alive,
 * which cost the runner more garbage collection than the resends it saved.
 */
const MAX_RECENT_LINES = 200_000;
/**
 * What a line adds to a batch's size besides its text: a `log` line's JSON keys and values, or a `log.columns` line's
 * stream letter and length (short lines then go about 8x more to a batch, and the app handles 8x fewer batches).
 */
const LINE_OVERHEAD_BYTES = 64;
const COLUMN_LINE_OVERHEAD_BYTES = 8;

type Exit = { code: number | null; signal: string | null; durationMs: number; error?: string };

export interface SupervisorOptions {
  jobId: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Payload checksum (new jobs); absent with resume. */
  payload?: string;
  resume: boolean;
  /** Started by the resident runner: no start file, no app, the script starts at once. */
  serverFired?: boolean;
  /** Hosted by a job host (jobhost/job-host.ts): the start file, handed over in memory instead of start.json. */
  start?: RunnerStartFile;
  log(text: string): void;
}

/** Reads a start/attach file and deletes it at once: the token it holds must not stay on disk. */
export function takeStartFile(file: string): RunnerStartFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } finally {
    fs.rmSync(file, { force: true });
  }
  return RunnerStartFile.parse(JSON.parse(text));
}

export class JobSupervisor {
  private state: 'starting' | 'running' | 'exited' = 'starting';
  private readonly spool: Spool;
  private client!: StreamClient;
  private manifest: PayloadManifest | null = null;
  private child: ChildProcess | null = null;
  private helperServer: HelperServer | null = null;
  private exit: Exit | null = null;
  private output: unknown = undefined;
  private condition: boolean | null = null;
  private startedAt = Date.now();
  private bufferBytes = DEFAULT_BUFFER_BYTES;
  private publicKey: string | undefined;
  /** The job key from the start/attach file: proved to the app, and the app must prove it back, on every connection. */
  private channelKey = '';
  /** This connection's nonces; `proven` once the app's challenge checked out (nothing else is believed before). */
  private handshake: { runnerNonce: string; appNonce?: string; proven: boolean } | null = null;
  /** The app's messages, handled one after another (opening sealed values is asynchronous). */
  private inbox: Promise<void> = Promise.resolve();

  private recent: WireLine[] = [];
  private recentHead = 0;
  private pendingBytes = 0;
  private ackedSeq = 0;
  private sentUpTo = 0;
  private welcomed = false;
  private exitSent = false;
  private pumpTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private collectedTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;

  private helperSeq = 0;
  private readonly pendingHelpers = new Map<string, { call: HelperCall; resolve(reply: HelperReply): void }>();
  private finished!: () => void;
  private readonly done = new Promise<void>((r) => (this.finished = r));
  private serverFired = false;
  /** setVariable calls a server-fired job made while the app was away, handed to the app when it attaches. */
  private pendingSets: HelperCall[] = [];
  /**
   * SIGUSR1 from `attach`: this job's listener reacts only when its own attach.json is there (a job host runs many
   * supervisors in one process, and each has its own listener). Bound to the job's async context (the host tells its
   * jobs' exceptions apart by it).
   */
  private readonly onSigusr1 = AsyncResource.bind(() => {
    if (fs.existsSync(path.join(this.o.dir, ATTACH_FILE))) this.reattach();
  });
  private crashed = false;

  constructor(private readonly o: SupervisorOptions) {
    fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    this.spool = new Spool(path.join(o.dir, 'spool'));
  }

  /** Runs until the job is delivered (or abandoned after the linger time). Resolves with the process exit code. */
  async run(): Promise<number> {
    this.serverFired = this.o.serverFired === true;
    const start = this.serverFired ? null : (this.o.start ?? takeStartFile(path.join(this.o.dir, this.o.resume ? ATTACH_FILE : START_FILE)));
    this.bufferBytes = start?.bufferSize ?? DEFAULT_BUFFER_BYTES;
    this.publicKey = this.serverFired ? trustedKeyPem(this.o.env) : start?.payloadPublicKey;
    this.channelKey = start?.channelKey ?? '';
    if (this.o.resume) this.recover();
    else this.prepare();
    this.writeState();
    this.client = new StreamClient(this.o.jobId, { port: start?.port, socket: start?.socket, token: start?.token ?? '' }, {
      onOpen: () => this.hello(),
      onMessage: (m) => {
        this.inbox = this.inbox.then(() => this.onMessage(m)).catch((err: unknown) => this.o.log(`handling ${m.type} failed: ${(err as Error).message}`));
      },
      onClose: () => {
        this.welcomed = false;
        this.handshake = null;
      },
      log: (t) => this.o.log(t),
    });
    process.on('SIGUSR1', this.onSigusr1);
    // A fresh server fire (not its later `run --resume`, which delivers to the app like any resumed job).
    if (this.o.serverFired === true && !this.o.resume) {
      // Nobody to connect to: the script starts now and the client connects when `attach` names a tunnel.
      if (!this.exit) {
        await this.startScript({}, []).catch((err: unknown) => {
          if (!this.exit) this.fail(`the script could not be started (${(err as NodeJS.ErrnoException)?.code ?? 'error'})`);
        });
      }
      if (this.exit && !this.welcomed) this.shutdown();
      await this.done;
      return 0;
    }
    this.armLinger();
    this.client.start();
    await this.done;
    return 0;
  }

  // ---- set-up ---------------------------------------------------------------------------------------------------

  private prepare(): void {
    try {
      this.manifest = openPayload(payloadDir(this.o.payload!, this.o.env), this.o.payload!, this.publicKey, path.join(this.o.dir, 'payload'));
    } catch (err) {
      this.fail(`${(err as Error).message}`);
    }
  }

  /** Resume after the supervising process is gone: deliver what state.json and the spool hold. */
  private recover(): void {
    const record = readJobState(this.o.dir);
    this.output = record?.output;
    this.condition = record?.condition ?? null;
    this.serverFired = record?.serverFired === true;
    for (const call of record?.pendingSets ?? []) this.queueSet(call);
    if (record?.state === 'exited') {
      this.state = 'exited';
      this.exit = { code: record.exitCode ?? null, signal: record.signal ?? null, durationMs: record.durationMs ?? 0, ...(record.error ? { error: record.error } : {}) };
      return;
    }
    // It died while the script ran: the script's output pipe died with it. End what is left of the group.
    if (record?.pid) killGroup(record.pid, 'SIGKILL');
    this.fail(`the runner process supervising this job stopped unexpectedly${record?.supervisorPid ? ` (pid ${record.supervisorPid})` : ''}; output after line ${this.spool.lastSeq} is lost`);
  }

  private fail(error: string): void {
    this.o.log(error);
    this.state = 'exited';
    this.exit = { code: null, signal: null, durationMs: Date.now() - this.startedAt, error };
    this.writeState();
  }

  private reattach(): void {
    try {
      const next = takeStartFile(path.join(this.o.dir, ATTACH_FILE));
      this.o.log(`re-attaching on ${describeTunnel(next)}`);
      if (next.channelKey) this.channelKey = next.channelKey;
      this.client.retarget({ port: next.port, socket: next.socket, token: next.token });
    } catch (err) {
      this.o.log(`SIGUSR1 without a readable ${ATTACH_FILE}: ${(err as Error).message}`);
    }
  }

  // ---- the app ----------------------------------------------------------------------------------------------------

  private hello(): void {
    this.handshake = { runnerNonce: randomToken(), proven: false };
    this.client.send({
      type: 'hello',
      protocolVersion: RUNNER_PROTOCOL_VERSION,
      runnerVersion: RUNNER_VERSION,
      os: process.platform,
      arch: process.arch,
      capabilities: [...RUNNER_CAPABILITIES],
      jobId: this.o.jobId,
      lastAckedSeq: this.ackedSeq,
      lastSeq: this.spool.lastSeq,
      state: this.state,
      nonce: this.handshake.runnerNonce,
    });
  }

  /** The app's challenge: believe this peer only if it proves the job key, then prove it back. */
  private async answerChallenge(nonce: string, proof: string): Promise<void> {
    const hs = this.handshake;
    if (!hs || hs.appNonce !== undefined) return;
    hs.appNonce = nonce;
    if (!this.channelKey || !checkChannelProof(this.channelKey, 'app', this.o.jobId, hs.runnerNonce, nonce, proof)) {
      this.o.log('the peer on the tunnel did not prove the job key: disconnecting (it is not the app that started this job)');
      this.handshake = null;
      this.client.drop();
      return;
    }
    hs.proven = true;
    this.client.send({ type: 'proof', proof: channelProof(this.channelKey, 'runner', this.o.jobId, hs.runnerNonce, nonce) });
  }

  /** Opens a value the app sealed for this connection. */
  private open(sealed: string): string {
    const hs = this.handshake!;
    return openFromChannel(this.channelKey, this.o.jobId, hs.runnerNonce, hs.appNonce!, sealed);
  }

  private async onMessage(m: AppToRunner): Promise<void> {
    if (m.type === 'challenge') return this.answerChallenge(m.nonce, m.proof);
    // Before the app has proved the job key, nothing it says is believed (a local user on an old tunnel port).
    if (!this.handshake?.proven) return;
    switch (m.type) {
      case 'welcome':
        if (m.sealedToken) this.client.renewToken(this.open(m.sealedToken));
        this.acknowledge(m.resumeFrom);
        this.sentUpTo = Math.min(m.resumeFrom, this.spool.lastSeq);
        this.exitSent = false;
        this.welcomed = true;
        for (const p of this.pendingHelpers.values()) this.client.send({ type: 'helper.request', id: p.call.id, op: p.call.op, args: p.call.args });
        this.pump();
        return;
      case 'env': {
        if (!(this.state === 'starting' && !this.child && !this.exit)) return;
        const env = m.sealed ? SealedEnv.parse(JSON.parse(this.open(m.sealed))) : { values: m.values, mask: m.mask ?? [], plain: {} };
        if (this.state === 'starting' && !this.child && !this.exit) {
          // spawn throws on an environment value with a NUL byte: the job fails and the runner stays up to report it.
          // Only the error code is kept: Node's message quotes the offending value, which may be a secret.
          this.startScript(env.values, env.mask, env.plain).catch((err: unknown) => {
            if (this.exit) return;
            this.fail(`the script could not be started (${(err as NodeJS.ErrnoException)?.code ?? 'error'}); check the event's environment values`);
            this.pump();
          });
        }
        return;
      }
      case 'ack':
        this.acknowledge(m.upTo);
        return;
      case 'cancel':
        this.cancel(m.graceMs);
        return;
      case 'helper.response': {
        const p = this.pendingHelpers.get(m.id);
        if (!p) return;
        this.pendingHelpers.delete(m.id);
        if (m.ok && p.call.op === 'output') this.output = p.call.args.value;
        if (m.ok && p.call.op === 'setCondition') this.condition = p.call.args.value === true;
        if (m.ok && (p.call.op === 'output' || p.call.op === 'setCondition')) this.writeState();
        p.resolve({ id: p.call.id, ok: m.ok, ...(m.value !== undefined ? { value: m.value } : {}), ...(m.error ? { error: m.error } : {}) });
        return;
      }
      case 'error':
        this.o.log(`the app refused a message: ${m.message}`);
        return;
    }
  }

  private acknowledge(upTo: number): void {
    if (upTo <= this.ackedSeq) return this.maybeFinish();
    this.ackedSeq = Math.min(upTo, this.spool.lastSeq);
    this.spool.trim(this.ackedSeq);
    while (this.recentHead < this.recent.length && this.recent[this.recentHead].seq <= this.ackedSeq) this.recentHead++;
    this.compactRecent();
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.state !== 'exited' || !this.exitSent || this.ackedSeq < this.spool.lastSeq) return;
    this.writeState({ delivered: true });
    this.spool.removeAll();
    this.shutdown();
  }

  private shutdown(): void {
    clearTimeout(this.pumpTimer);
    clearTimeout(this.lingerTimer);
    clearInterval(this.collectedTimer);
    clearTimeout(this.killTimer);
    // A crash can come before run() made the client.
    this.client?.stop();
    this.helperServer?.close();
    this.spool.close();
    process.off('SIGUSR1', this.onSigusr1);
    this.finished();
  }

  // ---- hosted (jobhost) ---------------------------------------------------------------------------------------------

  /** Resolves when this job is done: delivered, given up, abandoned or ended by crash(). */
  get ended(): Promise<void> {
    return this.done;
  }

  /** The app gave up on this job before its hello (host-abandon): ends it if it still waits for its environment. */
  abandon(): boolean {
    if (this.state !== 'starting' || this.child || this.exit) return false;
    this.fail('the app gave up waiting for this runner to connect (the job was abandoned before it started)');
    this.shutdown();
    return true;
  }

  /**
   * An exception escaped this job's code in a job host: the job ends (its script's process group is killed), recorded
   * as failed with the reason, and still tries to deliver that. A second one stops it at once (`attach` resumes it).
   */
  crash(err: unknown): void {
    const reason = `the runner failed inside this job (${err instanceof Error ? err.message : String(err)}); the job was ended`;
    this.o.log(`${reason}\n${err instanceof Error ? (err.stack ?? '') : ''}`);
    if (this.crashed) {
      try {
        this.shutdown();
      } catch (again) {
        this.o.log(`stopping after the failure failed too: ${(again as Error).message}`);
        this.finished();
      }
      return;
    }
    this.crashed = true;
    if (this.child?.pid && this.state === 'running') killGroup(this.child.pid, 'SIGKILL');
    this.state = 'exited';
    this.exit = { code: null, signal: null, durationMs: Date.now() - this.startedAt, error: reason };
    try {
      this.writeState();
    } catch (again) {
      this.o.log(`the failure could not be recorded in state.json: ${(again as Error).message}`);
    }
    // A crash can come before run() made the client.
    if (!this.client) return this.crash(err);
    this.armLinger();
    this.pump();
  }

  /** Sends what the app has not got yet, in order: from memory when it is there, from the spool otherwise. */
  private pump(): void {
    clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    if (!this.welcomed || !this.client.isOpen) return;
    while (this.sentUpTo < this.spool.lastSeq) {
      if (this.client.bufferedAmount > HIGH_WATER_BYTES) {
        this.pumpTimer = setTimeout(() => this.pump(), 5);
        return;
      }
      const next = this.sentUpTo + 1;
      const firstRecent = this.recentHead < this.recent.length ? this.recent[this.recentHead].seq : this.spool.lastSeq + 1;
      let batch: WireLine[];
      const overhead = this.lineOverhead();
      if (next >= firstRecent) {
        const from = this.recentHead + (next - firstRecent);
        let end = from;
        let bytes = 0;
        for (; end < this.recent.length; end++) {
          const length = this.recent[end].text.length;
          if (end > from && bytes + length > this.bufferBytes) break;
          bytes += length + overhead;
        }
        batch = this.recent.slice(from, end);
        this.recentHead = end;
        this.compactRecent();
      } else {
        batch = this.spool.read(next, firstRecent - 1, this.bufferBytes, overhead);
      }
      if (batch.length === 0) break;
      this.client.send({ type: 'log', lines: batch });
      this.sentUpTo = batch[batch.length - 1].seq;
    }
    this.pendingBytes = 0;
    if (this.state === 'exited' && this.exit && !this.exitSent && this.sentUpTo >= this.spool.lastSeq) {
      this.exitSent = true;
      this.client.send({
        type: 'exit',
        code: this.exit.code,
        signal: this.exit.signal,
        durationMs: this.exit.durationMs,
        ...(this.output !== undefined ? { output: this.output } : {}),
        condition: this.condition,
        lastSeq: this.spool.lastSeq,
        ...(this.exit.error ? { error: this.exit.error } : {}),
      });
      this.maybeFinish();
    }
  }

  private lineOverhead(): number {
    return this.client.sendsColumns ? COLUMN_LINE_OVERHEAD_BYTES : LINE_OVERHEAD_BYTES;
  }

  private schedulePump(now: boolean): void {
    if (now) return this.pump();
    this.pumpTimer ??= setTimeout(() => this.pump(), BATCH_DELAY_MS);
  }

  // ---- the script -------------------------------------------------------------------------------------------------

  private async startScript(secrets: Record<string, string>, alsoMask: string[], plain: Record<string, string> = {}): Promise<void> {
    const manifest = this.manifest!;
    const folder = path.join(this.o.dir, 'payload');
    const script = path.join(folder, manifest.entry);
    let socketPath = path.join(this.o.dir, 'helper.sock');
    // Unix socket paths are limited to ~107 bytes; a shorter home is private to this user, never a shared /tmp path.
    if (Buffer.byteLength(socketPath) > 100) socketPath = privateShortSocketPath(this.o.jobId);
    this.helperServer = new HelperServer(socketPath, (call) => this.helper(call));
    try {
      await this.helperServer.listen();
    } catch (err) {
      return this.fail(`the helper socket ${socketPath} could not be opened: ${(err as Error).message}`);
    }
    const kind = runtimeKind();
    const env: NodeJS.ProcessEnv = {
      ...this.o.env,
      ...manifest.env,
      ...plain,
      ...secrets,
      CRONIUM_JOB_ID: this.o.jobId,
      CRONIUM_HELPER_SOCKET: socketPath,
      CRONIUM_HELPERS: folder,
      CRONIUM_RUNNER_EXEC: process.execPath,
      CRONIUM_RUNNER_SCRIPT: kind === 'js' ? __filename : '',
      PYTHONUNBUFFERED: '1',
      PYTHONPATH: [folder, this.o.env.PYTHONPATH].filter(Boolean).join(':'),
      NODE_PATH: [folder, this.o.env.NODE_PATH].filter(Boolean).join(':'),
    };
    const [cmd, args] =
      manifest.interpreter === 'bash'
        ? ['bash', ['-c', `. "$CRONIUM_HELPERS/${manifest.helpers.bash}" && . "$0"`, script]]
        : manifest.interpreter === 'python3'
          ? ['python3', ['-u', script]]
          : ['node', [script]];
    this.startedAt = Date.now();
    const child = spawn(cmd, args as string[], { cwd: this.o.env.HOME || os.homedir(), env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    // Secrets are masked before a line reaches the spool (a file on the server) and before a long line is cut.
    const output = new JobOutput(this.spool, [...Object.values(secrets), ...alsoMask]);
    const take = (lines: WireLine[]) => {
      if (lines.length === 0) return;
      const overhead = this.lineOverhead();
      let bytes = 0;
      for (let i = 0; i < lines.length; i++) {
        this.recent.push(lines[i]);
        bytes += lines[i].text.length + overhead;
      }
      this.pendingBytes += bytes;
      if (this.recent.length - this.recentHead > MAX_RECENT_LINES) {
        this.recentHead = this.recent.length - MAX_RECENT_LINES;
        this.compactRecent();
      }
      this.schedulePump(this.pendingBytes >= this.bufferBytes);
    };
    child.stdout!.on('data', (c: Buffer) => take(output.push('stdout', c)));
    child.stderr!.on('data', (c: Buffer) => take(output.push('stderr', c)));
    child.on('error', (err) => {
      if (this.exit) return;
      this.child = null;
      this.fail(`could not start ${cmd}: ${err.message}${(err as NodeJS.ErrnoException).code === 'ENOENT' ? ` (is ${cmd} installed on this server?)` : ''}`);
      this.pump();
    });
    child.on('close', (code, signal) => {
      if (this.exit) return;
      take(output.end());
      this.spool.sync();
      clearTimeout(this.killTimer);
      this.state = 'exited';
      this.exit = { code, signal, durationMs: Date.now() - this.startedAt };
      this.writeState();
      // A server-fired job nobody is attached to: its spool and state.json wait for the app's `attach`.
      if (this.serverFired && !this.welcomed) return this.shutdown();
      this.armLinger();
      this.pump();
    });
    if (child.pid) {
      this.state = 'running';
      this.writeState();
    }
  }

  private cancel(graceMs: number): void {
    const pid = this.child?.pid;
    if (!pid || this.state !== 'running') return;
    killGroup(pid, 'SIGTERM');
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
  }

  private helper(call: HelperCall): Promise<HelperReply> {
    if (call.op === 'event' && this.manifest) {
      // Known here: answered without a round trip (and while the app is away).
      return Promise.resolve({ id: call.id, ok: true, value: { ...this.manifest.job, jobId: this.o.jobId } });
    }
    if (this.serverFired && !this.welcomed) return Promise.resolve(this.answerAway(call));
    return new Promise((resolve) => {
      const id = `h${++this.helperSeq}`;
      const wireCall = { ...call, id };
      this.pendingHelpers.set(id, { call: wireCall, resolve: (r) => resolve({ ...r, id: call.id }) });
      // Sent now if the app is there, else on the next welcome: the script waits meanwhile.
      if (this.welcomed) this.client.send({ type: 'helper.request', id, op: call.op, args: call.args });
    });
  }

  /** A server-fired job's helper call while the app is away: recorded for the app, or refused with the reason. */
  private answerAway(call: HelperCall): HelperReply {
    const args = call.args as { value?: unknown; secret?: boolean };
    switch (call.op) {
      case 'output':
        this.output = args.value;
        this.writeState();
        return { id: call.id, ok: true };
      case 'setCondition':
        this.condition = args.value === true;
        this.writeState();
        return { id: call.id, ok: true };
      case 'setVariable':
        if (args.secret) return { id: call.id, ok: false, error: 'a job fired on the server cannot set a secret variable (secrets never go to the server)' };
        this.queueSet({ ...call, id: `s${this.pendingSets.length + 1}-${Date.now()}` });
        this.writeState();
        return { id: call.id, ok: true };
      default:
        return { id: call.id, ok: false, error: `${call.op} is not available to a job fired on the server while the app is away` };
    }
  }

  /** Keeps a setVariable for the app: sent as a helper request on every welcome until the app has answered it. */
  private queueSet(call: HelperCall): void {
    this.pendingSets.push(call);
    this.pendingHelpers.set(call.id, {
      call,
      resolve: () => {
        this.pendingSets = this.pendingSets.filter((c) => c.id !== call.id);
        this.writeState();
      },
    });
  }

  // ---- housekeeping ---------------------------------------------------------------------------------------------

  private compactRecent(): void {
    if (this.recentHead >= this.recent.length) {
      // Everything was sent (the usual case after a pump): nothing keeps the sent lines alive.
      this.recent = [];
      this.recentHead = 0;
    } else if (this.recentHead > 50_000 && this.recentHead > this.recent.length / 2) {
      this.recent = this.recent.slice(this.recentHead);
      this.recentHead = 0;
    }
  }

  /**
   * The give-up rule (give-up.ts): a job nobody collects stops trying to reach the app once it is collected (the
   * job folder gone or marked delivered by another process: checked every COLLECTED_CHECK_MS while unattended) or its
   * own retention is over (timeout plus a grace), whichever comes first, within the linger times. Its spool and
   * state.json stay, and `attach` starts `run --resume` to deliver them. A running script is never left.
   */
  private armLinger(): void {
    clearTimeout(this.lingerTimer);
    const ms = giveUpDelayMs({
      state: this.state,
      startedAt: this.startedAt,
      now: Date.now(),
      timeoutSeconds: this.manifest?.timeoutSeconds ?? null,
      lingerOverrideMs: Number(this.o.env.CRONIUM_RUNNER_LINGER_MS) || null,
    });
    if (ms !== null) {
      this.lingerTimer = setTimeout(() => {
        this.o.log(`nobody collected this job within its retention (${ms} ms more): stopping (the spool is kept for attach)`);
        if (this.state === 'starting') this.fail('the app never sent the environment to start the script');
        this.shutdown();
      }, ms);
      this.lingerTimer.unref();
    }
    if (!this.collectedTimer) {
      this.collectedTimer = setInterval(() => {
        if (this.welcomed || this.state === 'running') return;
        if (isCollected(readJobState(this.o.dir), fs.existsSync(this.o.dir))) {
          this.o.log('this job was collected elsewhere (its folder is gone or marked delivered): stopping');
          this.shutdown();
        }
      }, COLLECTED_CHECK_MS);
      this.collectedTimer.unref();
    }
  }

  private writeState(extra: Partial<JobStateRecord> = {}): void {
    const record: JobStateRecord = {
      state: this.state === 'starting' ? 'queued' : this.state,
      updatedAt: new Date().toISOString(),
      supervisorPid: process.pid,
      startedAt: new Date(this.startedAt).toISOString(),
      lastSeq: this.spool.lastSeq,
      ...(this.o.payload ? { payload: this.o.payload } : {}),
      ...(this.child?.pid ? { pid: this.child.pid } : {}),
      ...(this.exit
        ? { exitCode: this.exit.code, signal: this.exit.signal, durationMs: this.exit.durationMs, ...(this.exit.error ? { error: this.exit.error } : {}) }
        : {}),
      ...(this.output !== undefined ? { output: this.output } : {}),
      condition: this.condition,
      ...(this.serverFired ? { serverFired: true, pendingSets: this.pendingSets } : {}),
      ...extra,
    };
    writeJobState(this.o.dir, record);
  }
}

export function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {}
  }
}

/** Whether a process is alive (a zombie is not: kill -0 succeeds on zombies, /proc's state field tells). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (macOS): kill -0 is all there is
  }
}

/**
 * A short socket path only this user can reach: in $XDG_RUNTIME_DIR when it is ours and 0700, otherwise in
 * ~/.cronium/sock (created 0700, and refused if another user owns it). Never a shared folder such as /tmp, where
 * another user could create the path first and receive the helper calls.
 */
export function privateShortSocketPath(jobId: string, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const name = `cronium-${jobId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 40)}.sock`;
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && path.isAbsolute(runtime)) {
    const st = fs.statSync(runtime, { throwIfNoEntry: false });
    if (st?.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0) return path.join(runtime, name);
  }
  const dir = path.join(home, '.cronium', 'sock');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.statSync(dir);
  if (uid !== undefined && st.uid !== uid) throw new Error(`${dir} belongs to another user: refusing to put the helper socket there`);
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  return path.join(dir, name);
}
