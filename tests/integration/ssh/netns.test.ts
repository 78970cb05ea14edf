// Smoke test of the namespace harness: two "hosts", each with its own sshd and host key, both reachable from the
// root namespace; a cut or a black hole makes one unreachable without touching the other, and restoring brings it back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost, destroyAll, type NetHost } from '../../harness/netns';
import type { SshdHandle } from '../../harness/sshd';
import { canConnect } from '../../harness/ports';
import { SshConnection } from '../../../src-main/core/ssh/ssh-connection';

const options = { connectTimeoutMs: 5_000, livenessIntervalMs: 0, livenessTimeoutMs: 1_000, idleCloseMs: 0 };

async function whoAnswers(sshd: SshdHandle, serverId: string): Promise<string> {
  const connection = await SshConnection.open(
    {
      serverId, name: serverId, host: sshd.host, port: sshd.port, username: sshd.keyUser.username,
      auth: { type: 'key', privateKey: sshd.keyUser.privateKey }, pinnedFingerprint: sshd.hostKeyFingerprint,
    },
    options,
  );
  try {
    // The namespace's own address list proves which host answered.
    const result = await connection.exec('ip -o -4 addr show dev eth0');
    return result.stdout ?? '';
  } finally {
    connection.end();
  }
}

describe('network namespace hosts', () => {
  let h1: NetHost;
  let h2: NetHost;
  let s1: SshdHandle;
  let s2: SshdHandle;

  beforeAll(async () => {
    h1 = await createHost('smoke1', 201);
    h2 = await createHost('smoke2', 202);
    [s1, s2] = await Promise.all([h1.startSshd(), h2.startSshd()]);
  });
  afterAll(async () => {
    await destroyAll();
  });

  describe('when two hosts are up', () => {
    it('each runs its own sshd with its own host key, reachable from the root namespace', async () => {
      expect(h1.address).not.toBe(h2.address);
      expect(s1.hostKeyFingerprint).not.toBe(s2.hostKeyFingerprint);
      expect(await whoAnswers(s1, 'h1')).toContain(`${h1.address}/16`);
      expect(await whoAnswers(s2, 'h2')).toContain(`${h2.address}/16`);
    });
  });

  describe("when a host's link is cut", () => {
    it('becomes unreachable while the other stays up, and comes back after restore', async () => {
      await h1.cutLink();
      try {
        expect(await canConnect(h1.address, s1.port, 800)).toBe(false);
        expect(await canConnect(h2.address, s2.port, 800)).toBe(true);
      } finally {
        await h1.restoreLink();
      }
      const deadline = Date.now() + 5_000;
      while (!(await canConnect(h1.address, s1.port, 500)) && Date.now() < deadline);
      expect(await whoAnswers(s1, 'h1')).toContain(h1.address);
    });
  });

  describe('when a host is black-holed', () => {
    it('drops packets silently (a connect hangs rather than being refused), and recovers after unblackhole', async () => {
      await h2.blackhole();
      try {
        const started = Date.now();
        expect(await canConnect(h2.address, s2.port, 800)).toBe(false);
        expect(Date.now() - started).toBeGreaterThanOrEqual(700); // silent: nothing refused it early
      } finally {
        await h2.unblackhole();
      }
      const deadline = Date.now() + 10_000;
      while (!(await canConnect(h2.address, s2.port, 500)) && Date.now() < deadline);
      expect(await whoAnswers(s2, 'h2')).toContain(h2.address);
    });
  });
});
