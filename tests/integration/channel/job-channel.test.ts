// The job channel against a real OpenSSH sshd with a second real Unix user on it (issue 12 item 2). By default the
// tunnel ends on a Unix socket in the job's 0700 folder: the other user cannot even connect to it (EACCES). On a
// second sshd with `AllowStreamLocalForwarding no` the app falls back to a loopback TCP port, and the other user, who
// can connect to it (runuser ... node), is refused at the upgrade without a token; with a valid runner token (as if it
// had stolen one) it gets the app's challenge and nothing else: no environment, no secret, no renewed token; its
// helper calls are not run. Either way the job completes with its full log, the secret masked.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { REPO_ROOT, createTestCore, type TestCore } from '../../harness/test-core';
import { MASK } from '../../../src-shared/logs/secret-masker';
import { addServer, linesOf, requireRunnerBuild, resetHome, saveEvent, sshdSessionPids, start, waitFor } from '../runner-exec/runner-exec-fixtures';

let sshd: SshdHandle;
let noStreamLocalSshd: SshdHandle;
let jobUser: SshdKeyUser;
let otherUser: SshdKeyUser;
let fallbackUser: SshdKeyUser;
let fallbackOtherUser: SshdKeyUser;
let tc: TestCore;
let serverId: string;
let fallbackServerId: string;
let scratch: string;

beforeAll(async () => {
  requireRunnerBuild();
  sshd = await startSshd({ users: 2, firstUser: 61 });
  [jobUser, otherUser] = sshd.extraUsers;
  noStreamLocalSshd = await startSshd({ users: 2, firstUser: 65, allowStreamLocalForwarding: false });
  [fallbackUser, fallbackOtherUser] = noStreamLocalSshd.extraUsers;
  resetHome(jobUser);
  resetHome(fallbackUser);
  tc = await createTestCore();
  await tc.core.start();
  serverId = await addServer(tc.core, sshd, jobUser, 'channel-auth');
  fallbackServerId = await addServer(tc.core, noStreamLocalSshd, fallbackUser, 'channel-auth-tcp');
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-channel-'));
  fs.chmodSync(scratch, 0o755);
  // The attacker runs as another user, who may not be able to enter the checkout (a 0700 clone folder): give it its
  // own readable copy of ws (no dependencies of its own).
  fs.cpSync(path.join(REPO_ROOT, 'node_modules', 'ws'), path.join(scratch, 'node_modules', 'ws'), { recursive: true });
  execFileSync('chmod', ['-R', 'a+rX', scratch]);
}, 180_000);

