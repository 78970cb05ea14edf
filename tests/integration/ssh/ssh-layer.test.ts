// The SSH layer against a real OpenSSH sshd (tests/harness/sshd.ts): authentication, exec, host-key trust, typed
// errors, reverse tunnels, SFTP and the pool's reuse, liveness and reconnection.
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle } from '../../harness/sshd';
import { createHost, destroyAll } from '../../harness/netns';
import { freePort } from '../../harness/ports';
import { SshConnection, pipeToLocal } from '../../../src-main/core/ssh/ssh-connection';
import { SshPool } from '../../../src-main/core/ssh/ssh-pool';
import { probeHostKey } from '../../../src-main/core/ssh/host-key';
import { AppError } from '../../../src-main/core/errors';
import type { SshConnectionEvent, SshTarget } from '../../../src-main/core/ssh/types';
import { ErrorCode } from '../../../src-shared/errors';

const quick = { connectTimeoutMs: 5_000, livenessIntervalMs: 0, livenessTimeoutMs: 1_000, idleCloseMs: 0 };

let sshd: SshdHandle;
const opened: SshConnection[] = [];
const pools: SshPool[] = [];

function keyTarget(overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    serverId: 'srv-key', name: 'db-1', host: sshd.host, port: sshd.port, username: sshd.keyUser.username,
    auth: { type: 'key', privateKey: sshd.keyUser.privateKey }, pinnedFingerprint: sshd.hostKeyFingerprint,
    ...overrides,
  };
}
function passwordTarget(overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    serverId: 'srv-pw', name: 'web-1', host: sshd.host, port: sshd.port, username: sshd.passwordUser.username,
    auth: { type: 'password', password: sshd.passwordUser.password }, pinnedFingerprint: sshd.hostKeyFingerprint,
    ...overrides,
  };
}
async function open(target: SshTarget, options = quick): Promise<SshConnection> {
  const connection = await SshConnection.open(target, options);
  opened.push(connection);
  return connection;
}
function pool(targets: Record<string, () => SshTarget>, options: ConstructorParameters<typeof SshPool>[1] = {}): SshPool {
  const p = new SshPool(async (id) => targets[id]!(), { connectTimeoutMs: 5_000, ...options });
  pools.push(p);
  return p;
}
async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}
/** sshd's own record of authentication steps (LogLevel VERBOSE) in a slice of its log. */
const authLines = (log: string) =>
  log.split('\n').filter((l) => /publickey|password|Accepted|Failed|Postponed|Authentication/i.test(l));

beforeAll(async () => {
  sshd = await startSshd();
});
afterEach(() => {
  for (const c of opened.splice(0)) c.end();
  for (const p of pools.splice(0)) p.closeAll();
});
afterAll(async () => {
  await sshd?.stop();
});

