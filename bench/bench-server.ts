/**
 * What the runner benchmarks share: a private harness sshd with one fresh test user, a core on a throwaway data folder
 * (in-memory secrets) with that server saved and its host key trusted, and the clean-up of all of it; plus quantile().
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCore, type Core } from '../src-main/core/core';
import { MemorySecretStore } from '../src-main/core/secrets/memory-secret-store';
import { startSshd, type SshdHandle } from '../tests/harness/sshd';

export interface BenchServer {
  core: Core;
  serverId: string;
  /** A scratch folder removed afterwards (the core's data folder is inside it). */
  work: string;
}

/** The q-quantile (0..1) of xs. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

/**
 * Runs `body` against a fresh server: the harness's extra user number `userNumber` (its ~/.cronium removed first, so
 * the runner is deployed anew), reached by a started core. Stops the core and sshd and removes the scratch folder.
 */
export async function withBenchServer(name: string, repo: string, userNumber: number, body: (bench: BenchServer) => Promise<void>): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `cronium-${name}-`));
  let sshd: SshdHandle | undefined;
  let core: Core | undefined;
  try {
    sshd = await startSshd({ users: userNumber });
    const user = sshd.extraUsers[userNumber - 1];
    fs.rmSync(path.join(user.home, '.cronium'), { recursive: true, force: true });
    core = await createCore(
      { dataDir: path.join(work, 'data'), migrationsDir: path.join(repo, 'migrations'), resourcesDir: path.join(repo, 'resources'), mode: 'serve', appVersion: 'bench', env: {} },
      { secrets: new MemorySecretStore() },
    );
    await core.start();
    const server = await core.servers.save({ name: 'bench', host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey, tags: [], maxConcurrentJobs: 4 });
    await core.servers.trustHostKey(server.id, sshd.hostKeyFingerprint, false);
    await body({ core, serverId: server.id, work });
  } finally {
    await core?.stop();
    await sshd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
