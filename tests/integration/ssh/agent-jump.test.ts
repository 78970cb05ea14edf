// Issue 14, the SSH layer against real parts: a real `ssh-agent` holding the only copy of a user's key, and two
// network-namespace hosts where the inner one accepts SSH only from the jump host (iptables inside its namespace).
// Harness users k120 (jump host) and k121 (inner host); namespaces 1201/1202.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost, type NetHost } from '../../harness/netns';
import type { SshdHandle } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { EventInput as EventInputSchema } from '../../../src-shared/contract/events';
import { isAppError } from '../../../src-main/core/errors';
import { countLossAndDuplicates, linesOf, recordLogStatuses, requireRunnerBuild, resetHome, waitFor } from '../runner-exec/runner-exec-fixtures';

const JUMP_USER = 120;
const INNER_USER = 121;

let tmp: string;
let agent: ChildProcess;
let agentSocket: string;
let jump: NetHost;
let inner: NetHost;
let jumpSshd: SshdHandle;
let innerSshd: SshdHandle;
let tc: TestCore;
let jumpId: string;
let innerId: string;
const savedSock = process.env.SSH_AUTH_SOCK;

function startAgent(socket: string): Promise<ChildProcess> {
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  return waitFor('the ssh-agent socket', () => fs.existsSync(socket), 10_000, 20).then(() => child);
}