afterAll(async () => {
  await tc?.cleanup();
  if (jobUser) resetHome(jobUser);
  if (fallbackUser) resetHome(fallbackUser);
  await sshd?.stop();
  await noStreamLocalSshd?.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

/** The Unix sockets the user's sshd session processes listen on (the streamlocal reverse tunnels). */
function tunnelSockets(username: string): string[] {
  const pids = new Set(sshdSessionPids(username));
  const out = execFileSync('ss', ['-Hxlp'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => [...l.matchAll(/pid=(\d+)/g)].some((m) => pids.has(Number(m[1]))))
    .map((l) => /\s(\/\S+)\s/.exec(l)?.[1] ?? '')
    .filter((p) => p.startsWith('/'));
}

/** Connects, as `user`, to a Unix socket and prints what happened: 'connected' or the error code. */
function connectSocketAs(user: string, socketPath: string): string {
  const script = path.join(scratch, `socket-${Math.random().toString(36).slice(2)}.cjs`);
  fs.writeFileSync(
    script,
    `const s = require('node:net').connect({ path: process.argv[2] });
    s.on('connect', () => { process.stdout.write('connected'); s.destroy(); });
    s.on('error', (e) => process.stdout.write(e.code || e.message));`,
  );
  fs.chmodSync(script, 0o644);
  return execFileSync('runuser', ['-u', user, '--', process.execPath, script, socketPath], { encoding: 'utf8' });
}

/** The loopback TCP ports the job user's sshd session processes listen on (the reverse tunnels). */
function tunnelPorts(username: string): number[] {
  const pids = new Set(sshdSessionPids(username));
  const out = execFileSync('ss', ['-Htlnp'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => [...l.matchAll(/pid=(\d+)/g)].some((m) => pids.has(Number(m[1]))))
    .map((l) => Number(/127\.0\.0\.1:(\d+)/.exec(l)?.[1]))
    .filter((p) => Number.isInteger(p) && p > 0);
}

/**
 * Runs, as `user`, a small WebSocket client against the tunnel port: says hello like a runner (state 'starting', with
 * a nonce and the capability), answers the challenge with a made-up proof, asks for a variable, and prints every
 * frame it received and how the connection ended.
 */
function attackAs(user: string, port: number, jobId: string, token: string | null): Promise<{ status?: number; frames: string[]; closed?: number }> {
  const script = path.join(scratch, `attacker-${Math.random().toString(36).slice(2)}.cjs`);
  fs.writeFileSync(
    script,
    `const WebSocket = require(${JSON.stringify(path.join(scratch, 'node_modules', 'ws'))});
    const [port, jobId, token] = process.argv.slice(2);
    const out = { frames: [] };
    const headers = token ? { authorization: 'Bearer ' + token } : {};
    const ws = new WebSocket('ws://127.0.0.1:' + port + '/api/runner/stream/' + encodeURIComponent(jobId), { headers });
    const finish = () => { process.stdout.write(JSON.stringify(out)); process.exit(0); };
    ws.on('unexpected-response', (_req, res) => { out.status = res.statusCode; finish(); });
    ws.on('error', () => finish());
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', protocolVersion: 1, runnerVersion: '1.0.0', os: 'linux', arch: 'x64',
        capabilities: ['spool', 'helpers', 'replay', 'cancel', 'health', 'channel-auth-v1'], jobId, lastAckedSeq: 0, lastSeq: 0,
        state: 'starting', nonce: 'A'.repeat(43) }));
      ws.send(JSON.stringify({ type: 'helper.request', id: 'x1', op: 'setVariable', args: { key: 'PWNED', value: '1' } }));
      ws.send(JSON.stringify({ type: 'log', lines: [{ seq: 1, stream: 'stdout', ts: new Date().toISOString(), text: 'forged line' }] }));
    });
    ws.on('message', (data) => {
      const text = data.toString();
      out.frames.push(text);
      const msg = JSON.parse(text);
      if (msg.type === 'challenge') ws.send(JSON.stringify({ type: 'proof', proof: 'B'.repeat(43) }));
    });
    ws.on('close', (code) => { out.closed = code; finish(); });
    setTimeout(finish, 15000);`,
  );
  fs.chmodSync(script, 0o644);
  return new Promise((resolve, reject) => {
    const child = spawn('runuser', ['-u', user, '--', process.execPath, script, String(port), jobId, token ?? ''], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`attacker client exited ${code}: ${err}`))));
  });
}

/** A runner job that prints a secret and 60 lines, started and streaming. */
async function startStreamingJob(onServer: string): Promise<{ jobId: string; eventId: string; secret: string }> {
  const secret = `pw-${Math.random().toString(36).slice(2)}-channel`;
  const event = await saveEvent(tc.core, onServer, {
    scriptType: 'bash',
    secrets: [{ name: 'API_TOKEN', value: secret }],
    content: 'echo "secret is $API_TOKEN"\nfor i in $(seq 1 60); do echo "line $i"; sleep 0.05; done\n',
  });
  const job = await start(tc.core, event.id);
  await waitFor('the job to stream', async () => {
    const j = await tc.core.jobs.get(job.id);
    return j.status === 'RUNNING' && j.logId && (await linesOf(tc.core, j.logId)).length >= 3;
  }, 60_000, 20);
  return { jobId: job.id, eventId: event.id, secret };
}

/** The job ended with every line, the secret masked, nothing forged; returns its runner metadata. */
async function expectFullLog(jobId: string, secret: string): Promise<Record<string, unknown> | null> {
  const done = await tc.core.jobs.waitForJob(jobId);
  expect(done).toMatchObject({ status: 'SUCCESS', exitCode: 0, executionMode: 'runner-ssh' });
  const lines = await linesOf(tc.core, done.logId!);
  const stdout = lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
  expect(stdout).toEqual([`secret is ${MASK}`, ...Array.from({ length: 60 }, (_, i) => `line ${i + 1}`)]);
  expect(stdout.join('\n')).not.toContain(secret);
  expect(lines.some((l) => l.text.includes('forged line'))).toBe(false);
  return (await tc.core.logs.store.get(done.logId!)).runnerMetadata;
}

describe('the job channel', () => {
  it('ends the tunnel on a Unix socket in the 0700 job folder that another user cannot connect to; the job completes with its full log', async () => {
    const { jobId, secret } = await startStreamingJob(serverId);
    const jobFolder = path.join(jobUser.home, '.cronium/jobs', jobId);
    const socketPath = path.join(jobFolder, 'tunnel.sock');
    expect(tunnelSockets(jobUser.username)).toContain(socketPath);
    expect(tunnelPorts(jobUser.username)).toEqual([]);
    expect(fs.statSync(socketPath).isSocket()).toBe(true);
    expect(fs.statSync(jobFolder).mode & 0o777).toBe(0o700);
    expect(fs.statSync(jobFolder).uid).toBe(fs.statSync(jobUser.home).uid);
    // The other user on the server cannot reach the socket at all.
    expect(connectSocketAs(otherUser.username, socketPath)).toBe('EACCES');
    // The job's own user can (as its runner does).
    expect(connectSocketAs(jobUser.username, socketPath)).toBe('connected');

    const metadata = await expectFullLog(jobId, secret);
    expect(metadata).toMatchObject({ tunnel: { kind: 'unix-socket' } });
  }, 120_000);

  it('falls back to a loopback TCP port where the server refuses Unix-socket forwarding, gives another user who reaches it no secret and no token, and the job completes with its full log', async () => {
    const { jobId, eventId, secret } = await startStreamingJob(fallbackServerId);
    const job = { id: jobId };
    const event = { id: eventId };
    const jobUser = fallbackUser;
    const otherUser = fallbackOtherUser;
    const serverId = fallbackServerId;
    expect(tunnelSockets(jobUser.username)).toEqual([]);
    const ports = tunnelPorts(jobUser.username);
    expect(ports.length).toBeGreaterThan(0);

    // The second user, as themselves, with no token: refused before the upgrade.
    for (const port of ports) {
      const anonymous = await attackAs(otherUser.username, port, job.id, null);
      expect(anonymous.status).toBe(401);
      expect(anonymous.frames).toEqual([]);
    }

    // With a valid runner token for this job (as if stolen): only the challenge, then the connection is closed.
    const stolen = await tc.core.listenerAuth.mintToken({ aud: 'runner', sub: job.id, jobId: job.id, serverId }, 300);
    for (const port of ports) {
      const attempt = await attackAs(otherUser.username, port, job.id, stolen);
      expect(attempt.status).toBeUndefined();
      const types = attempt.frames.map((f) => JSON.parse(f).type);
      expect(types).toEqual(['challenge']);
      expect(attempt.frames.join('')).not.toContain(secret);
      expect(attempt.closed).toBeDefined();
    }

    const metadata = await expectFullLog(job.id, secret);
    expect(metadata).toMatchObject({ tunnel: { kind: 'tcp', reason: expect.stringMatching(/refused to forward the Unix socket/) } });
    // The attacker's helper call was not run.
    await expect(tc.core.variables.get('PWNED', { eventId: event.id })).resolves.toBeNull();
    // Once the job has ended its tokens are refused, the stolen one too.
    await expect(tc.core.listenerAuth.verifyToken(stolen, 'runner')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  }, 120_000);
});
