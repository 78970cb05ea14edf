/**
 * The job host (`cronium-runner jobhost`), run for real: the runner's source bundled with esbuild, started as its own
 * process against a runner home in a temp folder, driven over its control socket as the app would, with a fake app
 * (a WebSocket server on each job's tunnel socket speaking the runner wire: challenge, proof, welcome, env, acks).
 * Proofs both ways, a wrong proof refused and counted, the key file checks, the stale socket, many jobs at once,
 * SIGUSR1 reaching only the job whose attach.json is there, an exception in one job leaving the others running,
 * host-abandon, idle exit, the socket path removed, SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import * as tar from 'tar';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { runCommandLine } from '../../../src-runner/cli';
import { channelProof, checkChannelProof, randomToken, sealForChannel } from '../../../src-shared/protocol/channel-auth';
import { HostToApp, jobHostChannelName, jobHostStartSealName, type AppToHost } from '../../../src-shared/protocol/job-host';
import { PAYLOAD_FORMAT_VERSION, payloadSignedString, RunnerToApp, type RunnerStartFile } from '../../../src-shared/protocol/runner-wire';

const ROOT = path.resolve(__dirname, '..', '..', '..');
let work: string;
let bundle: string;
const hosts: ChildProcess[] = [];
const servers: http.Server[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-jobhost-'));
  bundle = path.join(work, 'runner.cjs');
  await build({
    entryPoints: [path.join(ROOT, 'src-runner', 'main.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['bufferutil', 'utf-8-validate'],
    logLevel: 'warning',
  });
}, 60_000);

afterEach(() => {
  for (const h of hosts.splice(0)) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
  for (const s of servers.splice(0)) s.close();
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(what: string, fn: () => T | undefined | null | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// ---- a runner home with a payload ---------------------------------------------------------------------------------

interface Home {
  home: string;
  hostId: string;
  key: string;
  socket: string;
  payload: string;
  publicKeyPem: string;
}

let homes = 0;
function makeHome(script: string, keyMode = 0o600): Home {
  const home = path.join(work, `h${++homes}`);
  fs.mkdirSync(path.join(home, 'jobhost'), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.join(home, 'jobhost'), 0o700);
  const hostId = randomToken(12);
  const key = randomToken();
  const keyFile = path.join(home, 'jobhost', `${hostId}.key`);
  fs.writeFileSync(keyFile, JSON.stringify({ key }), { mode: keyMode });
  fs.chmodSync(keyFile, keyMode);
  // A signed payload, as PayloadService builds one: manifest, script, helper shims.
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const staging = path.join(home, 'staging');
  fs.mkdirSync(staging);
  const manifest = {
    formatVersion: PAYLOAD_FORMAT_VERSION,
    interpreter: 'bash',
    entry: 'script.sh',
    env: {},
    timeoutSeconds: 60,
    job: { eventId: 'e1', eventName: 'job host test', eventVersion: 1 },
    helpers: { bash: 'cronium.sh', python: 'cronium.py', node: 'cronium.js' },
  };
  fs.writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify(manifest));
  fs.writeFileSync(path.join(staging, 'script.sh'), script);
  for (const f of ['cronium.sh', 'cronium.py', 'cronium.js']) fs.writeFileSync(path.join(staging, f), '');
  const archive = path.join(home, 'payload.tar.gz');
  tar.create({ cwd: staging, gzip: true, portable: true, sync: true, file: archive }, ['manifest.json', 'script.sh', 'cronium.sh', 'cronium.py', 'cronium.js']);
  const bytes = fs.readFileSync(archive);
  const payload = createHash('sha256').update(bytes).digest('hex');
  const dir = path.join(home, 'payloads', payload);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'payload.tar.gz'), bytes);
  const signature = sign(null, Buffer.from(payloadSignedString(payload)), privateKey).toString('base64');
  fs.writeFileSync(path.join(dir, 'payload.sig'), JSON.stringify({ formatVersion: PAYLOAD_FORMAT_VERSION, checksum: payload, keyId: 'test', signature }));
  return { home, hostId, key, socket: path.join(home, 'jobhost', `${hostId}.sock`), payload, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

interface Host {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function startHost(h: Home, idleMs = 60_000, extraEnv: NodeJS.ProcessEnv = {}, runnerFile = bundle): Host {
  const child = spawn(process.execPath, [runnerFile, 'jobhost', '--id', h.hostId, '--idle-ms', String(idleMs)], {
    env: { ...process.env, CRONIUM_RUNNER_HOME: h.home, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  hosts.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

async function startedHost(h: Home, idleMs?: number, extraEnv?: NodeJS.ProcessEnv, runnerFile?: string): Promise<Host> {
  const host = startHost(h, idleMs, extraEnv, runnerFile);
  await waitFor('the host socket', () => host.out().includes('listening on'), 20_000).catch((err: Error) => {
    throw new Error(`${err.message}: ${host.out()}`);
  });
  return host;
}

// ---- the app's side of the control socket -------------------------------------------------------------------------

class Control {
  private buf = '';
  private readonly lines: HostToApp[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  readonly sock: net.Socket;

  constructor(socketPath: string) {
    this.sock = net.connect(socketPath);
    this.sock.setEncoding('utf8');
    this.sock.on('data', (c: string) => {
      this.buf += c;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) !== -1) {
        this.lines.push(HostToApp.parse(JSON.parse(this.buf.slice(0, nl))));
        this.buf = this.buf.slice(nl + 1);
      }
      this.wake();
    });
    this.sock.on('error', () => undefined);
    this.sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The next message, or null when the host closed the connection first. */
  async next(): Promise<HostToApp | null> {
    while (this.lines.length === 0 && !this.closed) await new Promise<void>((r) => this.waiters.push(r));
    return this.lines.shift() ?? null;
  }

  send(m: AppToHost | Record<string, unknown>): void {
    this.sock.write(JSON.stringify(m) + '\n');
  }
}

