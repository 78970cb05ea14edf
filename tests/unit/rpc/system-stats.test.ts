/**
 * system/stats over the real router and a real core (SQLite file in a temp folder): rows written into jobs,
 * runner_deployments, servers and events come back as the Dashboard's counts, validated against the contract.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemStats } from '../../../src-shared/contract/system';
import { createHandlers } from '../../../src-main/rpc/handlers';
import { createMemoryTransport, type MemoryTransport } from '../../../src-main/rpc/memory-transport';
import { Router } from '../../../src-main/rpc/router';
import { createTestCore, type TestCore } from '../../harness/test-core';

let test: TestCore;
let pair: MemoryTransport;
const HOUR = 60 * 60 * 1000;

beforeEach(async () => {
  test = await createTestCore();
  pair = createMemoryTransport(new Router(createHandlers(test.core), test.core.bus));
});
afterEach(async () => {
  pair.close();
  await test.cleanup();
});

async function stats(): Promise<SystemStats> {
  const result = await pair.client.invoke('system/stats');
  if (!result.ok) throw new Error(`system/stats failed: ${result.error.code} ${result.error.message}`);
  return SystemStats.parse(result.value);
}

const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
const db = () => test.core.db.kysely;

async function addServer(name: string): Promise<string> {
  const id = `srv-${name}`;
  await db()
    .insertInto('servers')
    .values({ id, name, host: '127.0.0.1', username: 'deploy', auth_type: 'key', credential_ref: `cred-${name}`, host_key_fingerprint: null, host_key_algorithm: null, last_connection_at: null, last_connection_ok: null, last_connection_message: null, last_latency_ms: null, created_at: iso(0), updated_at: iso(0) })
    .execute();
  return id;
}

async function addEvent(name: string, opts: { schedule?: string | null; enabled?: number } = {}): Promise<string> {
  const id = `evt-${name}`;
  await db()
    .insertInto('events')
    .values({ id, name, script_type: 'bash', content: 'echo hi', runner_requirements: null, schedule: opts.schedule ?? null, time_zone: null, enabled: opts.enabled ?? 1, created_at: iso(0), updated_at: iso(0) })
    .execute();
  return id;
}

let jobSeq = 0;
async function addJob(status: string, finishedMsAgo: number | null = null): Promise<void> {
  jobSeq += 1;
  const created = iso((finishedMsAgo ?? 0) + 60_000);
  await db()
    .insertInto('jobs')
    .values({ id: `job-${jobSeq}`, event_id: null, event_version: null, server_id: null, workflow_run_id: null, status, exit_code: null, signal: null, reason: null, output: null, condition: null, remote_pid: null, idempotency_key: null, created_at: created, started_at: created, finished_at: finishedMsAgo === null ? null : iso(finishedMsAgo), updated_at: iso(0) })
    .execute();
}

let deploymentSeq = 0;
async function addDeployment(serverId: string, status: string, metadata: string | null): Promise<void> {
  deploymentSeq += 1;
  await db()
    .insertInto('runner_deployments')
    .values({ id: `dep-${deploymentSeq}`, server_id: serverId, runner_version: '1.0.0', deployed_at: iso(deploymentSeq), last_health_check: null, status, metadata })
    .execute();
}

const health = (state: string) => JSON.stringify({ health: { state, reason: null, checkedAt: iso(0), durationMs: 12, cpuUsage: null, memoryUsage: null, diskSpaceMb: null, queued: 0, running: 0 } });

describe('system/stats', () => {
  describe('when the user opens the Dashboard of a fresh install', () => {
    it('counts zero everywhere', async () => {
      expect(await stats()).toEqual({
        jobs: { running: 0, queued: 0, last24h: { success: 0, failure: 0, timeout: 0, cancelled: 0, partial: 0 } },
        runners: { deployments: { active: 0, failed: 0, updating: 0 }, health: { healthy: 0, degraded: 0, unhealthy: 0, unknown: 0 } },
        servers: 0,
        events: 0,
        scheduledEvents: 0,
      });
    });
  });

  describe('when jobs have run and are running', () => {
    it('counts live jobs by state and finished ones of the last 24 hours only', async () => {
      await addJob('QUEUED');
      await addJob('QUEUED');
      await addJob('DISPATCHING');
      await addJob('RUNNING');
      await addJob('SUCCESS', 1 * HOUR);
      await addJob('SUCCESS', 23 * HOUR);
      await addJob('SUCCESS', 25 * HOUR); // older than a day: not counted
      await addJob('FAILURE', 2 * HOUR);
      await addJob('TIMEOUT', 3 * HOUR);
      await addJob('CANCELLED', 4 * HOUR);
      await addJob('CANCELLED', 48 * HOUR);
      await addJob('PARTIAL', 5 * HOUR);

      const { jobs } = await stats();
      expect(jobs).toEqual({ running: 2, queued: 2, last24h: { success: 2, failure: 1, timeout: 1, cancelled: 1, partial: 1 } });
    });
  });

  describe('when servers have runner deployments', () => {
    it('counts deployments by status and the health of the active ones, unknown when never checked or unreadable', async () => {
      const a = await addServer('a');
      const b = await addServer('b');
      const c = await addServer('c');
      const d = await addServer('d');
      const e = await addServer('e');
      await addDeployment(a, 'active', health('healthy'));
      await addDeployment(b, 'active', health('degraded'));
      await addDeployment(c, 'active', health('unhealthy'));
      await addDeployment(d, 'active', null); // never checked
      await addDeployment(e, 'active', '{not json'); // unreadable metadata must not break the call
      await addDeployment(a, 'superseded', health('unhealthy')); // history, not counted
      await addDeployment(b, 'failed', JSON.stringify({ reason: 'upload failed' }));
      await addDeployment(c, 'updating', null);
      await addDeployment(d, 'removed', null);

      const s = await stats();
      expect(s.runners).toEqual({
        deployments: { active: 5, failed: 1, updating: 1 },
        health: { healthy: 1, degraded: 1, unhealthy: 1, unknown: 2 },
      });
      expect(s.servers).toBe(5);
    });
  });

  describe('when the user has events, some on a schedule', () => {
    it('counts all events and only the enabled scheduled ones as scheduled', async () => {
      const schedule = JSON.stringify({ kind: 'cron', expression: '*/5 * * * *' });
      await addEvent('manual');
      await addEvent('every-5-min', { schedule });
      await addEvent('paused', { schedule, enabled: 0 });

      const s = await stats();
      expect(s.events).toBe(3);
      expect(s.scheduledEvents).toBe(1);
    });
  });
});
