// Issue 15: schedules held by the server. Two network-namespace hosts (each its own sshd and harness user k140/k141),
// the repo's built and signed runner, a real core on a SQLite file. With the core stopped, a server-held schedule with
// a seconds field (every 10 s, bounded to three ticks) runs 3 times on each host; when a core starts again on the same
// data, all 6 jobs appear with complete logs and their servers' start times, none twice. With the core running, a
// server-held schedule fires once per tick (nothing from the app's scheduler). Editing the expression while a host is
// unreachable shows it stale and updates it once the link returns. Killing the resident runner and reconnecting
// restarts it. Removing the runner leaves no process, unit or file. These containers have no systemd: the background
// process fallback is what runs here (and is shown as such).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost, type NetHost } from '../../harness/netns';
import type { SshdHandle, SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { EventInput } from '../../../src-shared/contract/events';
import type { JobView } from '../../../src-shared/contract/jobs';
import { addServer, requireRunnerBuild, resetHome, stdoutOf, waitFor } from '../runner-exec/runner-exec-fixtures';

/** Harness users cronium-k140, k141 (issue 15's range) and namespace indices 1501, 1502: used by no other suite. */
const FIRST_USER = 140;
const FIRST_INDEX = 1501;

const hosts: NetHost[] = [];
const sshds: SshdHandle[] = [];
const users: SshdKeyUser[] = [];
const serverIds: string[] = [];
const secrets = new MemorySecretStore();
let dataDir: string;
let tc: TestCore | null = null;

async function startCore(): Promise<TestCore> {
  const made = await createTestCore({ dataDir, secrets });
  await made.core.start();
  made.core.settings.update({ flags: { ssh_runner_enabled: true, ssh_runner_auto_deploy: true }, runner: { enabled: true, fallbackToDirect: false } });
  return made;
}

function residentDir(user: SshdKeyUser): string {
  return path.join(user.home, '.cronium', 'resident');
}

function residentPid(user: SshdKeyUser): number | null {
  try {
    return (JSON.parse(fs.readFileSync(path.join(residentDir(user), 'resident.pid'), 'utf8')) as { pid: number }).pid;
  } catch {
    return null;
  }
}

function alive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

function firesOnHost(user: SshdKeyUser): Array<{ outcome: string; scheduleId: string; scheduledFor: string; jobId?: string }> {
  try {
    return fs.readFileSync(path.join(residentDir(user), 'fires.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/** A job folder's state.json says the script ended. */
function exitedOnHost(user: SshdKeyUser, jobId: string): boolean {
  try {
    return JSON.parse(fs.readFileSync(path.join(user.home, '.cronium', 'jobs', jobId, 'state.json'), 'utf8')).state === 'exited';
  } catch {
    return false;
  }
}

/** The next instant on a 10 s boundary at least `leadMs` away. */
function tenSecondBoundary(leadMs: number): number {
  return Math.ceil((Date.now() + leadMs) / 10_000) * 10_000;
}

async function saveServerHeld(core: TestCore['core'], name: string, expression: string, startMs: number, ticks: number, targets: string[]) {
  return core.events.save(
    EventInput.parse({
      name, scriptType: 'bash', timeoutSeconds: 60, executionMode: 'runner-ssh', serverIds: targets, firesOn: 'server', misfirePolicy: 'skip',
      content: 'echo "start $CRONIUM_JOB_ID"\nfor i in 1 2 3; do echo "line $i"; done\n',
      schedule: { kind: 'cron', expression, startAt: new Date(startMs).toISOString(), endAt: new Date(startMs + (ticks - 1) * 10_000 + 5_000).toISOString() },
      timeZone: 'UTC',
    }),
  );
}

async function jobsOf(core: TestCore['core'], eventId: string): Promise<JobView[]> {
  return core.jobs.list({ eventId, limit: 1000 });
}

beforeAll(async () => {
  requireRunnerBuild();
  for (let i = 0; i < 2; i++) {
    hosts.push(await createHost(`srvsched${i + 1}`, FIRST_INDEX + i));
    sshds.push(await hosts[i]!.startSshd({ users: 1, firstUser: FIRST_USER + i }));
    users.push(sshds[i]!.extraUsers[0]!);
    resetHome(users[i]!);
  }
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-server-schedules-'));
  tc = await startCore();
  for (let i = 0; i < 2; i++) serverIds.push(await addServer(tc.core, sshds[i]!, users[i]!, `held-${i + 1}`));
  // The runners first, one after the other (as the fan-out suite does): this suite is about schedules, not deploys.
  for (const id of serverIds) await tc.core.execution.ensureRunner(id);
}, 180_000);

afterAll(async () => {
  await tc?.cleanup();
  for (const user of users) {
    const pid = residentPid(user);
    if (alive(pid)) process.kill(pid!, 'SIGKILL');
    resetHome(user);
  }
  for (const h of hosts) await h.destroy();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

describe('server-held schedules (resident runner)', () => {
  it('with the app stopped, fires 3 times on each of 2 hosts; the next start collects all 6 with complete logs and start times, none twice', async () => {
    const core = tc!.core;
    const startMs = tenSecondBoundary(25_000);
    const event = await saveServerHeld(core, 'held while away', '*/10 * * * * *', startMs, 3, serverIds);
    const results = await core.serverSchedules.sweep();
    expect(results.map((r) => r.installed).sort()).toEqual([1, 1]);
    const views = await core.serverSchedules.views();
    const view = views.find((v) => v.eventId === event.id)!;
    expect(view.servers.map((s) => [s.stale, s.running, s.startMode])).toEqual([[false, true, 'process'], [false, true, 'process']]);
    expect(view.servers[0]!.systemdNote).toMatch(/systemd/);
    expect(view.servers.every((s) => s.nextFire === new Date(startMs).toISOString())).toBe(true);
    // The app goes away before the first tick.
    await tc!.cleanup();
    tc = null;
    for (const user of users) {
      await waitFor('three fires on the host', () => firesOnHost(user).filter((f) => f.scheduleId === event.id && f.outcome === 'fired').length >= 3, 90_000, 250);
      const ids = firesOnHost(user).filter((f) => f.scheduleId === event.id).map((f) => f.jobId!);
      await waitFor('the fired jobs to end', () => ids.every((id) => exitedOnHost(user, id)), 30_000, 100);
    }
    // Nothing fired past endAt: exactly three per host.
    expect(users.map((u) => firesOnHost(u).filter((f) => f.scheduleId === event.id).length)).toEqual([3, 3]);

    tc = await startCore();
    const jobs = await waitFor('6 collected jobs, all ended', async () => {
      const list = await jobsOf(tc!.core, event.id);
      return list.length === 6 && list.every((j) => j.status === 'SUCCESS') ? list : null;
    }, 60_000, 200);
    for (let i = 0; i < 2; i++) {
      const mine = jobs.filter((j) => j.serverId === serverIds[i]);
      expect(mine).toHaveLength(3);
      const fires = firesOnHost(users[i]!).filter((f) => f.scheduleId === event.id);
      for (const job of mine) {
        expect(job.firedOnServer).toBe(true);
        expect(job.trigger).toBe('schedule');
        const fire = fires.find((f) => f.jobId === job.id)!;
        expect(fire).toBeDefined();
        // Started when the server started it: within 5 s after its scheduled time, never before.
        const lag = Date.parse(job.startedAt!) - Date.parse(fire.scheduledFor);
        expect(lag).toBeGreaterThanOrEqual(0);
        expect(lag).toBeLessThan(5_000);
        expect(await stdoutOf(tc!.core, job.logId!)).toEqual([`start ${job.id}`, 'line 1', 'line 2', 'line 3']);
      }
      expect(new Set(mine.map((j) => fires.find((f) => f.jobId === j.id)!.scheduledFor)).size).toBe(3);
    }
    // Collecting again finds nothing new: none twice.
    await tc.core.serverSchedules.sweep();
    expect(await jobsOf(tc.core, event.id)).toHaveLength(6);
    const after = (await tc.core.serverSchedules.views()).find((v) => v.eventId === event.id)!;
    expect(after.servers.every((s) => s.lastCollectedFire === new Date(startMs + 20_000).toISOString())).toBe(true);
    await tc.core.events.delete(event.id);
  }, 180_000);

  it('with the app running, a server-held schedule fires once per tick', async () => {
    const core = tc!.core;
    const startMs = tenSecondBoundary(12_000);
    const event = await saveServerHeld(core, 'held while here', '*/10 * * * * *', startMs, 2, [serverIds[0]!]);
    await core.serverSchedules.sweep();
    expect(core.scheduler.scheduler.nextFire('event', event.id)).toBeNull(); // the app's scheduler does not own it
    await waitFor('two fires', () => firesOnHost(users[0]!).filter((f) => f.scheduleId === event.id).length >= 2, 60_000, 250);
    let seen: JobView[] = [];
    const jobs = await waitFor('2 jobs collected', async () => {
      await core.serverSchedules.sweep();
      seen = await jobsOf(core, event.id);
      return seen.length >= 2 && seen.every((j) => j.status === 'SUCCESS') ? seen : null;
    }, 60_000, 500).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; jobs: ${JSON.stringify(seen.map((j) => [j.status, j.reason]))}`);
    });
    await new Promise((r) => setTimeout(r, 3_000));
    await core.serverSchedules.sweep();
    const final = await jobsOf(core, event.id);
    expect(final).toHaveLength(2);
    expect(final.every((j) => j.firedOnServer === true)).toBe(true);
    expect(jobs.map((j) => j.id).sort()).toEqual(final.map((j) => j.id).sort());
    await core.events.delete(event.id);
  }, 120_000);

  it('an expression edited while a host is unreachable is shown stale and updated when the link returns', async () => {
    const core = tc!.core;
    const event = await core.events.save(
      EventInput.parse({
        name: 'edited while cut', scriptType: 'bash', timeoutSeconds: 60, executionMode: 'runner-ssh', serverIds, firesOn: 'server',
        content: 'echo hi\n', schedule: { kind: 'cron', expression: '0 3 * * *' }, timeZone: 'Europe/Berlin',
      }),
    );
    await core.serverSchedules.sweep();
    await hosts[1]!.cutLink();
    try {
      const view = await core.events.get(event.id);
      await core.events.save(EventInput.parse({ ...view, id: event.id, serverIds, secrets: [], schedule: { kind: 'cron', expression: '0 4 * * *' } }));
      await core.serverSchedules.sweep();
      const copies = (await core.serverSchedules.views()).find((v) => v.eventId === event.id)!.servers;
      expect(copies.find((c) => c.serverId === serverIds[0])!.stale).toBe(false);
      expect(copies.find((c) => c.serverId === serverIds[1])!.stale).toBe(true);
      expect(fs.readFileSync(path.join(residentDir(users[1]!), 'manifest.json'), 'utf8')).toContain('0 3 * * *');
    } finally {
      await hosts[1]!.restoreLink();
    }
    await waitFor('the stale copy updated', async () => {
      await core.serverSchedules.sync(serverIds[1]!).catch(() => null);
      const copies = (await core.serverSchedules.views()).find((v) => v.eventId === event.id)!.servers;
      return copies.every((c) => !c.stale);
    }, 60_000, 1_000);
    const manifest = fs.readFileSync(path.join(residentDir(users[1]!), 'manifest.json'), 'utf8');
    expect(manifest).toContain('0 4 * * *');
    expect(manifest).not.toContain('0 3 * * *');
    // The next fire shown is the server's: 04:00 Berlin.
    const copy = (await core.serverSchedules.views()).find((v) => v.eventId === event.id)!.servers[1]!;
    expect(new Date(copy.nextFire!).toLocaleString('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' })).toBe('04:00');
  }, 120_000);

  it('a killed resident runner is restarted by the next connection', async () => {
    const core = tc!.core;
    const before = residentPid(users[0]!);
    expect(alive(before)).toBe(true);
    process.kill(before!, 'SIGKILL');
    await waitFor('the resident runner gone', () => !alive(before), 10_000);
    const result = await core.serverSchedules.sync(serverIds[0]!);
    expect(result.started).toBe(true);
    const after = residentPid(users[0]!);
    expect(after).not.toBe(before);
    expect(alive(after)).toBe(true);
  }, 60_000);

  it('removing the runner leaves no resident process, unit or file behind', async () => {
    const core = tc!.core;
    const pids = users.map((u) => residentPid(u));
    expect(pids.every(alive)).toBe(true);
    for (const id of serverIds) await core.runners.remove(id);
    for (let i = 0; i < 2; i++) {
      await waitFor('the resident runner stopped', () => !alive(pids[i]!), 10_000);
      expect(fs.existsSync(residentDir(users[i]!)) ? fs.readdirSync(residentDir(users[i]!)) : 'gone').toBe('gone');
      expect(fs.existsSync(path.join(users[i]!.home, '.config', 'systemd', 'user', 'cronium-resident.service'))).toBe(false);
      const jobs = path.join(users[i]!.home, '.cronium', 'jobs');
      const left = fs.existsSync(jobs) ? fs.readdirSync(jobs).filter((d) => fs.existsSync(path.join(jobs, d, 'fire.json'))) : [];
      expect(left).toEqual([]);
    }
    // The next sweep does not put it back: a removed runner stays removed until someone deploys it.
    await core.serverSchedules.sweep();
    expect(users.map((u) => fs.existsSync(residentDir(u)))).toEqual([false, false]);
  }, 60_000);
});
