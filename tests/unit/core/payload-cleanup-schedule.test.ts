/**
 * The payload TTL clean-up runs on the core's Clock: a minute after start, then every interval, with the TTL from
 * settings and the servers asked each time; stopCleanup() leaves no timer. A day of clean-ups runs in milliseconds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { SettingsService } from '../../../src-main/core/settings/settings-service';
import { createMetrics } from '../../../src-main/core/metrics/metrics';
import { SshPool } from '../../../src-main/core/ssh/ssh-pool';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { PayloadService } from '../../../src-main/core/payloads/payload-service';
import { MIGRATIONS_DIR } from '../../harness/test-core';
import { ManualClock } from '../../harness/manual-clock';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;

let dir: string;
let db: AppDatabase;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-payload-ttl-'));
  db = openDatabase(path.join(dir, 'db.sqlite'), MIGRATIONS_DIR);
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the payload TTL clean-up schedule', () => {
  it('runs a minute after start and then every interval on the clock, until stopped', async () => {
    const clock = new ManualClock(T0);
    const settings = new SettingsService(db, {}, new EventBus());
    const payloads = new PayloadService({
      db, settings, secrets: new MemorySecretStore(), metrics: createMetrics(), clock, dir: path.join(dir, 'payloads'),
      ssh: new SshPool(async () => {
        throw new Error('no server in unit tests');
      }),
    });
    const runs: Array<{ atMs: number; ttlDays: number; serverIds: string[] | undefined }> = [];
    payloads.cleanupOldPayloads = async (ttlDays, opts = {}) => {
      runs.push({ atMs: clock.now() - T0, ttlDays, serverIds: opts.serverIds });
      return 0;
    };

    payloads.startCleanup(async () => ['s1', 's2'], 6 * HOUR);
    await clock.advance(24 * HOUR);
    const ttlDays = settings.current().runner.cacheTtlDays;
    expect(runs.map((r) => r.atMs)).toEqual([60_000, 6 * HOUR, 12 * HOUR, 18 * HOUR, 24 * HOUR]);
    expect(runs.every((r) => r.ttlDays === ttlDays && r.serverIds?.join() === 's1,s2')).toBe(true);

    payloads.stopCleanup();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(24 * HOUR);
    expect(runs).toHaveLength(5);
  });

  it('stops a sweep in progress before its next server when the app closes', async () => {
    const tried: string[] = [];
    const payloads: PayloadService = new PayloadService({
      db, settings: new SettingsService(db, {}, new EventBus()), secrets: new MemorySecretStore(), metrics: createMetrics(), clock: new ManualClock(T0), dir: path.join(dir, 'payloads'),
      ssh: new SshPool(async (serverId: string) => {
        tried.push(serverId);
        payloads.stopCleanup(); // the app starts closing while the first server is swept
        throw new Error('the SSH pool is shutting down');
      }),
    });
    await payloads.cleanupOldPayloads(30, { serverIds: ['s1', 's2', 's3'] });
    expect(tried).toEqual(['s1']);
  });
});
