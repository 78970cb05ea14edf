// JobHosts (core/runners/job-hosts.ts): launch, readiness, the proved control conversation and forgetting a host,
// against an in-process host speaking the protocol on a real Unix socket (the "server" is this machine; the launch
// exec is played by the test's connection, which starts the host the command names with the key it was given).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JobHosts, type HostConnection } from '../../../src-main/core/runners/job-hosts';
import { systemClock } from '../../../src-main/core/clock';
import { AppError } from '../../../src-main/core/errors';
import type { CompatibleRunner } from '../../../src-main/core/runners/runner-service';
import { channelProof, checkChannelProof, openFromChannel, randomToken } from '../../../src-shared/protocol/channel-auth';
import { AppToHost, JOB_HOST_PATH_TOO_LONG_EXIT_CODE, jobHostChannelName, jobHostStartSealName, type HostToApp } from '../../../src-shared/protocol/job-host';
import { INTEGRITY_EXIT_CODE } from '../../../src-shared/protocol/runner-info';
import type { RunnerStartFile } from '../../../src-shared/protocol/runner-wire';

const runner = { deploymentId: 'd1', serverId: 's1', version: '1.0.0', kind: 'js', path: '/r', command: 'cronium-runner', capabilities: [], protocolVersion: 1, fingerprint: null, sha256: null, runtime: null } as unknown as CompatibleRunner;
const CHECKSUM = 'a'.repeat(64);
const START: RunnerStartFile = { token: 't', socket: '/home/u/.cronium/jobs/j1/tunnel.sock', channelKey: randomToken() };

interface FakeHost {
  received: AppToHost[];
  refusedProofs: number;
  answer: (req: AppToHost, key: string, nonces: { hostNonce: string; appNonce: string }) => HostToApp | null;
  close(): Promise<void>;
}

/** A host on `socket` that holds `key` (another key plays the impostor) and answers requests with `answer`. */
function fakeHost(socket: string, hostId: string, key: string, answer: FakeHost['answer']): FakeHost {
  const host: FakeHost = { received: [], refusedProofs: 0, answer, close: () => new Promise((r) => server.close(() => r())) };
  const server = net.createServer((conn) => {
    const hostNonce = randomToken();
    let appNonce = '';
    let buf = '';
    const send = (m: HostToApp) => conn.write(`${JSON.stringify(m)}\n`);
    send({ type: 'host-hello', protocol: 1, runnerVersion: '1.0.0', hostId, hostNonce, pid: 4242 });
    conn.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = AppToHost.parse(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
        if (msg.type === 'host-challenge') {
          appNonce = msg.appNonce;
          if (!checkChannelProof(key, 'app', jobHostChannelName(hostId), hostNonce, appNonce, msg.proof)) {
            host.refusedProofs++;
            send({ type: 'host-refused', reason: 'wrong proof' });
            conn.end();
            return;
          }
          send({ type: 'host-proof', proof: channelProof(key, 'runner', jobHostChannelName(hostId), hostNonce, appNonce) });
        } else {
          host.received.push(msg);
          const a = host.answer(msg, key, { hostNonce, appNonce });
          if (a) send(a);
          conn.end();
        }
      }
    });
    conn.on('error', () => undefined);
  });
  server.listen(socket);
  return host;
}

let tmp = '';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A "server": the launch exec starts a fake host (or an impostor with another key) in <tmp>/.cronium/jobhost. */
function setup(opts: { impostor?: boolean; launchFails?: boolean; launchExit?: { code: number; stderr: string }; enabled?: () => boolean } = {}) {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jh-'));
  const dir = path.join(tmp, '.cronium', 'jobhost');
  fs.mkdirSync(dir, { recursive: true });
  const execs: string[] = [];
  const hosts: FakeHost[] = [];
  let answer: FakeHost['answer'] = (req) => (req.type === 'host-start' ? { type: 'host-started', jobId: req.jobId } : null);
  const conn: HostConnection = {
    exec: async (command, o) => {
      execs.push(command);
      if (opts.launchFails) return { code: 1, signal: null, stdout: '', stderr: 'no such command: jobhost' };
      if (opts.launchExit) return { signal: null, stdout: '', ...opts.launchExit };
      const id = /jobhost --id '?([A-Za-z0-9_-]{16})/.exec(command)![1]!;
      const { key } = JSON.parse(String(o?.stdin)) as { key: string };
      const h = fakeHost(path.join(dir, `${id}.sock`), id, opts.impostor ? randomToken() : key, (...a) => answer(...a));
      hosts.push(h);
      cleanups.push(() => h.close());
      return { code: 0, signal: null, stdout: `4242\n${dir}`, stderr: '' };
    },
    openStreamLocal: (socketPath) =>
      new Promise((resolve, reject) => {
        const s = net.connect(socketPath, () => resolve(s));
        s.once('error', reject);
      }),
  };
  const debug: string[] = [];
  const jobHosts = new JobHosts({ ssh: { acquire: async () => conn }, clock: systemClock, enabled: opts.enabled ?? (() => true), debug: (l) => debug.push(l) });
  return { jobHosts, conn, execs, hosts, debug, setAnswer: (a: FakeHost['answer']) => (answer = a) };
}

