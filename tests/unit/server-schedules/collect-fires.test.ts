/**
 * The app's collection of a server's fire record (ServerScheduleService.collectFires, real SQLite, in-memory fire
 * store): fires.jsonl is written on the server, so anything there may have forged it. A record is taken only for an
 * event this app put in that server's manifest and with the fire key its schedule and time name; anything else is
 * refused and claims nothing (so it can neither cancel an app-held schedule's time nor plant a fake "fired on server").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { MemoryFireStore } from '../../../src-main/core/scheduler/fire-store';
import { ServerScheduleService, fireRefusal, serverFireJobId, type ServerScheduleDeps } from '../../../src-main/core/server-schedules/server-schedule-service';
import { residentFireKey, type ResidentFire } from '../../../src-shared/protocol/resident';

const MIGRATIONS = path.resolve(__dirname, '../../../migrations');
const AT = '2027-01-01T03:00:00.000Z';
let dir: string;
let db: AppDatabase;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-collect-'));
  db = openDatabase(path.join(dir, 'cronium.sqlite'), MIGRATIONS);
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function setup() {
  const fires = new MemoryFireStore();
  const adopted: string[] = [];
  const deps = {
    db,
    clock: { now: () => Date.parse(AT) },
    fires,
    jobs: {
      store: { find: async () => undefined },
      adoptServerFired: async (f: { jobId: string }) => {
        adopted.push(f.jobId);
        return true;
      },
    },
  } as unknown as ServerScheduleDeps;
  return { service: new ServerScheduleService(deps), fires, adopted };
}

function fire(scheduleId: string, over: Partial<ResidentFire> = {}): ResidentFire {
  return { fireKey: residentFireKey(scheduleId, Date.parse(AT)), scheduleId, version: 1, scheduledFor: AT, firedAt: AT, outcome: 'skipped_misfire', trigger: 'catch_up', ...over };
}

/** Whether the key is still free in the fire store (a claim of it would run the app's own fire). */
async function stillFree(fires: MemoryFireStore, ownerId: string, key: string): Promise<boolean> {
  return fires.claim({ ownerKind: 'event', ownerId, scheduledFor: AT, idempotencyKey: key, firedAt: AT, outcome: 'fired', jobIds: [] });
}

describe('collecting the server fire record', () => {
  it('takes a skipped and a fired record of an event held on that server (the control)', async () => {
    const { service, fires, adopted } = setup();
    const key = residentFireKey('held', Date.parse(AT) + 3_600_000);
    const fired = fire('held', { outcome: 'fired', fireKey: key, scheduledFor: new Date(Date.parse(AT) + 3_600_000).toISOString(), jobId: serverFireJobId('s1', key) });
    const r = await service.collectFires('s1', [fire('held'), fired], new Set(['held']));
    expect(r).toMatchObject({ collected: 1, refused: [] });
    expect(adopted).toEqual([serverFireJobId('s1', key)]);
    expect(await stillFree(fires, 'held', fire('held').fireKey)).toBe(false);
  });

  it('refuses a forged record for an event this server does not hold, and claims nothing for it', async () => {
    const { service, fires, adopted } = setup();
    const cancel = fire('app-held-event');
    const key = residentFireKey('other-event', Date.parse(AT));
    const fake = fire('other-event', { outcome: 'fired', fireKey: key, jobId: serverFireJobId('s1', key) });
    const r = await service.collectFires('s1', [cancel, fake], new Set(['held']));
    expect(r.collected).toBe(0);
    expect(r.refused.map((x) => x.fireKey)).toEqual([cancel.fireKey, fake.fireKey]);
    expect(r.refused.every((x) => !x.forged && /not one this app installed/.test(x.why))).toBe(true);
    expect(adopted).toEqual([]);
    expect(await stillFree(fires, 'app-held-event', cancel.fireKey)).toBe(true);
    expect(await stillFree(fires, 'other-event', fake.fireKey)).toBe(true);
  });

  it('refuses a record whose fire key is not the one its (held) schedule and time name', async () => {
    const { service, fires } = setup();
    const otherKey = residentFireKey('app-held-event', Date.parse(AT));
    const workflowKey = `workflow:wf1:${AT}`;
    const r = await service.collectFires(
      's1',
      [fire('held', { fireKey: otherKey }), fire('held', { fireKey: workflowKey }), fire('held', { scheduledFor: '2027-01-01T03:00:00Z' }), fire('held', { scheduledFor: 'soon' })],
      new Set(['held']),
    );
    expect(r.refused).toHaveLength(4);
    expect(r.refused.every((x) => x.forged)).toBe(true);
    expect(await stillFree(fires, 'app-held-event', otherKey)).toBe(true);
    expect(await stillFree(fires, 'wf1', workflowKey)).toBe(true);
  });

  it('fireRefusal accepts exactly the key residentFireKey gives', () => {
    expect(fireRefusal(fire('held'), new Set(['held']))).toBeNull();
    expect(fireRefusal(fire('held', { fireKey: `${fire('held').fireKey} ` }), new Set(['held']))).toMatch(/fire key/);
  });
});