function sshAdd(socket: string, privateKey: string): void {
  const keyFile = path.join(tmp, `key-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(keyFile, privateKey.endsWith('\n') ? privateKey : `${privateKey}\n`, { mode: 0o600 });
  execFileSync('ssh-add', [keyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
  fs.rmSync(keyFile);
}

async function expectRejection(p: Promise<unknown>): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    if (isAppError(err)) return { code: err.code, message: err.message, details: err.extra.details };
    throw err;
  }
  throw new Error('expected a rejection');
}

async function runEvent(serverId: string, mode: 'direct-ssh' | 'runner-ssh', content: string) {
  const event = await tc.core.events.save(
    EventInputSchema.parse({ name: `k12 ${mode} ${Math.random().toString(36).slice(2, 8)}`, scriptType: 'bash', content, timeoutSeconds: 300, executionMode: mode, serverIds: [serverId] }),
  );
  const [job] = await tc.core.jobs.runEvent({ eventId: event.id, trigger: 'manual' });
  return job!;
}

beforeAll(async () => {
  requireRunnerBuild();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-k12-'));
  agentSocket = path.join(tmp, 'agent.sock');
  agent = await startAgent(agentSocket);
  process.env.SSH_AUTH_SOCK = agentSocket;

  jump = await createHost('k12jump', 1201);
  inner = await createHost('k12inner', 1202);
  jumpSshd = await jump.startSshd({ users: 1, firstUser: JUMP_USER });
  innerSshd = await inner.startSshd({ users: 1, firstUser: INNER_USER });
  // The inner host answers SSH only from the jump host: from here it resets the connection at once.
  execFileSync('ip', ['netns', 'exec', inner.name, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(innerSshd.port), '!', '-s', jump.address, '-j', 'REJECT', '--reject-with', 'tcp-reset']);
  resetHome(innerSshd.extraUsers[0]!);

  tc = await createTestCore();
  await tc.core.start();
  // The jump host's user key lives only in the agent: the app never sees it.
  sshAdd(agentSocket, jumpSshd.extraUsers[0]!.privateKey);
  const jumpView = await tc.core.servers.save({
    name: 'k12-bastion', host: jumpSshd.host, port: jumpSshd.port, username: jumpSshd.extraUsers[0]!.username, authType: 'agent', tags: [], maxConcurrentJobs: 8,
  });
  jumpId = jumpView.id;
  await tc.core.servers.trustHostKey(jumpId, jumpSshd.hostKeyFingerprint, false);
}, 180_000);

afterAll(async () => {
  await tc?.cleanup();
  if (innerSshd) resetHome(innerSshd.extraUsers[0]!);
  await inner?.destroy();
  await jump?.destroy();
  agent?.kill();
  if (savedSock === undefined) delete process.env.SSH_AUTH_SOCK;
  else process.env.SSH_AUTH_SOCK = savedSock;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('ssh-agent authentication', () => {
  it('a server authenticated only through the agent runs a job', async () => {
    const stored = await tc.core.servers.get(jumpId);
    expect(stored.authType).toBe('agent');
    expect(stored.agentForwarding).toBe(false);
    const job = await runEvent(jumpId, 'direct-ssh', 'echo "agent says $(whoami)"\n');
    const done = await tc.core.jobs.waitForJob(job.id);
    expect(done.status).toBe('SUCCESS');
    const out = (await linesOf(tc.core, done.logId!)).filter((l) => l.stream === 'stdout').map((l) => l.text);
    expect(out).toEqual([`agent says ${jumpSshd.extraUsers[0]!.username}`]);
  }, 60_000);

  it('agent forwarding is off unless the server enables it; then the job can use the agent', async () => {
    const script = 'echo "sock=${SSH_AUTH_SOCK:+set}"; ssh-add -l >/dev/null 2>&1; echo "keys=$?"\n';
    const stdout = async () => {
      const done = await tc.core.jobs.waitForJob((await runEvent(jumpId, 'direct-ssh', script)).id);
      expect(done.status).toBe('SUCCESS');
      return (await linesOf(tc.core, done.logId!)).filter((l) => l.stream === 'stdout').map((l) => l.text);
    };
    expect(await stdout()).toEqual(['sock=', 'keys=2']);
    const view = await tc.core.servers.get(jumpId);
    const save = (agentForwarding: boolean) =>
      tc.core.servers.save({ id: jumpId, name: view.name, host: view.host, port: view.port, username: view.username, authType: 'agent', tags: [], maxConcurrentJobs: 8, agentForwarding });
    await save(true);
    try {
      expect((await tc.core.servers.get(jumpId)).agentForwarding).toBe(true);
      expect(await stdout()).toEqual(['sock=set', 'keys=0']);
    } finally {
      await save(false);
    }
  }, 60_000);

  describe('when the agent cannot be used, the error names the agent', () => {
    const withSocket = async (socket: string | undefined, fn: () => Promise<void>) => {
      if (socket === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = socket;
      tc.core.ssh.invalidate(jumpId);
      try {
        await fn();
      } finally {
        process.env.SSH_AUTH_SOCK = agentSocket;
        tc.core.ssh.invalidate(jumpId);
      }
    };

    it('not running (SSH_AUTH_SOCK unset, or naming nothing)', async () => {
      await withSocket(undefined, async () => {
        const e = await expectRejection(tc.core.ssh.exec(jumpId, 'true'));
        expect(e.code).toBe('AGENT_UNAVAILABLE');
        expect(e.message).toMatch(/SSH_AUTH_SOCK is not set/);
      });
      const gone = path.join(tmp, 'no-such-agent.sock');
      await withSocket(gone, async () => {
        const e = await expectRejection(tc.core.ssh.exec(jumpId, 'true'));
        expect(e.code).toBe('AGENT_UNAVAILABLE');
        expect(e.message).toContain(gone);
        expect(e.message).toMatch(/not running/);
      });
    });

    it('SSH_AUTH_SOCK names a file that is not a socket', async () => {
      const file = path.join(tmp, 'not-a-socket');
      fs.writeFileSync(file, 'x');
      await withSocket(file, async () => {
        const e = await expectRejection(tc.core.ssh.exec(jumpId, 'true'));
        expect(e.code).toBe('AGENT_UNAVAILABLE');
        expect(e.message).toContain(`${file}, which is a regular file, not an agent socket`);
      });
    });

    it('an agent with no keys, and one whose keys the server does not accept', async () => {
      const emptySocket = path.join(tmp, 'empty-agent.sock');
      const empty = await startAgent(emptySocket);
      try {
        await withSocket(emptySocket, async () => {
          const e = await expectRejection(tc.core.ssh.exec(jumpId, 'true'));
          expect(e.code).toBe('AGENT_UNAVAILABLE');
          expect(e.message).toContain(`the ssh-agent at ${emptySocket} holds no keys`);
        });
        // A key the jump host's user does not accept (the inner host user's).
        sshAdd(emptySocket, innerSshd.extraUsers[0]!.privateKey);
        await withSocket(emptySocket, async () => {
          const e = await expectRejection(tc.core.ssh.exec(jumpId, 'true'));
          expect(e.code).toBe('AUTH_FAILED');
          expect(e.message).toContain(`accepted none of the keys the ssh-agent at ${emptySocket} holds`);
        });
      } finally {
        empty.kill();
      }
    });

    it('agent forwarding is refused without the agent credential kind', async () => {
      const e = await expectRejection(
        tc.core.servers.save({ name: 'k12-fwd', host: innerSshd.host, port: innerSshd.port, username: 'x', authType: 'password', password: 'p', agentForwarding: true, tags: [], maxConcurrentJobs: 1 }),
      );
      expect(e.code).toBe('INVALID_INPUT');
    });
  });
});

describe('jump hosts', () => {
  it('the inner host is not reachable directly', async () => {
    const direct = await tc.core.servers.save({
      name: 'k12-inner-direct', host: innerSshd.host, port: innerSshd.port, username: innerSshd.extraUsers[0]!.username, authType: 'key',
      privateKey: innerSshd.extraUsers[0]!.privateKey, tags: [], maxConcurrentJobs: 1,
    });
    const result = await tc.core.servers.test(direct.id);
    expect(result.status).toBe('error');
    await tc.core.servers.delete(direct.id);
  });

  it('first contact through the jump host shows the inner key; trusting it pins it per hop', async () => {
    const view = await tc.core.servers.save({
      name: 'k12-inner', host: innerSshd.host, port: innerSshd.port, username: innerSshd.extraUsers[0]!.username, authType: 'key',
      privateKey: innerSshd.extraUsers[0]!.privateKey, tags: [], maxConcurrentJobs: 8, jumpServerIds: [jumpId],
    });
    innerId = view.id;
    expect(view.jumpHosts).toEqual([{ id: jumpId, name: 'k12-bastion' }]);
    const first = await tc.core.servers.test(innerId);
    expect(first).toMatchObject({ status: 'untrusted', fingerprint: innerSshd.hostKeyFingerprint });
    await tc.core.servers.trustHostKey(innerId, innerSshd.hostKeyFingerprint, false);
    expect((await tc.core.servers.test(innerId)).status).toBe('ok');
  }, 60_000);

  it('a loop of jump hosts is refused, naming the servers', async () => {
    const bastion = await tc.core.servers.get(jumpId);
    const e = await expectRejection(
      tc.core.servers.save({ id: jumpId, name: bastion.name, host: bastion.host, port: bastion.port, username: bastion.username, authType: 'agent', tags: [], maxConcurrentJobs: 8, jumpServerIds: [innerId] }),
    );
    expect(e.code).toBe('JUMP_HOST_INVALID');
    expect(e.message).toContain('k12-bastion → k12-inner → k12-bastion');
    const inUse = await expectRejection(tc.core.servers.delete(jumpId));
    expect(inUse.code).toBe('SERVER_IN_USE');
  });

  it('runs a direct-ssh job through the jump host', async () => {
    const job = await runEvent(innerId, 'direct-ssh', 'echo "inner $(hostname -I 2>/dev/null | tr -d " ") $(whoami)"\nseq 1 2000\n');
    const done = await tc.core.jobs.waitForJob(job.id);
    expect(done.status).toBe('SUCCESS');
    const out = (await linesOf(tc.core, done.logId!)).filter((l) => l.stream === 'stdout').map((l) => l.text);
    expect(out[0]).toContain(innerSshd.extraUsers[0]!.username);
    expect(out.slice(1)).toEqual(Array.from({ length: 2000 }, (_, i) => String(i + 1)));
  }, 120_000);

  it('runs a runner job through the jump host (reverse tunnel too); a link cut on the hop is a link loss: re-attached, no line lost', async () => {
    const statuses = recordLogStatuses(tc.core);
    const N = 20_000;
    const job = await runEvent(innerId, 'runner-ssh', `for i in $(seq 1 ${N}); do echo "line $i"; if [ $((i % 1000)) -eq 0 ]; then sleep 0.25; fi; done\n`);
    const logId = await waitFor('the log', async () => (await tc.core.jobs.get(job.id)).logId);
    await waitFor('the first lines', async () => (await linesOf(tc.core, logId)).length > 1000, 120_000, 20);
    await jump.cutLink();
    try {
      await waitFor('the log to go PARTIAL', () => statuses.get(logId)?.includes('PARTIAL'), 30_000, 50);
      expect((await tc.core.jobs.get(job.id)).status).toBe('RUNNING');
    } finally {
      await jump.restoreLink();
    }
    const done = await tc.core.jobs.waitForJob(job.id);
    expect(done.status).toBe('SUCCESS');
    expect(statuses.get(logId)).toEqual(expect.arrayContaining(['STREAMING', 'PARTIAL', 'SUCCESS']));
    const stdout = (await linesOf(tc.core, logId)).filter((l) => l.stream === 'stdout').map((l) => l.text);
    const expected = Array.from({ length: N }, (_, i) => `line ${i + 1}`);
    const { lost, duplicates } = countLossAndDuplicates(stdout, expected);
    console.log(`[agent-jump] runner through a jump host, hop link cut: lines ${stdout.length}, lost ${lost}, duplicates ${duplicates}`);
    expect(stdout).toEqual(expected);
  }, 300_000);

  it('a changed host key on the jump host is refused before authentication, and the hop is named', async () => {
    await jumpSshd.regenerateHostKey();
    tc.core.ssh.invalidate(jumpId);
    tc.core.ssh.invalidate(innerId);
    const mark = jumpSshd.log().length;
    const e = await expectRejection(tc.core.ssh.exec(innerId, 'true'));
    expect(e.code).toBe('HOST_KEY_CHANGED');
    expect(e.message).toMatch(/^jump host k12-bastion \(hop 1 of 1 on the way to k12-inner\): host key for k12-bastion/);
    expect(e.details).toMatchObject({ jumpHost: 'k12-bastion', hop: 1, expected: expect.stringMatching(/^SHA256:/) });
    const result = await tc.core.servers.test(innerId);
    expect(result.status).toBe('error');
    expect(result.message).toContain('jump host k12-bastion');
    // sshd saw no authentication attempt at all: the key exchange was abandoned before any credential was offered.
    const after = jumpSshd.log().slice(mark);
    expect(after).not.toMatch(/publickey|Accepted|Failed|Postponed/);
  }, 60_000);
});
