// The scheduler wired into a real core (SQLite file, job service, a real sshd): a scheduled event fires on a real 2 s
// schedule exactly once per scheduled time across a restart of the core; after simulated downtime (the next core's
// clock is an hour ahead) each event's misfire policy is applied; and a clock jump while running (the machine slept)
// is noticed by the wake watch and caught up at once, not at the next scheduled time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../../src-main/core/core';
import { systemClock, type Clock } from '../../../src-main/core/clock';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { startSshd, type SshdHandle } from '../../harness/sshd';
import { MIGRATIONS_DIR, RESOURCES_DIR } from '../../harness/test-core';
import { WAKE_CHECK_MS } from '../../../src-main/core/scheduler/scheduler-wiring';
import { EventInput, type EventInput as EventInputType } from '../../../src-shared/contract/events';

let sshd: SshdHandle;
let dataDir: string;
const secrets = new MemorySecretStore();
const open: Core[] = [];

/** A clock `offsetMs` ahead of the real one; its timers are real. */
function offsetClock(offset: { ms: number }): Clock {
  return { now: () => Date.now() + offset.ms, setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms) };
}

async function startCore(clock: Clock = systemClock): Promise<Core> {
  const core = await createCore(
    { dataDir, migrationsDir: MIGRATIONS_DIR, resourcesDir: RESOURCES_DIR, mode: 'serve', appVersion: '0.0.0-test', env: {} },
    { secrets, clock },
  );
  open.push(core);
  await core.start();
  return core;
}

async function stopCore(core: Core) {
  await core.stop();
  open.splice(open.indexOf(core), 1);
}

async function addServer(core: Core): Promise<string> {
  const view = await core.servers.save({
    name: 'harness', host: sshd.host, port: sshd.port, username: sshd.keyUser.username, authType: 'key', privateKey: sshd.keyUser.privateKey, tags: [], maxConcurrentJobs: 8,
  });
  await core.servers.trustHostKey(view.id, sshd.hostKeyFingerprint, false);
  return view.id;
}

async function scheduledEvent(core: Core, serverId: string, extra: Partial<EventInputType>) {
  return core.events.save(EventInput.parse({ name: 'tick', scriptType: 'bash', content: 'echo tick', timeoutSeconds: 30, serverIds: [serverId], ...extra }));
}

function fires(core: Core, eventId: string) {
  return core.db.sqlite
    .prepare(`SELECT scheduled_for, outcome, reason, job_ids FROM schedule_fires WHERE owner_id = ? ORDER BY scheduled_for`)
    .all(eventId) as Array<{ scheduled_for: string; outcome: string; reason: string | null; job_ids: string }>;
}