/** Connects and proves `key` (the host's key unless the test says otherwise); returns the connection and both nonces. */
async function proven(h: Home, key = h.key) {
  const c = new Control(h.socket);
  const hello = await c.next();
  if (hello?.type !== 'host-hello') throw new Error(`expected host-hello, got ${JSON.stringify(hello)}`);
  const appNonce = randomToken();
  c.send({ type: 'host-challenge', appNonce, proof: channelProof(key, 'app', jobHostChannelName(h.hostId), hello.hostNonce, appNonce) });
  const answer = await c.next();
  return { c, hello, appNonce, answer };
}

/** host-start for `jobId` with a fake app on its tunnel socket; the fake app is listening once this returns host-started. */
async function startJob(h: Home, jobId: string, app: FakeApp, opts: { payload?: string; sealedFor?: string } = {}): Promise<HostToApp | null> {
  const { c, hello, appNonce, answer } = await proven(h);
  expect(answer?.type).toBe('host-proof');
  const socket = path.join(h.home, 'jobs', jobId, 'tunnel.sock');
  const start: RunnerStartFile = { token: 't', socket, payloadPublicKey: h.publicKeyPem, channelKey: app.channelKey, bufferSize: 4096 };
  if (hello?.type !== 'host-hello') throw new Error('no hello');
  c.send({
    type: 'host-start',
    jobId,
    payload: opts.payload ?? h.payload,
    sealedStart: sealForChannel(h.key, jobHostStartSealName(h.hostId, opts.sealedFor ?? jobId, opts.payload ?? h.payload), hello.hostNonce, appNonce, JSON.stringify(start)),
  });
  const reply = await c.next();
  if (reply?.type === 'host-started') await app.listen(socket);
  return reply;
}

async function abandon(h: Home, jobId: string): Promise<HostToApp | null> {
  const { c } = await proven(h);
  c.send({ type: 'host-abandon', jobId });
  return c.next();
}

/** The app's end of one job's tunnel: proves the job key, sends the environment, acknowledges every line and the exit. */
class FakeApp {
  readonly hellos: Array<{ jobId: string; state: string }> = [];
  readonly lines = new Map<number, string>();
  exit: Extract<RunnerToApp, { type: 'exit' }> | null = null;
  connections = 0;
  /** The runner proved the job key on a connection. */
  proven = false;
  readonly helperCalls: string[] = [];
  /** Sends `cancel` when this line arrives. */
  cancelOn: string | null = null;

  constructor(
    readonly jobId: string,
    private readonly env: Record<string, string> | null = {},
    /** The job key; an app attaching to a job it started keeps the key it started it with. */
    readonly channelKey = randomToken(),
  ) {}

