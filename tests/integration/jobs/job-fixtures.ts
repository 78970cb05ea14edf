/**
 * Shared set-up for job integration tests: a real core (SQLite file, in-memory keychain) and a real sshd, with the
 * harness's key user saved as a trusted server. Helpers read a job's stored lines and remote processes of the user.
 */
import { execFileSync } from 'node:child_process';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { startSshd, type SshdHandle } from '../../harness/sshd';
import type { EventInput } from '../../../src-shared/contract/events';
import { EventInput as EventInputSchema } from '../../../src-shared/contract/events';
import type { LogLine } from '../../../src-shared/contract/logs';
import type { JobView } from '../../../src-shared/contract/jobs';

export interface JobWorld {
  test: TestCore;
  sshd: SshdHandle;
  serverId: string;
  stop(): Promise<void>;
}

export async function startJobWorld(opts: { maxConcurrentJobs?: number; dataDir?: string } = {}): Promise<JobWorld> {
  const sshd = await startSshd();
  const test = await createTestCore(opts.dataDir ? { dataDir: opts.dataDir } : {});
  const server = await test.core.servers.save({
    name: 'harness', host: sshd.host, port: sshd.port, username: sshd.keyUser.username, authType: 'key',
    privateKey: sshd.keyUser.privateKey, tags: ['test'], maxConcurrentJobs: opts.maxConcurrentJobs ?? 4,
  });
  await test.core.servers.trustHostKey(server.id, sshd.hostKeyFingerprint, false);
  return {
    test, sshd, serverId: server.id,
    async stop() {
      await test.cleanup();
      await sshd.stop();
    },
  };
}

export async function saveEvent(world: JobWorld, input: Partial<EventInput> & Pick<EventInput, 'scriptType' | 'content'>) {
  return world.test.core.events.save(
    // direct-ssh explicitly: these tests are about that executor, whatever the runner settings say.
    EventInputSchema.parse({ name: `event ${Math.random().toString(36).slice(2, 8)}`, timeoutSeconds: 60, executionMode: 'direct-ssh', serverIds: [world.serverId], ...input }),
  );
}

export async function runAndWait(world: JobWorld, eventId: string, extra: { timeoutSeconds?: number } = {}): Promise<JobView> {
  const [job] = await world.test.core.jobs.runEvent({ eventId, trigger: 'manual', ...extra });
  return world.test.core.jobs.waitForJob(job.id);
}

export async function linesOf(world: JobWorld, logId: string): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for (let after = 0; ; ) {
    const page = await world.test.core.logs.store.lines(logId, after, 20000);
    out.push(...page.lines);
    if (page.lines.length < 20000) return out;
    after = page.lines[page.lines.length - 1].seq;
  }
}

/** Live (not zombie) processes of a user whose command line contains `needle`, read from /proc on this machine. */
export function processesOf(username: string, needle: string): string[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-u', username, '-o', 'pid=,stat=,args='], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when the user has no process
  }
  return out.split('\n').filter((l) => l.includes(needle) && !/^\s*\d+\s+Z/.test(l));
}