function scheduleJobs(core: Core, eventId: string) {
  return core.db.sqlite.prepare(`SELECT id, idempotency_key FROM jobs WHERE event_id = ? AND trigger = 'schedule'`).all(eventId) as Array<{ id: string; idempotency_key: string }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  sshd = await startSshd();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
});
afterEach(async () => {
  for (const core of open.splice(0)) await core.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function freshDataDir() {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-wiring-'));
}

describe('the scheduler wired into the core', () => {
  describe('when an event has a 2 s schedule and the app restarts', () => {
    it('fires every scheduled time exactly once, before and after the restart', async () => {
      freshDataDir();
      const first = await startCore();
      const serverId = await addServer(first);
      const event = await scheduledEvent(first, serverId, { schedule: { kind: 'interval', everySeconds: 2 }, overlapPolicy: 'allow' });
      expect((await first.events.get(event.id)).nextRunAt).not.toBeNull();
      await sleep(5_000);
      const beforeRestart = fires(first, event.id).length;
      expect(beforeRestart).toBeGreaterThanOrEqual(2);
      await stopCore(first);

      const second = await startCore();
      await sleep(5_000);
      await stopCore(second);

      const reopened = await startCore();
      await reopened.scheduler.wiring.stop(); // read the history without new fires
      const recs = fires(reopened, event.id);
      expect(recs.length).toBeGreaterThan(beforeRestart);
      expect(recs.every((r) => r.outcome === 'fired')).toBe(true);
      // Every 2 s slot from the first to the last fire is there once: none doubled, none lost across the restart.
      const times = recs.map((r) => Date.parse(r.scheduled_for));
      expect(new Set(times).size).toBe(times.length);
      expect((times[times.length - 1]! - times[0]!) / 2000 + 1).toBe(times.length);
      // One job per fire, keyed by the fire's idempotency key.
      const jobs = scheduleJobs(reopened, event.id);
      expect(jobs).toHaveLength(recs.length);
      expect(new Set(jobs.map((j) => j.idempotency_key)).size).toBe(jobs.length);
      expect(new Set(recs.flatMap((r) => JSON.parse(r.job_ids) as string[]))).toEqual(new Set(jobs.map((j) => j.id)));
    }, 60_000);
  });

  describe('when the app was closed for an hour', () => {
    it("applies each event's misfire policy: run_once runs the latest missed time, skip runs none, both say so", async () => {
      freshDataDir();
      const first = await startCore();
      const serverId = await addServer(first);
      // Every 5 min from 30 s from now: an hour later the newest missed time is 4.5 min old, well past the grace.
      const schedule = { kind: 'interval' as const, everySeconds: 300, startAt: new Date(Date.now() + 30_000).toISOString() };
      const once = await scheduledEvent(first, serverId, { name: 'run once', schedule, misfirePolicy: 'run_once' });
      const skip = await scheduledEvent(first, serverId, { name: 'skip', schedule, misfirePolicy: 'skip' });
      await stopCore(first);

      const later = await startCore(offsetClock({ ms: 3600_000 }));
      const onceRecs = fires(later, once.id);
      expect(onceRecs.map((r) => r.outcome).sort()).toEqual(['fired', 'skipped_misfire']);
      expect(onceRecs.find((r) => r.outcome === 'skipped_misfire')!.reason).toMatch(/were missed while the app was not running.*only the latest .* was run \(misfire policy 'run_once'\)/);
      const skipRecs = fires(later, skip.id);
      expect(skipRecs.map((r) => r.outcome)).toEqual(['skipped_misfire']);
      expect(skipRecs[0]!.reason).toMatch(/none was run \(misfire policy 'skip'\)/);
      expect(scheduleJobs(later, skip.id)).toHaveLength(0);
      // The catch-up really ran on the server.
      const [job] = await until('the catch-up job', () => scheduleJobs(later, once.id)[0] && scheduleJobs(later, once.id), 10_000);
      expect((await later.jobs.waitForJob(job!.id)).status).toBe('SUCCESS');
    }, 60_000);
  });

  describe('when the computer sleeps while the app runs', () => {
    it('notices the clock jump and applies the misfire policy within seconds', async () => {
      freshDataDir();
      const offset = { ms: 0 };
      const core = await startCore(offsetClock(offset));
      const serverId = await addServer(core);
      const schedule = { kind: 'interval' as const, everySeconds: 300, startAt: new Date(Date.now() + 30_000).toISOString() };
      const event = await scheduledEvent(core, serverId, { schedule, misfirePolicy: 'run_once' });
      expect(fires(core, event.id)).toEqual([]);
      offset.ms = 10 * 60_000; // ten minutes pass at once
      const jumpedAt = Date.now();
      await until('the misfire records', () => fires(core, event.id).length >= 2, 20_000);
      // The next scheduled time was still 30 s away in real time: only the wake watch can have done this so soon.
      expect(Date.now() - jumpedAt).toBeLessThan(WAKE_CHECK_MS + 3_000);
      expect(fires(core, event.id).map((r) => r.outcome).sort()).toEqual(['fired', 'skipped_misfire']);
    }, 60_000);
  });
});
