/**
 * JobStore's prepared reads (real SQLite): list() by every filter shape, alone and combined, with its limit and order,
 * and view() of one job, each through the SQL viewQuery() builds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { JobStore } from '../../../src-main/core/jobs/job-store';

const MIGRATIONS = path.resolve(__dirname, '../../../migrations');
let dir: string;
let db: AppDatabase;
let store: JobStore;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-jobstore-'));
  db = openDatabase(path.join(dir, 'cronium.sqlite'), MIGRATIONS);
  store = new JobStore(db, () => Date.parse('2027-01-01T00:00:00Z'));
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function insert(id: string, minute: number, runId: string, workflowRunId: string | null): Promise<void> {
  const at = `2027-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
  await store.insertQueued({
    id, event_id: null, event_version: 1, server_id: null, workflow_run_id: workflowRunId, trigger: 'manual', attempt: 1, max_attempts: 1,
    exit_code: null, signal: null, reason: null, output: null, condition: null, remote_pid: null, idempotency_key: null, created_at: at,
    started_at: null, finished_at: null, updated_at: at, runner_id: null, payload_id: null, execution_mode: null, requested_mode: null,
    fallback_reason: null, run_id: runId, fired_on_server: 0,
  } as never);
}

it('lists by each filter and their combinations, newest first, within the limit', async () => {
  await insert('a', 1, 'r1', 'w1');
  await insert('b', 2, 'r1', null);
  await insert('c', 3, 'r2', 'w1');
  await store.move('b', 'DISPATCHING', {});
  const ids = async (f: Parameters<JobStore['list']>[0]) => (await store.list(f)).map((j) => j.id);
  expect(await ids({})).toEqual(['c', 'b', 'a']);
  expect(await ids({ runId: 'r1' })).toEqual(['b', 'a']);
  expect(await ids({ workflowRunId: 'w1' })).toEqual(['c', 'a']);
  expect(await ids({ status: 'QUEUED' })).toEqual(['c', 'a']);
  expect(await ids({ status: 'QUEUED', runId: 'r1' })).toEqual(['a']);
  expect(await ids({ status: 'DISPATCHING', workflowRunId: 'w1' })).toEqual([]);
  expect(await ids({ runId: 'r1', limit: 1 })).toEqual(['b']);
  // The same shape again (a prepared statement reused) with other values.
  expect(await ids({ status: 'DISPATCHING', runId: 'r1' })).toEqual(['b']);
  expect(await ids({ runId: 'r2' })).toEqual(['c']);
});

it('views one job', async () => {
  await insert('a', 1, 'r1', null);
  const view = await store.view('a');
  expect(view).toMatchObject({ id: 'a', status: 'QUEUED', runId: 'r1', logId: null });
  expect(await store.view('missing')).toBeUndefined();
});

it("finds an event's recent jobs on one server through the jobs_event_server index, not by reading all the event's jobs", async () => {
  await store.list({ eventId: 'e1', serverId: 's1', limit: 20 });
  const statements = (store as unknown as { prepared: { statements: Map<string, { source: string }> } }).prepared.statements;
  const source = statements.get('list:jobs.event_id,jobs.server_id')?.source;
  expect(source).toBeDefined();
  const plan = db.sqlite.prepare(`EXPLAIN QUERY PLAN ${source}`).all('e1', 's1', 20) as Array<{ detail: string }>;
  expect(plan.map((p) => p.detail)).toContainEqual(expect.stringMatching(/^SEARCH jobs USING INDEX jobs_event_server \(event_id=\? AND server_id=\?\)/));
});
