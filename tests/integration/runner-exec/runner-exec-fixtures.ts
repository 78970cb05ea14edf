/**
 * Set-up for the runner execution suites: a real core (SQLite file, the repo's built and signed runner artifacts) and
 * real OpenSSH servers (loopback, or inside network namespaces), each server one harness user of its own (k20..k27:
 * other suites use lower numbers) whose ~/.cronium starts empty. Helpers run events and read what was stored.
 * Nothing here fakes a server, a runner or a check.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Core } from '../../../src-main/core/core';
import { createHost, type NetHost } from '../../harness/netns';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { RESOURCES_DIR, createTestCore, type TestCore } from '../../harness/test-core';
import { EventInput as EventInputSchema, type EventInput } from '../../../src-shared/contract/events';
import type { JobView } from '../../../src-shared/contract/jobs';
import type { LogLine } from '../../../src-shared/contract/logs';

/** The harness users these suites own. */
export const FIRST_USER = 20;
export const USERS_NEEDED = 27;

export function requireRunnerBuild(): void {
  for (const target of ['js', 'linux-x64']) {
    if (!fs.existsSync(path.join(RESOURCES_DIR, 'runner-artifacts', '1.0.0', target, 'manifest.json'))) {
      throw new Error('runner artifacts are missing; run: bash scripts/with-keyring.sh npm run build:runner');
    }
  }
}

/** Removes the user's ~/.cronium (runners, jobs, payloads) so each suite starts from a fresh server. */
export function resetHome(user: SshdKeyUser): void {
  fs.rmSync(path.join(user.home, '.cronium'), { recursive: true, force: true });
}

export async function addServer(core: Core, sshd: SshdHandle, user: SshdKeyUser, name: string): Promise<string> {
  const view = await core.servers.save({
    name, host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey, tags: [], maxConcurrentJobs: 8,
  });
  await core.servers.trustHostKey(view.id, sshd.hostKeyFingerprint, false);
  return view.id;
}

export interface RunnerSuite {
  sshd: SshdHandle;
  /** The network namespace sshd runs in, when the suite asked for one. */
  host: NetHost | null;
  user: SshdKeyUser;
  tc: TestCore;
  serverId: string;
  /** Closes the core, empties the user's ~/.cronium, then stops sshd (or destroys the namespace, sshd with it). */
  stop(): Promise<void>;
}

/**
 * A suite's set-up: the runner build checked, sshd started (on loopback, or in namespace `netns`), harness user
 * `userIndex` (one of this folder's own, see FIRST_USER) with an empty ~/.cronium, a started core and that user's
 * server saved and trusted as `serverName`. When a step fails, what was already started is stopped before it throws.
 */
export async function startRunnerSuite(opts: { userIndex: number; serverName: string; netns?: { name: string; index: number } }): Promise<RunnerSuite> {
  requireRunnerBuild();
  let host: NetHost | null = null;
  let sshd: SshdHandle | undefined;
  let user: SshdKeyUser | undefined;
  let tc: TestCore | undefined;
  const stop = async () => {
    await tc?.cleanup();
    if (user) resetHome(user);
    if (host) await host.destroy();
    else await sshd?.stop();
  };
  try {
    if (opts.netns) {
      host = await createHost(opts.netns.name, opts.netns.index);
      sshd = await host.startSshd({ users: USERS_NEEDED });
    } else {
      sshd = await startSshd({ users: USERS_NEEDED });
    }
    user = sshd.extraUsers[opts.userIndex];
    resetHome(user);
    tc = await createTestCore();
    await tc.core.start();
    const serverId = await addServer(tc.core, sshd, user, opts.serverName);
    return { sshd, host, user, tc, serverId, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** Each log's statuses in the order the bus announced them (logs/changed), repeats collapsed, from now on. */
export function recordLogStatuses(core: Core): Map<string, string[]> {
  const statuses = new Map<string, string[]>();
  core.bus.subscribe((name, payload) => {
    if (name !== 'logs/changed') return;
    const log = (payload as { log: { id: string; status: string } }).log;
    const list = statuses.get(log.id) ?? [];
    if (list.at(-1) !== log.status) list.push(log.status);
    statuses.set(log.id, list);
  });
  return statuses;
}

export async function saveEvent(core: Core, serverId: string, input: Partial<EventInput> & Pick<EventInput, 'scriptType' | 'content'>) {
  return core.events.save(
    EventInputSchema.parse({ name: `runner event ${Math.random().toString(36).slice(2, 8)}`, timeoutSeconds: 300, executionMode: 'runner-ssh', serverIds: [serverId], ...input }),
  );
}

export async function start(core: Core, eventId: string, extra: { input?: unknown } = {}): Promise<JobView> {
  const [job] = await core.jobs.runEvent({ eventId, trigger: 'manual', ...extra });
  return job;
}

export async function runAndWait(core: Core, eventId: string, extra: { input?: unknown } = {}): Promise<JobView> {
  const job = await start(core, eventId, extra);
  return core.jobs.waitForJob(job.id);
}

export async function linesOf(core: Core, logId: string): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for (let after = 0; ; ) {
    const page = await core.logs.store.lines(logId, after, 20000);
    out.push(...page.lines);
    if (page.lines.length < 20000) return out;
    after = page.lines[page.lines.length - 1].seq;
  }
}

/** The texts of a log's stdout lines, in order. */
export async function stdoutOf(core: Core, logId: string): Promise<string[]> {
  return (await linesOf(core, logId)).filter((l) => l.stream === 'stdout').map((l) => l.text);
}

/** Compares stored lines with what the script printed: how many are missing and how many appear more than once. */
export function countLossAndDuplicates(stored: string[], expected: string[]): { lost: number; duplicates: number; outOfOrder: boolean } {
  const seen = new Map<string, number>();
  for (const s of stored) seen.set(s, (seen.get(s) ?? 0) + 1);
  let lost = 0;
  let duplicates = 0;
  for (const e of expected) {
    const n = seen.get(e) ?? 0;
    if (n === 0) lost++;
    if (n > 1) duplicates += n - 1;
  }
  return { lost, duplicates, outOfOrder: stored.join('\n') !== expected.join('\n') && lost === 0 && duplicates === 0 };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** PIDs of the per-connection sshd processes serving `user` (killing one drops that SSH connection, as a network would). */
export function sshdSessionPids(user: string): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .filter((l) => new RegExp(`sshd: ${user}\\b`).test(l))
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((n) => Number.isInteger(n));
}

/** Live processes of a user whose command line contains `needle`. */
export function processesOf(username: string, needle: string): string[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-u', username, '-o', 'pid=,stat=,args='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out.split('\n').filter((l) => l.includes(needle) && !/^\s*\d+\s+Z/.test(l));
}