  listen(socket: string): Promise<void> {
    const server = http.createServer();
    servers.push(server);
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => this.onConnection(ws));
    return new Promise((resolve) => server.listen(socket, resolve));
  }

  private onConnection(ws: WebSocket): void {
    this.connections++;
    let runnerNonce = '';
    const appNonce = randomToken();
    const send = (m: unknown) => ws.send(JSON.stringify(m));
    ws.on('message', (data: Buffer) => {
      const m = RunnerToApp.parse(JSON.parse(data.toString('utf8')));
      switch (m.type) {
        case 'hello':
          this.hellos.push({ jobId: m.jobId, state: m.state });
          runnerNonce = m.nonce!;
          send({ type: 'challenge', nonce: appNonce, proof: channelProof(this.channelKey, 'app', this.jobId, runnerNonce, appNonce) });
          return;
        case 'proof':
          if (!checkChannelProof(this.channelKey, 'runner', this.jobId, runnerNonce, appNonce, m.proof)) throw new Error('the runner did not prove the job key');
          this.proven = true;
          send({ type: 'welcome', resumeFrom: Math.max(0, ...this.lines.keys()) });
          if (this.env && m.type === 'proof' && this.hellos[this.hellos.length - 1].state === 'starting') {
            // Plain (CRONIUM_OPT_*) values: secret ones would be masked in the lines.
            const sealed = sealForChannel(this.channelKey, this.jobId, runnerNonce, appNonce, JSON.stringify({ values: {}, mask: [], plain: this.env }));
            send({ type: 'env', values: {}, sealed });
          }
          return;
        case 'log':
          for (const l of m.lines) this.lines.set(l.seq, l.text);
          send({ type: 'ack', upTo: m.lines[m.lines.length - 1].seq });
          if (this.cancelOn && m.lines.some((l) => l.text === this.cancelOn)) send({ type: 'cancel', graceMs: 100 });
          return;
        case 'helper.request':
          this.helperCalls.push(m.op);
          send({ type: 'helper.response', id: m.id, ok: true });
          return;
        case 'exit':
          this.exit = m;
          send({ type: 'ack', upTo: m.lastSeq });
          return;
        default:
          return;
      }
    });
  }

  texts(): string[] {
    return [...this.lines.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t);
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const stateOf = (h: Home, jobId: string): Record<string, unknown> => {
  try {
    return JSON.parse(fs.readFileSync(path.join(h.home, 'jobs', jobId, 'state.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
};

// ---- the tests ------------------------------------------------------------------------------------------------------

// Real processes on a 2-core machine other work shares: generous limits (the waits end as soon as the thing happens).
describe('the job host', { timeout: 60_000 }, () => {
  it('proves the host key only to an app that proved it first; a wrong or missing proof gets nothing and is counted', async () => {
    const h = makeHome('echo hi\n');
    const host = await startedHost(h);
    expect(fs.existsSync(path.join(h.home, 'jobhost', `${h.hostId}.key`))).toBe(false);
    expect(fs.statSync(h.socket).mode & 0o777).toBe(0o600);

    const wrong = await proven(h, randomToken());
    expect(wrong.hello).toMatchObject({ type: 'host-hello', hostId: h.hostId, pid: host.child.pid });
    expect(wrong.answer).toMatchObject({ type: 'host-refused' });
    wrong.c.send({ type: 'host-start', jobId: 'j-wrong', payload: h.payload, sealedStart: 'x' });
    expect(await wrong.c.next()).toBeNull();

    // A start without any challenge: refused, nothing created.
    const bare = new Control(h.socket);
    await bare.next();
    bare.send({ type: 'host-start', jobId: 'j-bare', payload: h.payload, sealedStart: 'x' });
    expect(await bare.next()).toMatchObject({ type: 'host-refused' });
    expect(await bare.next()).toBeNull();
    expect(fs.existsSync(path.join(h.home, 'jobs'))).toBe(false);
    await waitFor('the count', () => host.out().includes('(2 refused so far)'));

    const good = await proven(h);
    const hello = good.hello.type === 'host-hello' ? good.hello : null;
    expect(good.answer?.type).toBe('host-proof');
    const proof = good.answer?.type === 'host-proof' ? good.answer.proof : '';
    expect(checkChannelProof(h.key, 'runner', jobHostChannelName(h.hostId), hello!.hostNonce, good.appNonce, proof)).toBe(true);
    // A start file sealed with another key is refused too.
    good.c.send({ type: 'host-start', jobId: 'j-other-key', payload: h.payload, sealedStart: sealForChannel(randomToken(), jobHostChannelName(h.hostId), hello!.hostNonce, good.appNonce, '{}') });
    expect(await good.c.next()).toMatchObject({ type: 'host-refused' });
    expect(fs.existsSync(path.join(h.home, 'jobs', 'j-other-key'))).toBe(false);
  });

  it('runs many jobs at once, each exactly as `run` would, refuses a job id in use, then exits when idle', async () => {
    const h = makeHome('for i in $(seq 1 300); do echo "$CRONIUM_OPT_TAG $i"; done\n');
    const host = await startedHost(h, 3_000);
    const apps = Array.from({ length: 12 }, (_, i) => new FakeApp(`job-${i}`, { CRONIUM_OPT_TAG: `tag${i}` }));
    const replies = await Promise.all(apps.map((a) => startJob(h, a.jobId, a)));
    expect(replies.map((r) => r?.type)).toEqual(apps.map(() => 'host-started'));
    await waitFor('state.json', () => fs.existsSync(path.join(h.home, 'jobs', 'job-0', 'state.json')));
    expect(stateOf(h, 'job-0').supervisorPid).toBe(host.child.pid);
    expect(fs.statSync(path.join(h.home, 'jobs', 'job-0')).mode & 0o777).toBe(0o700);
    expect(fs.existsSync(path.join(h.home, 'jobs', 'job-0', 'start.json'))).toBe(false);
    expect(await startJob(h, 'job-0', new FakeApp('job-0'))).toMatchObject({ type: 'host-refused', reason: expect.stringMatching(/already in use/) });
    for (const a of apps) {
      await waitFor(`${a.jobId}'s exit`, () => a.exit, 15_000);
      expect(a.exit).toMatchObject({ code: 0, lastSeq: 300 });
      expect(a.texts()).toEqual(Array.from({ length: 300 }, (_, i) => `tag${a.jobId.slice(4)} ${i + 1}`));
    }
    await waitFor('delivered', () => apps.every((a) => stateOf(h, a.jobId).delivered === true));
    expect(await host.exited).toBe(0);
    expect(fs.existsSync(h.socket)).toBe(false);
    expect(host.out()).not.toMatch(/Warning/);
  });

  it('relays a hosted job\'s helper calls to the app and cancels its script on the app\'s cancel', async () => {
    const h = makeHome('"$CRONIUM_RUNNER_EXEC" "$CRONIUM_RUNNER_SCRIPT" helper output \'{"a":1}\'; echo ready; sleep 30\n');
    await startedHost(h);
    const app = new FakeApp('job-helper', {});
    app.cancelOn = 'ready';
    expect((await startJob(h, 'job-helper', app))?.type).toBe('host-started');
    await waitFor('the exit', () => app.exit, 15_000);
    expect(app.helperCalls).toEqual(['output']);
    expect(app.exit).toMatchObject({ code: null, signal: 'SIGTERM', output: { a: 1 } });
    expect(app.texts()).toEqual(['ready']);
  });

  it('refuses a start file sealed for another job id (a relay moving one job\'s start to another), and starts nothing', async () => {
    const h = makeHome('echo hi\n');
    await startedHost(h);
    const app = new FakeApp('job-moved');
    const reply = await startJob(h, 'job-moved', app, { sealedFor: 'job-other' });
    expect(reply).toMatchObject({ type: 'host-refused', reason: expect.stringMatching(/sealed start file could not be opened/) });
    expect(fs.existsSync(path.join(h.home, 'jobs', 'job-moved'))).toBe(false);
  });

  it('answers host-payload-missing when the payload is not there, and starts nothing', async () => {
    const h = makeHome('echo hi\n');
    await startedHost(h);
    const app = new FakeApp('job-np');
    expect(await startJob(h, 'job-np', app, { payload: 'ab'.repeat(32) })).toEqual({ type: 'host-payload-missing', jobId: 'job-np' });
    expect(fs.existsSync(path.join(h.home, 'jobs', 'job-np'))).toBe(false);
  });

  it('sends SIGUSR1 on to the job whose attach.json is there only; host-abandon ends a job still waiting for its env', async () => {
    const h = makeHome('echo never\n');
    const host = await startedHost(h);
    const one = new FakeApp('job-one', null);
    const two = new FakeApp('job-two', null);
    const three = new FakeApp('job-three', null);
    for (const app of [one, two, three]) expect((await startJob(h, app.jobId, app))?.type).toBe('host-started');
    await waitFor('the hellos', () => one.hellos.length === 1 && two.hellos.length === 1 && three.hellos.length === 1);
    // A job that ends leaves the other jobs' SIGUSR1 listeners (and the host's) in place.
    expect(await abandon(h, 'job-three')).toEqual({ type: 'host-abandoned', jobId: 'job-three', ended: true });
    await waitFor('job three ended', () => host.out().includes('job job-three done'));

    // SIGUSR1 without any attach.json: nobody moves, and no inspector opens.
    process.kill(host.child.pid!, 'SIGUSR1');
    await sleep(300);
    expect(isAlive(host.child.pid!)).toBe(true);
    expect(host.out()).not.toMatch(/Debugger listening/);

    const moved = new FakeApp('job-one', null, one.channelKey);
    const newSocket = path.join(h.home, 'jobs', 'job-one', 'tunnel2.sock');
    await moved.listen(newSocket);
    const attach: RunnerStartFile = { token: 't2', socket: newSocket, channelKey: one.channelKey };
    fs.writeFileSync(path.join(h.home, 'jobs', 'job-one', 'attach.json'), JSON.stringify(attach), { mode: 0o600 });
    process.kill(host.child.pid!, 'SIGUSR1');
    await waitFor('job one on its new tunnel', () => moved.hellos.length === 1 && moved.proven);
    expect(moved.hellos[0]).toEqual({ jobId: 'job-one', state: 'starting' });
    expect(fs.existsSync(path.join(h.home, 'jobs', 'job-one', 'attach.json'))).toBe(false);
    await sleep(300);
    expect(two.connections).toBe(1);
    expect(two.hellos).toHaveLength(1);

    expect(await abandon(h, 'job-two')).toEqual({ type: 'host-abandoned', jobId: 'job-two', ended: true });
    expect(await abandon(h, 'job-two')).toEqual({ type: 'host-abandoned', jobId: 'job-two', ended: false });
    expect(await abandon(h, 'job-unknown')).toEqual({ type: 'host-abandoned', jobId: 'job-unknown', ended: false });
    await waitFor('job two recorded as ended', () => stateOf(h, 'job-two').state === 'exited');
    // Not supervised any more: `attach` resumes it (run --resume) instead of signalling the host.
    await waitFor('supervisorPid cleared', () => stateOf(h, 'job-two').supervisorPid === undefined);
    expect(stateOf(h, 'job-two').error).toMatch(/gave up waiting/);
    expect(stateOf(h, 'job-one')).toMatchObject({ state: 'queued', supervisorPid: host.child.pid });
  });

  it('ends only the job an exception came from: its sibling keeps running and delivers every line', async () => {
    const h = makeHome('echo "$CRONIUM_OPT_TAG start"; sleep 1; for i in $(seq 1 50); do echo "$CRONIUM_OPT_TAG $i"; sleep 0.01; done\n');
    const host = await startedHost(h);
    const bad = new FakeApp('job-bad', { CRONIUM_OPT_TAG: 'bad' });
    const good = new FakeApp('job-good', { CRONIUM_OPT_TAG: 'good' });
    expect((await startJob(h, 'job-bad', bad))?.type).toBe('host-started');
    expect((await startJob(h, 'job-good', good))?.type).toBe('host-started');
    await waitFor('the bad job running', () => stateOf(h, 'job-bad').state === 'running');
    // Its state file can no longer be replaced: the write at the script's exit throws inside the job's own code.
    const state = path.join(h.home, 'jobs', 'job-bad', 'state.json');
    fs.rmSync(state);
    fs.mkdirSync(path.join(state, 'blocker'), { recursive: true });
    await waitFor('the bad job ended', () => bad.exit, 15_000);
    expect(bad.exit).toMatchObject({ code: null, error: expect.stringMatching(/the runner failed inside this job/) });
    await waitFor('the good job ended', () => good.exit, 15_000);
    expect(good.exit).toMatchObject({ code: 0, lastSeq: 51 });
    expect(good.texts()).toEqual(['good start', ...Array.from({ length: 50 }, (_, i) => `good ${i + 1}`)]);
    expect(isAlive(host.child.pid!)).toBe(true);
    // Still serving.
    const after = new FakeApp('job-after', { CRONIUM_OPT_TAG: 'after' });
    expect((await startJob(h, 'job-after', after))?.type).toBe('host-started');
    await waitFor('the next job ended', () => after.exit, 15_000);
    expect(after.exit).toMatchObject({ code: 0 });
  });

  it('ends only the job whose helper call raised an exception in the runner: its sibling and the host go on', async () => {
    // A runner whose supervisor throws on one helper call (the helper socket's callbacks run outside the job's own
    // async context: the host must still tell which job it came from).
    const own = path.join(work, 'runner-helper-throws.cjs');
    const text = fs.readFileSync(bundle, 'utf8');
    const injected = text.replace(/\n {2}helper\((\w+)\) \{\n/, (m, call: string) => `${m}    if (${call}.op === "output" && ${call}.args.value === "boom") throw new Error("a helper call failed in the runner");\n`);
    expect(injected).not.toBe(text);
    fs.writeFileSync(own, injected);
    const h = makeHome('echo "$CRONIUM_OPT_TAG start"; "$CRONIUM_RUNNER_EXEC" "$CRONIUM_RUNNER_SCRIPT" helper output "$CRONIUM_OPT_TAG"; sleep 1; echo "$CRONIUM_OPT_TAG done"\n');
    const host = await startedHost(h, 60_000, {}, own);
    const bad = new FakeApp('job-boom', { CRONIUM_OPT_TAG: 'boom' });
    const good = new FakeApp('job-fine', { CRONIUM_OPT_TAG: 'fine' });
    expect((await startJob(h, 'job-boom', bad))?.type).toBe('host-started');
    expect((await startJob(h, 'job-fine', good))?.type).toBe('host-started');
    await waitFor('the bad job ended', () => bad.exit, 15_000);
    expect(bad.exit).toMatchObject({ code: null, error: expect.stringMatching(/the runner failed inside this job \(a helper call failed in the runner\)/) });
    expect(bad.texts()).toEqual(['boom start']);
    await waitFor('the good job ended', () => good.exit, 15_000);
    expect(good.exit).toMatchObject({ code: 0, output: 'fine' });
    expect(good.texts()).toEqual(['fine start', 'fine done']);
    expect(good.helperCalls).toEqual(['output']);
    expect(isAlive(host.child.pid!)).toBe(true);
    expect(host.out()).not.toMatch(/outside any job/);
  });

  it('keeps `status` and `attach` working: alive while hosted, and `run --resume` reports the end when the host died', async () => {
    const h = makeHome('echo "before"; sleep 30\n');
    const host = await startedHost(h);
    const app = new FakeApp('job-orphan', {});
    expect((await startJob(h, 'job-orphan', app))?.type).toBe('host-started');
    await waitFor('the first line', () => app.lines.size === 1);
    let out = '';
    const io = { stdout: (t: string) => void (out += t), stderr: () => undefined, env: { ...process.env, CRONIUM_RUNNER_HOME: h.home } };
    expect(await runCommandLine(['status', '--job', 'job-orphan'], io)).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ state: 'running', supervisor: 'alive' });
    const scriptPid = stateOf(h, 'job-orphan').pid as number;
    host.child.kill('SIGKILL');
    await host.exited;
    out = '';
    expect(await runCommandLine(['status', '--job', 'job-orphan'], io)).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ state: 'running', supervisor: 'gone' });
    // The app's attach: a new tunnel, then the real `attach` command (bundled), which starts `run --resume`.
    const resumed = new FakeApp('job-orphan', null, app.channelKey);
    const socket = path.join(h.home, 'jobs', 'job-orphan', 'tunnel2.sock');
    await resumed.listen(socket);
    fs.writeFileSync(path.join(h.home, 'jobs', 'job-orphan', 'attach.json'), JSON.stringify({ token: 't', socket, channelKey: app.channelKey }), { mode: 0o600 });
    const attach = spawn(process.execPath, [bundle, 'attach', '--job', 'job-orphan', '--socket', socket], { env: io.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let printed = '';
    attach.stdout!.on('data', (c: Buffer) => (printed += c.toString()));
    await new Promise((r) => attach.on('exit', r));
    expect(JSON.parse(printed)).toMatchObject({ supervisor: 'restarted' });
    await waitFor('the recorded end', () => resumed.exit, 15_000);
    expect(resumed.exit?.error).toMatch(/stopped unexpectedly \(pid \d+\)/);
    await waitFor('the script ended', () => !isAlive(scriptPid));
  });

  it('refuses new jobs once its code bundle was altered after it started, and stops accepting; its running job goes on', async () => {
    const h = makeHome('sleep 1; echo done\n');
    const own = path.join(work, 'runner-altered.cjs');
    fs.copyFileSync(bundle, own);
    const host = await startedHost(h, 60_000, {}, own);
    const app = new FakeApp('job-before', {});
    expect((await startJob(h, 'job-before', app))?.type).toBe('host-started');
    fs.appendFileSync(own, '\n// altered\n');
    const later = new FakeApp('job-after', {});
    const reply = await startJob(h, 'job-after', later);
    expect(reply).toMatchObject({ type: 'host-refused', reason: expect.stringMatching(/runner-altered\.cjs changed since this job host started/) });
    expect(fs.existsSync(path.join(h.home, 'jobs', 'job-after'))).toBe(false);
    expect(fs.existsSync(h.socket)).toBe(false);
    await waitFor('the first job\'s exit', () => app.exit, 10_000);
    expect(app.texts()).toEqual(['done']);
    expect(await host.exited).toBe(0);
  });

  it('stops accepting on SIGTERM and exits once its jobs are done', async () => {
    const h = makeHome('sleep 1; echo done\n');
    const host = await startedHost(h);
    const app = new FakeApp('job-term', {});
    expect((await startJob(h, 'job-term', app))?.type).toBe('host-started');
    await waitFor('running', () => stateOf(h, 'job-term').state === 'running');
    host.child.kill('SIGTERM');
    await waitFor('the socket gone', () => !fs.existsSync(h.socket));
    expect(isAlive(host.child.pid!)).toBe(true);
    await waitFor('the exit', () => app.exit, 10_000);
    expect(app.texts()).toEqual(['done']);
    expect(await host.exited).toBe(0);
  });

  it('exits once idle when its socket path is removed or replaced', async () => {
    const h = makeHome('echo hi\n');
    const host = await startedHost(h);
    fs.rmSync(h.socket);
    fs.writeFileSync(h.socket, 'someone else');
    expect(await host.exited).toBe(0);
    expect(fs.readFileSync(h.socket, 'utf8')).toBe('someone else');
  });

  it('deletes the key files of launches whose host never started, and no other', async () => {
    const h = makeHome('echo hi\n');
    const dir = path.join(h.home, 'jobhost');
    const stale = path.join(dir, `${randomToken(12)}.key`);
    const fresh = path.join(dir, `${randomToken(12)}.key`);
    for (const f of [stale, fresh]) fs.writeFileSync(f, JSON.stringify({ key: randomToken() }), { mode: 0o600 });
    const old = new Date(Date.now() - 5 * 60_000);
    fs.utimesSync(stale, old, old);
    const host = await startedHost(h);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
    expect(fs.existsSync(path.join(dir, `${h.hostId}.key`))).toBe(false);
    expect(host.out()).toMatch(/removed the stale key file/);
  });

  it('replaces a stale socket and exits by itself when idle', async () => {
    const h = makeHome('echo hi\n');
    fs.writeFileSync(h.socket, 'stale');
    const host = await startedHost(h, 1_000);
    expect(fs.statSync(h.socket).isSocket()).toBe(true);
    expect(await host.exited).toBe(0);
    expect(host.out()).toMatch(/replaced the stale/);
    expect(fs.existsSync(h.socket)).toBe(false);
  });

  it.each([
    ['a group-readable key file', (h: Home) => fs.chmodSync(path.join(h.home, 'jobhost', `${h.hostId}.key`), 0o640), /mode 0640/],
    ['a key file that is a symlink', (h: Home) => {
      const file = path.join(h.home, 'jobhost', `${h.hostId}.key`);
      fs.renameSync(file, `${file}.real`);
      fs.symlinkSync(`${file}.real`, file);
    }, /cannot be opened \(ELOOP\)/],
    ['a folder open to others', (h: Home) => fs.chmodSync(path.join(h.home, 'jobhost'), 0o755), /must be 0700/],
  ])('refuses to start with %s', async (_what, spoil, message) => {
    const h = makeHome('echo hi\n');
    spoil(h);
    const host = startHost(h);
    expect(await host.exited).toBe(4);
    expect(host.out()).toMatch(message);
    expect(fs.existsSync(h.socket)).toBe(false);
    // No key is left behind by a host that refused to start.
    expect(fs.existsSync(path.join(h.home, 'jobhost', `${h.hostId}.key`))).toBe(false);
  });
});
