// The job host (issue 18; docs/architecture.md "Job host"): after a runner job on a server started the exec way, the
// app launches one `cronium-runner jobhost` there; the next jobs start through its control socket (a
// direct-streamlocal channel, no exec, no Node start on the server). Real parts: a loopback OpenSSH sshd, the built
// runner, a real core. Execs are counted at SshConnection.exec (every exec of the app goes through it).
// Users cronium-k460..k468, one server each (the last test removes the runner of the first test's server).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { SshConnection } from '../../../src-main/core/ssh/ssh-connection';
import { channelProof, randomToken } from '../../../src-shared/protocol/channel-auth';
import { jobHostChannelName } from '../../../src-shared/protocol/job-host';
import { addServer, linesOf, processesOf, requireRunnerBuild, resetHome, runAndWait, saveEvent, start, stdoutOf, waitFor } from './runner-exec-fixtures';

const FIRST_USER = 460;
const USERS = 9;

let sshd: SshdHandle;
let tc: TestCore;
const users: SshdKeyUser[] = [];
const serverIds: string[] = [];
/** Every exec command the app ran, in order. */
const execs: string[] = [];

beforeAll(async () => {
  requireRunnerBuild();
  sshd = await startSshd({ users: USERS, firstUser: FIRST_USER });
  for (const u of sshd.extraUsers) {
    users.push(u);
    resetHome(u);
  }
  tc = await createTestCore();
  await tc.core.start();
  tc.core.settings.update({ flags: { ssh_runner_enabled: true, ssh_runner_auto_deploy: true }, runner: { enabled: true, fallbackToDirect: false, jobHost: true } });
  for (let i = 0; i < USERS; i++) serverIds.push(await addServer(tc.core, sshd, users[i]!, `job-host-${i}`));
  const exec = SshConnection.prototype.exec;
  vi.spyOn(SshConnection.prototype, 'exec').mockImplementation(function (this: SshConnection, command, opts) {
    execs.push(command);
    return exec.call(this, command, opts);
  });
}, 180_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await tc?.cleanup();
  for (const u of users) {
    for (const line of processesOf(u.username, 'jobhost')) {
      try {
        process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    resetHome(u);
  }
  await sshd?.stop();
}, 60_000);

const lines = (n: number, tag = 'line') => Array.from({ length: n }, (_, i) => `${tag} ${i + 1}`);
const printing = (n: number, tag = 'line') => `for i in $(seq 1 ${n}); do echo "${tag} $i"; done\n`;
/** Execs since `mark` that started a runner process for a job (the exec start). */
const startExecsSince = (mark: number) => execs.slice(mark).filter((c) => / run --job /.test(c));

/** The host of user i: its id, socket and pid, once the app has it ready. */
async function hostOf(i: number): Promise<{ id: string; socket: string; pid: number }> {
  const dir = path.join(users[i]!.home, '.cronium', 'jobhost');
  await waitFor(`the job host of ${users[i]!.username}`, () => tc.core.jobHosts.stats.ready > 0 && fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.sock')), 20_000, 50);
  const sock = fs.readdirSync(dir).find((f) => f.endsWith('.sock'))!;
  const id = sock.slice(0, -'.sock'.length);
  const ps = await waitFor('its process', () => processesOf(users[i]!.username, `jobhost --id ${id}`)[0], 10_000, 50);
  return { id, socket: path.join(dir, sock), pid: Number(ps.trim().split(/\s+/)[0]) };
}

/** Waits until the app took the host of server i into use (its readiness check passed). */
async function hostReady(i: number): Promise<{ id: string; socket: string; pid: number }> {
  const runner = (await tc.core.execution.ensureRunner(serverIds[i]!)) as Parameters<typeof tc.core.jobHosts.ready>[1];
  await waitFor('the host ready in the app', () => tc.core.jobHosts.ready(serverIds[i]!, runner), 20_000, 50);
  return hostOf(i);
}

/** A job's status, with its reason when it has one (so a failure says why). */
async function statusOf(job: Promise<{ status: string; reason: string | null }>): Promise<string> {
  const j = await job;
  return `${j.status} ${j.reason ?? ''}`.trim();
}

async function jobHostOfLog(logId: string): Promise<unknown> {
  return (await tc.core.logs.store.get(logId)).runnerMetadata?.jobHost;
}

describe('runner jobs through the job host', () => {
  it('starts the second job on a server through the host: no start exec, exact output', async () => {
    const ev = await saveEvent(tc.core, serverIds[0]!, { scriptType: 'bash', content: printing(1000) });
    const first = await runAndWait(tc.core, ev.id);
    expect(`${first.status} ${first.reason ?? ''}`.trim()).toBe('SUCCESS');
    const host = await hostReady(0);
    const mark = execs.length;
    const second = await runAndWait(tc.core, ev.id);
    expect(`${second.status} ${second.reason ?? ''}`.trim()).toBe('SUCCESS');
    expect(await stdoutOf(tc.core, second.logId!)).toEqual(lines(1000));
    expect(startExecsSince(mark)).toEqual([]);
    console.log(`[job-host] execs during the hosted job: ${execs.length - mark} (${execs.slice(mark).map((c) => c.slice(0, 60)).join(' | ')})`);
    expect(await jobHostOfLog(second.logId!)).toBe(host.id);
    // No `run` process was started for it.
    expect(processesOf(users[0]!.username, ' run --job ')).toEqual([]);
  }, 120_000);

  it('never hands a job to a process on the socket that cannot prove the key: the job runs through the exec path', async () => {
    const ev = await saveEvent(tc.core, serverIds[1]!, { scriptType: 'bash', content: printing(300) });
    expect(await statusOf(runAndWait(tc.core, ev.id))).toBe('SUCCESS');
    const host = await hostReady(1);
    // A same-user process takes the host's place on its socket; it speaks the protocol, with a key of its own.
    process.kill(host.pid, 'SIGKILL');
    fs.rmSync(host.socket, { force: true });
    const received: string[] = [];
    let contacted = 0;
    const key = randomToken();
    const fake = net.createServer((conn) => {
      contacted++;
      const hostNonce = randomToken();
      conn.write(`${JSON.stringify({ type: 'host-hello', protocol: 1, runnerVersion: '1.0.0', hostId: host.id, hostNonce, pid: process.pid })}\n`);
      let buf = '';
      conn.on('data', (d) => {
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const msg = JSON.parse(buf.slice(0, nl)) as { type: string; appNonce?: string };
          buf = buf.slice(nl + 1);
          received.push(msg.type);
          if (msg.type === 'host-challenge') conn.write(`${JSON.stringify({ type: 'host-proof', proof: channelProof(key, 'runner', jobHostChannelName(host.id), hostNonce, msg.appNonce!) })}\n`);
          else conn.write(`${JSON.stringify({ type: 'host-started', jobId: 'x' })}\n`);
        }
      });
      conn.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => fake.listen(host.socket, resolve));
    const uid = fs.statSync(users[1]!.home).uid;
    fs.chownSync(host.socket, uid, fs.statSync(users[1]!.home).gid);
    try {
      const mark = execs.length;
      const done = await runAndWait(tc.core, ev.id);
      expect(`${done.status} ${done.reason ?? ''}`.trim()).toBe('SUCCESS');
      expect(await stdoutOf(tc.core, done.logId!)).toEqual(lines(300));
      expect(contacted).toBeGreaterThanOrEqual(1);
      expect(received.filter((t) => t !== 'host-challenge')).toEqual([]);
      expect(startExecsSince(mark)).toHaveLength(1);
      expect(await jobHostOfLog(done.logId!)).toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  }, 120_000);

  it('a host killed mid-job ends its job with the clear reason, not stuck running', async () => {
    const warm = await saveEvent(tc.core, serverIds[2]!, { scriptType: 'bash', content: 'echo warm\n' });
    expect(await statusOf(runAndWait(tc.core, warm.id))).toBe('SUCCESS');
    const ev = await saveEvent(tc.core, serverIds[2]!, { scriptType: 'bash', content: 'for i in $(seq 1 600); do echo "tick $i"; sleep 0.05; done\n' });
    const host = await hostReady(2);
    const job = await start(tc.core, ev.id);
    const logId = await waitFor('the log', async () => (await tc.core.jobs.get(job.id)).logId);
    await waitFor('some lines', async () => (await stdoutOf(tc.core, logId)).length >= 20, 30_000, 50);
    expect(await jobHostOfLog(logId)).toBe(host.id);
    process.kill(host.pid, 'SIGKILL');
    const killedAt = Date.now();
    const done = await tc.core.jobs.waitForJob(job.id);
    console.log(`[job-host] the job ended ${Date.now() - killedAt} ms after its host was killed; system lines: ${(await linesOf(tc.core, logId)).filter((l) => l.stream === 'system').map((l) => l.text).join(' | ')}`);
    expect(done.status).toBe('FAILURE');
    expect(done.reason).toMatch(new RegExp(`the runner process supervising this job stopped unexpectedly \\(pid ${host.pid}\\)`));
    // The script went with it.
    await waitFor('the script gone', () => processesOf(users[2]!.username, 'seq 1 600').length === 0, 15_000, 100);
  }, 120_000);

  it('runs several jobs on several servers at once through their hosts: every line, in order', async () => {
    const servers = [3, 4, 5, 6];
    const ev = await saveEvent(tc.core, serverIds[3]!, { scriptType: 'bash', content: printing(2000, 'row'), serverIds: servers.map((i) => serverIds[i]!) });
    const warm = await tc.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' });
    for (const j of warm) expect(await statusOf(tc.core.jobs.waitForJob(j.id))).toBe('SUCCESS');
    const hosts = await Promise.all(servers.map((i) => hostReady(i)));
    const mark = execs.length;
    const runs = await Promise.all(Array.from({ length: 4 }, () => tc.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' })));
    const jobs = runs.flat();
    expect(jobs).toHaveLength(16);
    for (const j of jobs) {
      const done = await tc.core.jobs.waitForJob(j.id);
      expect(`${done.status} ${done.reason ?? ''}`.trim()).toBe('SUCCESS');
      expect(await stdoutOf(tc.core, done.logId!)).toEqual(lines(2000, 'row'));
      expect(hosts.map((h) => h.id)).toContain(await jobHostOfLog(done.logId!));
    }
    expect(startExecsSince(mark)).toEqual([]);
  }, 180_000);

  it('places a payload the host finds missing, then starts the job through the host', async () => {
    const warm = await saveEvent(tc.core, serverIds[7]!, { scriptType: 'bash', content: 'echo warm\n' });
    expect(await statusOf(runAndWait(tc.core, warm.id))).toBe('SUCCESS');
    const host = await hostReady(7);
    // A new event: its payload is not on the server yet.
    const ev = await saveEvent(tc.core, serverIds[7]!, { scriptType: 'bash', content: printing(50, 'fresh') });
    const payloadsBefore = fs.readdirSync(path.join(users[7]!.home, '.cronium', 'payloads'));
    const mark = execs.length;
    const done = await runAndWait(tc.core, ev.id);
    expect(`${done.status} ${done.reason ?? ''}`.trim()).toBe('SUCCESS');
    expect(await stdoutOf(tc.core, done.logId!)).toEqual(lines(50, 'fresh'));
    expect(await jobHostOfLog(done.logId!)).toBe(host.id);
    expect(startExecsSince(mark)).toEqual([]);
    expect(fs.readdirSync(path.join(users[7]!.home, '.cronium', 'payloads')).length).toBeGreaterThan(payloadsBefore.length);
  }, 120_000);

  it('with runner.jobHost off, launches no host and starts every job with an exec', async () => {
    tc.core.settings.update({ runner: { jobHost: false } });
    try {
      const ev = await saveEvent(tc.core, serverIds[8]!, { scriptType: 'bash', content: printing(20) });
      const mark = execs.length;
      for (let k = 0; k < 2; k++) {
        const done = await runAndWait(tc.core, ev.id);
        expect(`${done.status} ${done.reason ?? ''}`.trim()).toBe('SUCCESS');
        expect(await stdoutOf(tc.core, done.logId!)).toEqual(lines(20));
        expect(await jobHostOfLog(done.logId!)).toBeUndefined();
      }
      await new Promise((r) => setTimeout(r, 1_000));
      // Each job its start exec (the first one twice: its payload was missing, then placed).
      expect(startExecsSince(mark).length).toBeGreaterThanOrEqual(2);
      expect(execs.slice(mark).filter((c) => c.includes(' jobhost --id '))).toEqual([]);
      expect(processesOf(users[8]!.username, 'jobhost')).toEqual([]);
    } finally {
      tc.core.settings.update({ runner: { jobHost: true } });
    }
  }, 120_000);

  // Last: it removes the runner of server 0 (whose first test is done).
  it('"Remove runner" stops the server\'s host once its running job is done, and the app forgets it', async () => {
    const host = await hostReady(0);
    const runner = (await tc.core.execution.ensureRunner(serverIds[0]!)) as Parameters<typeof tc.core.jobHosts.ready>[1];
    const ev = await saveEvent(tc.core, serverIds[0]!, { scriptType: 'bash', content: 'echo begin; sleep 3; echo end\n' });
    const job = await start(tc.core, ev.id);
    const logId = await waitFor('the log', async () => (await tc.core.jobs.get(job.id)).logId);
    await waitFor('the job begun', async () => (await stdoutOf(tc.core, logId)).length >= 1, 30_000, 50);
    expect(await jobHostOfLog(logId)).toBe(host.id);
    await tc.core.runners.remove(serverIds[0]!);
    expect(tc.core.jobHosts.ready(serverIds[0]!, runner)).toBeNull();
    expect(fs.existsSync(path.join(users[0]!.home, '.cronium', 'jobhost'))).toBe(false);
    // Its running job goes on to the end; then the host exits.
    const done = await tc.core.jobs.waitForJob(job.id);
    expect(`${done.status} ${done.reason ?? ''}`.trim()).toBe('SUCCESS');
    expect(await stdoutOf(tc.core, logId)).toEqual(['begin', 'end']);
    await waitFor('the host exited', () => processesOf(users[0]!.username, `jobhost --id ${host.id}`).length === 0, 15_000, 100);
  }, 120_000);
});