describe('SSH layer against a real sshd', () => {
  describe('when the user connects with a key', () => {
    it('runs a command with separate stdout, stderr and exit code', async () => {
      const c = await open(keyTarget());
      const r = await c.exec('echo out; echo err >&2; whoami; exit 3');
      expect(r).toMatchObject({ code: 3, signal: null, stdout: `out\n${sshd.keyUser.username}\n`, stderr: 'err\n' });
    });

    it('reports a process killed by a signal with its signal name and no code', async () => {
      const c = await open(keyTarget());
      const r = await c.exec('kill -TERM $$');
      expect(r.code).toBeNull();
      expect(r.signal).toBe('SIGTERM');
    });

    it('streams output to callbacks instead of collecting it, and feeds stdin', async () => {
      const c = await open(keyTarget());
      const chunks: Buffer[] = [];
      const r = await c.exec('tr a-z A-Z', { stdin: 'hello stdin', onStdout: (b) => chunks.push(b) });
      expect(r.stdout).toBeUndefined();
      expect(Buffer.concat(chunks).toString()).toBe('HELLO STDIN');
    });

    it('bounds collected output and says it truncated', async () => {
      const c = await open(keyTarget());
      const r = await c.exec('head -c 100000 /dev/zero', { maxCollectBytes: 1000 });
      expect(r.stdout).toHaveLength(1000);
      expect(r.truncated).toBe(true);
    });

    it('stops a command that overruns its timeout, and one that is cancelled', async () => {
      const c = await open(keyTarget());
      const started = Date.now();
      expect((await rejection(c.exec('sleep 20', { timeoutMs: 300 }))).code).toBe(ErrorCode.EXEC_TIMEOUT);
      const abort = new AbortController();
      setTimeout(() => abort.abort(), 200);
      expect((await rejection(c.exec('sleep 20', { signal: abort.signal }))).code).toBe(ErrorCode.EXEC_CANCELLED);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await c.exec('echo still usable')).stdout).toBe('still usable\n');
    });
  });

  describe('when the key cannot be used', () => {
    it('says KEY_INVALID for a malformed key, and for an encrypted key without its passphrase', async () => {
      const bad = await rejection(open(keyTarget({ auth: { type: 'key', privateKey: 'not a key' } })));
      expect(bad.code).toBe(ErrorCode.KEY_INVALID);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-layer-key-'));
      try {
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', path.join(dir, 'k')]);
        const encrypted = fs.readFileSync(path.join(dir, 'k'), 'utf8');
        const missing = await rejection(open(keyTarget({ auth: { type: 'key', privateKey: encrypted } })));
        expect(missing.code).toBe(ErrorCode.KEY_INVALID);
        // With its passphrase the key parses, and the server refuses it only because it is not authorized.
        const refused = await rejection(open(keyTarget({ auth: { type: 'key', privateKey: encrypted, passphrase: 'correct horse' } })));
        expect(refused.code).toBe(ErrorCode.AUTH_FAILED);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('when the user connects with a password', () => {
    it('authenticates and runs the command', async () => {
      const c = await open(passwordTarget());
      expect((await c.exec('whoami')).stdout).toBe(`${sshd.passwordUser.username}\n`);
    });

    it('refuses a wrong password with AUTH_FAILED naming the user', async () => {
      const err = await rejection(open(passwordTarget({ auth: { type: 'password', password: 'not-the-password' } })));
      expect(err.code).toBe(ErrorCode.AUTH_FAILED);
      expect(err.message).toContain(`refused the password for user ${sshd.passwordUser.username}`);
    });

    it('refuses a key login for the password-only user', async () => {
      const err = await rejection(open(passwordTarget({ auth: { type: 'key', privateKey: sshd.keyUser.privateKey } })));
      expect(err.code).toBe(ErrorCode.AUTH_FAILED);
    });
  });

  describe('when the server is contacted for the first time', () => {
    it('probeHostKey shows the fingerprint OpenSSH prints, without authenticating', async () => {
      const mark = sshd.log().length;
      const probed = await probeHostKey(sshd.host, sshd.port, 3_000);
      expect(probed).toEqual({ fingerprint: sshd.hostKeyFingerprint, algorithm: 'ssh-ed25519' });
      await new Promise((r) => setTimeout(r, 200));
      expect(authLines(sshd.log().slice(mark))).toEqual([]);
    });

    it('refuses to connect with HOST_KEY_UNTRUSTED carrying the fingerprint to show the user', async () => {
      const err = await rejection(open(keyTarget({ pinnedFingerprint: null })));
      expect(err.code).toBe(ErrorCode.HOST_KEY_UNTRUSTED);
      expect(err.extra.details).toEqual({ fingerprint: sshd.hostKeyFingerprint, algorithm: 'ssh-ed25519' });
    });

    it('connects once the fingerprint is pinned', async () => {
      const c = await open(keyTarget({ pinnedFingerprint: sshd.hostKeyFingerprint }));
      expect((await c.exec('true')).code).toBe(0);
    });
  });

  describe("when the server's host key changed", () => {
    it('refuses with both fingerprints before any credential is sent', async () => {
      const pinned = sshd.hostKeyFingerprint;
      await sshd.regenerateHostKey();
      expect(sshd.hostKeyFingerprint).not.toBe(pinned);
      const mark = sshd.log().length;
      const err = await rejection(open(keyTarget({ pinnedFingerprint: pinned })));
      expect(err.code).toBe(ErrorCode.HOST_KEY_CHANGED);
      expect(err.message).toContain(`expected ${pinned}, got ${sshd.hostKeyFingerprint}`);
      expect(err.message).toContain('connection refused before sending credentials');
      await new Promise((r) => setTimeout(r, 200));
      const log = sshd.log().slice(mark);
      expect(log).toContain('Connection from'); // the attempt reached sshd ...
      expect(authLines(log)).toEqual([]); // ... and sshd saw no authentication at all
    });
  });

  describe('when the server cannot be reached', () => {
    it('fails fast with HOST_UNREACHABLE naming host and port when nothing listens', async () => {
      const port = await freePort();
      const started = Date.now();
      const err = await rejection(open(keyTarget({ port })));
      expect(err.code).toBe(ErrorCode.HOST_UNREACHABLE);
      expect(err.message).toContain(`127.0.0.1:${port}`);
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it('gives up with CONNECT_TIMEOUT within the bound when packets vanish', async () => {
      const host = await createHost('sshlayer-bh', 211);
      try {
        const far = await host.startSshd();
        await host.blackhole();
        const started = Date.now();
        const err = await rejection(
          open(keyTarget({ host: far.host, port: far.port, pinnedFingerprint: far.hostKeyFingerprint }), { ...quick, connectTimeoutMs: 1_500 }),
        );
        const waited = Date.now() - started;
        expect(err.code).toBe(ErrorCode.CONNECT_TIMEOUT);
        expect(waited).toBeGreaterThanOrEqual(1_400);
        expect(waited).toBeLessThan(2_500);
      } finally {
        await destroyAll();
      }
    });
  });

  describe('when the app opens a reverse tunnel', () => {
    it('carries bytes both ways between a remote client and a local listener', async () => {
      const received: Buffer[] = [];
      const bulk = crypto.randomBytes(256 * 1024);
      const local = net.createServer((socket) => {
        socket.once('data', (first) => {
          received.push(first);
          socket.write(`${first.toString().trim().toUpperCase()}\n`);
          socket.end(bulk);
        });
      });
      await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
      const localPort = (local.address() as net.AddressInfo).port;
      try {
        const c = await open(keyTarget());
        const tunnel = await c.forwardIn('127.0.0.1', 0, pipeToLocal(localPort));
        expect(tunnel.remotePort).toBeGreaterThan(0);
        const r = await c.exec(
          `exec 3<>/dev/tcp/127.0.0.1/${tunnel.remotePort}; echo hello >&3; read -r reply <&3; echo "$reply"; cat <&3 | sha256sum`,
        );
        expect(received.map(String).join('')).toBe('hello\n');
        const [reply, digest] = (r.stdout ?? '').split('\n');
        expect(reply).toBe('HELLO');
        expect(digest).toContain(crypto.createHash('sha256').update(bulk).digest('hex'));
        await tunnel.close();
        const after = await c.exec(`exec 3<>/dev/tcp/127.0.0.1/${tunnel.remotePort} && echo open || echo closed`);
        expect(after.stdout).toContain('closed');
      } finally {
        local.close();
      }
    });
  });

  describe('when the app transfers files over SFTP', () => {
    it('creates folders, uploads with a mode, stats, and reads from an offset', async () => {
      const c = await open(keyTarget());
      const dir = `.cronium-test/${crypto.randomUUID()}/a/b`;
      await c.mkdirp(dir);
      await c.mkdirp(dir); // again: existing folders are fine
      const content = Buffer.from('0123456789abcdef');
      await c.uploadFile(content, `${dir}/buf.bin`, 0o750);
      const stat = await c.stat(`${dir}/buf.bin`);
      expect(stat).toMatchObject({ size: 16, isFile: true, isDirectory: false });
      expect(stat!.mode & 0o777).toBe(0o750);
      expect((await c.readFile(`${dir}/buf.bin`)).toString()).toBe('0123456789abcdef');
      expect((await c.readFile(`${dir}/buf.bin`, { start: 10 })).toString()).toBe('abcdef');

      const localFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-layer-')), 'big.bin');
      const big = crypto.randomBytes(3 * 1024 * 1024 + 7);
      fs.writeFileSync(localFile, big);
      await c.uploadFile(localFile, `${dir}/big.bin`, 0o600);
      const sum = await c.exec(`sha256sum ${dir}/big.bin; stat -c %a ${dir}/big.bin`);
      expect(sum.stdout).toContain(crypto.createHash('sha256').update(big).digest('hex'));
      expect(sum.stdout).toContain('\n600\n');
      expect(await c.stat(`${dir}/missing`)).toBeNull();
      fs.rmSync(path.dirname(localFile), { recursive: true, force: true });
      await c.exec(`rm -rf .cronium-test/${dir.split('/')[1]}`);
    });
  });

  describe('when the pool serves a server', () => {
    it('reuses one connection for sequential execs (one login in the sshd log)', async () => {
      const p = pool({ 'srv-key': () => keyTarget() }, { livenessIntervalMs: 0 });
      const mark = sshd.log().length;
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++) {
        expect((await p.exec('srv-key', `echo ${i}`)).stdout).toBe(`${i}\n`);
        ids.add(p.connectionsOf('srv-key')[0]!.id);
      }
      expect(ids.size).toBe(1);
      expect(sshd.log().slice(mark).match(/Accepted publickey/g)).toHaveLength(1);
    });

    it('logs in with a key in one signed request, without first asking whether the key would do', async () => {
      const mark = sshd.log().length;
      const c = await open(keyTarget());
      expect((await c.exec('echo ok')).stdout).toBe('ok\n');
      const lines = authLines(sshd.log().slice(mark));
      expect(lines.filter((l) => /Accepted publickey/.test(l))).toHaveLength(1);
      // The unsigned query ssh2 sends by default is answered PK_OK and logged "Postponed publickey" (LogLevel VERBOSE).
      expect(lines.filter((l) => /Postponed/.test(l))).toEqual([]);
    });

    it('spreads a burst over a bounded number of connections', async () => {
      const p = pool({ 'srv-key': () => keyTarget() }, { maxChannelsPerConnection: 3, maxConnectionsPerServer: 2, livenessIntervalMs: 0 });
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => p.exec('srv-key', `sleep 0.2; echo ${i}`)));
      expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 12 }, (_, i) => `${i}\n`));
      expect(p.connectionsOf('srv-key').length).toBe(2);
    });

    it('measures its latency, and closes an idle connection', async () => {
      const events: SshConnectionEvent[] = [];
      const p = pool({ 'srv-key': () => keyTarget() }, { livenessIntervalMs: 100, idleCloseMs: 600, onConnectionEvent: (e) => events.push(e) });
      const c = await p.acquire('srv-key');
      await new Promise((r) => setTimeout(r, 350));
      expect(c.latencyMs).not.toBeNull();
      expect(c.latencyMs!).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 700));
      expect(events).toContainEqual(expect.objectContaining({ type: 'closed', connectionId: c.id, reason: 'idle' }));
      expect(p.connectionsOf('srv-key')).toHaveLength(0);
    });

    it('prints exec latency on a warm connection', async () => {
      const p = pool({ 'srv-key': () => keyTarget() }, { livenessIntervalMs: 0 });
      await p.exec('srv-key', 'true');
      const samples: number[] = [];
      for (let i = 0; i < 50; i++) {
        const t = performance.now();
        await p.exec('srv-key', 'true');
        samples.push(performance.now() - t);
      }
      samples.sort((a, b) => a - b);
      console.log(`warm exec latency over ${samples.length} runs: p50 ${samples[25]!.toFixed(2)} ms, p90 ${samples[45]!.toFixed(2)} ms`);
      expect(samples.length).toBe(50);
    });

    describe('when the connection goes silent (sshd session processes frozen)', () => {
      it('liveness marks it dead, emits an event, and the next use reconnects', async () => {
        const events: SshConnectionEvent[] = [];
        const p = pool({ 'srv-key': () => keyTarget() }, { livenessIntervalMs: 200, livenessTimeoutMs: 600, onConnectionEvent: (e) => events.push(e) });
        const first = await p.acquire('srv-key');
        // The shell's parent is the session's sshd child; its parent is the per-connection monitor. Freezing both
        // keeps the TCP connection open but silent: only a liveness check can notice.
        const child = Number((await first.exec('echo $PPID')).stdout);
        const monitor = Number(fs.readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
        const frozen = [child, monitor];
        for (const pid of frozen) process.kill(pid, 'SIGSTOP');
        try {
          const started = Date.now();
          while (!events.some((e) => e.type === 'dead') && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 50));
          expect(events).toContainEqual(expect.objectContaining({ type: 'dead', connectionId: first.id }));
          expect(Date.now() - started).toBeLessThan(2_000);
          expect(first.isOpen).toBe(false);
          const again = await p.exec('srv-key', 'echo back');
          expect(again.stdout).toBe('back\n');
          expect(p.connectionsOf('srv-key')[0]!.id).not.toBe(first.id);
        } finally {
          for (const pid of frozen) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {}
          }
        }
      });
    });

    describe('when sshd restarts under an open connection', () => {
      it('sees the connection lost, fails the running exec with CONNECTION_LOST, and reconnects on next use', async () => {
        const events: SshConnectionEvent[] = [];
        const p = pool({ 'srv-key': () => keyTarget() }, { onConnectionEvent: (e) => events.push(e) });
        const first = await p.acquire('srv-key');
        const running = rejection(p.exec('srv-key', 'sleep 30'));
        await new Promise((r) => setTimeout(r, 200));
        await sshd.restart();
        expect((await running).code).toBe(ErrorCode.CONNECTION_LOST);
        expect(events).toContainEqual(expect.objectContaining({ type: 'closed', connectionId: first.id, reason: 'lost' }));
        expect((await p.exec('srv-key', 'echo again')).stdout).toBe('again\n');
        expect(p.connectionsOf('srv-key')[0]!.id).not.toBe(first.id);
      });
    });
  });
});