async function settled(jobHosts: JobHosts): Promise<void> {
  for (let i = 0; i < 200 && jobHosts.stats.ready + jobHosts.stats.forgotten === 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    if (jobHosts.stats.ready > 0) return;
  }
}

describe('JobHosts', () => {
  it('launches one host per server and runner file, then starts a job through it with the start file sealed', async () => {
    const { jobHosts, conn, execs, hosts } = setup();
    jobHosts.launchSoon('s1', runner);
    jobHosts.launchSoon('s1', runner); // single flight
    await settled(jobHosts);
    expect(execs).toHaveLength(1);
    expect(execs[0]).toMatch(/umask 077; .*cat > "\$d\/[A-Za-z0-9_-]{16}\.key" && \( setsid nohup cronium-runner jobhost --id /);
    const host = jobHosts.ready('s1', runner)!;
    expect(host).toMatchObject({ serverId: 's1', pid: 4242, home: tmp });
    expect(jobHosts.ready('s1', { ...runner, deploymentId: 'd2' })).toBeNull();
    jobHosts.launchSoon('s1', runner);
    expect(execs).toHaveLength(1);

    let opened: unknown = null;
    (hosts[0]!).answer = (req, key, n) => {
      if (req.type !== 'host-start') return null;
      opened = JSON.parse(openFromChannel(key, jobHostStartSealName(host.hostId, req.jobId, req.payload), n.hostNonce, n.appNonce, req.sealedStart));
      return { type: 'host-started', jobId: req.jobId };
    };
    expect(await jobHosts.start(conn, host, 'j1', CHECKSUM, START)).toBe('started');
    expect(opened).toEqual(START);
    expect(hosts[0]!.received).toEqual([expect.objectContaining({ type: 'host-start', jobId: 'j1', payload: CHECKSUM })]);
    expect(JSON.stringify(hosts[0]!.received)).not.toContain(START.channelKey);
    expect(jobHosts.stats.started).toBe(1);
  });

  it('never sends a job to a process that cannot prove the host key, and forgets that host', async () => {
    const { jobHosts, conn, hosts, setAnswer } = setup();
    jobHosts.launchSoon('s1', runner);
    await settled(jobHosts);
    const host = jobHosts.ready('s1', runner)!;
    // The host is replaced on its socket by a process with another key.
    await hosts[0]!.close();
    const impostor = fakeHost(host.socket, host.hostId, randomToken(), () => ({ type: 'host-started', jobId: 'j1' }));
    cleanups.push(() => impostor.close());
    setAnswer(() => ({ type: 'host-started', jobId: 'j1' }));
    await expect(jobHosts.start(conn, host, 'j1', CHECKSUM, START)).rejects.toMatchObject({ afterRequest: false });
    expect(impostor.received).toEqual([]);
    expect(impostor.refusedProofs).toBe(1);
    jobHosts.forget(host, 'wrong proof');
    expect(jobHosts.ready('s1', runner)).toBeNull();
  });

  it('an impostor from the start never becomes ready (the readiness check proves the key)', async () => {
    const { jobHosts, hosts, debug } = setup({ impostor: true });
    jobHosts.launchSoon('s1', runner);
    for (let i = 0; i < 150 && debug.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(debug.join('\n')).toMatch(/the job host did not answer within 10 s \(the process on .* did not prove the job host key \(host-refused \(wrong proof\)\)\)/);
    expect(jobHosts.stats.ready).toBe(0);
    expect(jobHosts.ready('s1', runner)).toBeNull();
    expect(hosts[0]!.received).toEqual([]);
  }, 20_000);

  it('reports a missing payload, a refusal and an answer for another job apart', async () => {
    const { jobHosts, conn, setAnswer } = setup();
    jobHosts.launchSoon('s1', runner);
    await settled(jobHosts);
    const host = jobHosts.ready('s1', runner)!;
    setAnswer((req) => (req.type === 'host-start' ? { type: 'host-payload-missing', jobId: req.jobId } : null));
    expect(await jobHosts.start(conn, host, 'j1', CHECKSUM, START)).toBe('payload-missing');
    setAnswer(() => ({ type: 'host-refused', reason: 'job id in use' }));
    await expect(jobHosts.start(conn, host, 'j1', CHECKSUM, START)).rejects.toMatchObject({ afterRequest: false, message: /job id in use/ });
    setAnswer(() => ({ type: 'host-started', jobId: 'other' }));
    await expect(jobHosts.start(conn, host, 'j1', CHECKSUM, START)).rejects.toMatchObject({ afterRequest: true });
    setAnswer(() => null); // closes without an answer
    await expect(jobHosts.start(conn, host, 'j1', CHECKSUM, START)).rejects.toMatchObject({ afterRequest: true });
    setAnswer((req) => (req.type === 'host-abandon' ? { type: 'host-abandoned', jobId: req.jobId, ended: true } : null));
    expect(await jobHosts.abandon(host, 'j1')).toBe(true);
  });

  it('a launch that fails leaves the server without a host for a while (no second launch exec)', async () => {
    const { jobHosts, execs, debug } = setup({ launchFails: true });
    jobHosts.launchSoon('s1', runner);
    await new Promise((r) => setTimeout(r, 50));
    jobHosts.launchSoon('s1', runner);
    expect(execs).toHaveLength(1);
    expect(jobHosts.ready('s1', runner)).toBeNull();
    expect(debug.join('\n')).toMatch(/no job host on server s1: the launch exec ended with 1: no such command/);
  });

  it('tells a socket path too long from an integrity refusal: distinct exit codes, each message says what to do', async () => {
    expect(JOB_HOST_PATH_TOO_LONG_EXIT_CODE).not.toBe(INTEGRITY_EXIT_CODE);
    const tooLong = setup({ launchExit: { code: JOB_HOST_PATH_TOO_LONG_EXIT_CODE, stderr: '' } });
    tooLong.jobHosts.launchSoon('s1', runner);
    await new Promise((r) => setTimeout(r, 50));
    expect(tooLong.debug.join('\n')).toMatch(/no job host was started on server s1: its socket path would be longer than the 103 bytes .* start with an exec, .* home folder path of at most 64 bytes/);
    // The launch command itself, run by a real shell under a home folder 65 bytes long: that exit code, and nothing made.
    const home = path.join(tmp, 'h'.repeat(65 - tmp.length - 1));
    expect(home).toHaveLength(65);
    const r = spawnSync('sh', ['-c', tooLong.execs[0]!], { env: { ...process.env, HOME: home }, input: '{}' });
    expect(r.status).toBe(JOB_HOST_PATH_TOO_LONG_EXIT_CODE);
    expect(fs.existsSync(home)).toBe(false);
    const refused = setup({ launchExit: { code: INTEGRITY_EXIT_CODE, stderr: 'cronium-integrity=1:2:3:4:5' } });
    refused.jobHosts.launchSoon('s1', runner);
    await new Promise((r) => setTimeout(r, 50));
    expect(refused.debug.join('\n')).toMatch(/no job host was started on server s1: the integrity check refused the runner \(.+\)\. The next job there starts with the exec, whose check settles it/);
    expect(refused.jobHosts.ready('s1', runner)).toBeNull();
  });

  it('forgets every host of a server whose runners were removed, and no other server\'s', async () => {
    const { jobHosts, execs } = setup();
    const other = { ...runner, serverId: 's2' } as CompatibleRunner;
    jobHosts.launchSoon('s1', runner);
    jobHosts.launchSoon('s2', other);
    for (let i = 0; i < 100 && jobHosts.stats.ready < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(jobHosts.ready('s1', runner)).not.toBeNull();
    jobHosts.forgetServer('s1');
    expect(jobHosts.ready('s1', runner)).toBeNull();
    expect(jobHosts.ready('s2', other)).not.toBeNull();
    // Not held back as a failed host: the next exec start there launches one again.
    jobHosts.launchSoon('s1', runner);
    await jobHosts.settled();
    expect(execs).toHaveLength(3);
    expect(jobHosts.ready('s1', runner)).not.toBeNull();
  });

  it('a launch cut by a lost connection is tried again at the next exec start', async () => {
    const { jobHosts, conn, execs } = setup();
    const exec = conn.exec;
    conn.exec = async (command) => {
      execs.push(command);
      conn.exec = exec;
      throw new AppError('CONNECTION_LOST', 'the connection to s1 was lost (closed during the command)');
    };
    jobHosts.launchSoon('s1', runner);
    await new Promise((r) => setTimeout(r, 50));
    jobHosts.launchSoon('s1', runner);
    await settled(jobHosts);
    expect(execs).toHaveLength(2);
    expect(jobHosts.ready('s1', runner)).not.toBeNull();
  });

  it('a host whose socket is gone is forgotten at once: the next exec start launches a new one', async () => {
    const { jobHosts, execs, hosts } = setup();
    jobHosts.launchSoon('s1', runner);
    await settled(jobHosts);
    const host = jobHosts.ready('s1', runner)!;
    jobHosts.forget(host, 'no socket', true);
    expect(jobHosts.ready('s1', runner)).toBeNull();
    jobHosts.launchSoon('s1', runner);
    for (let i = 0; i < 100 && jobHosts.stats.ready < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(execs).toHaveLength(2);
    expect(hosts).toHaveLength(2);
    expect(jobHosts.ready('s1', runner)!.hostId).not.toBe(host.hostId);
  });

  it('with the setting off it neither launches nor uses a host', async () => {
    let on = true;
    const { jobHosts, execs } = setup({ enabled: () => on });
    jobHosts.launchSoon('s1', runner);
    await settled(jobHosts);
    expect(jobHosts.ready('s1', runner)).not.toBeNull();
    on = false;
    expect(jobHosts.ready('s1', runner)).toBeNull();
    jobHosts.launchSoon('s2', runner);
    expect(execs).toHaveLength(1);
  });
});
