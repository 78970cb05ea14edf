// Start-up reconciliation: jobs a crash left QUEUED, DISPATCHING or RUNNING never stay that way when the core is
// created again on the same data folder; runner jobs with a registered resumer are handed over at start instead.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestCore } from '../../harness/test-core';
import { nowIso } from '../../../src-main/core/db/ids';
import { CRASH_REASON_QUEUED, CRASH_REASON_RUNNING } from '../../../src-main/core/jobs/job-service';
import type { Core } from '../../../src-main/core/core';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Writes the rows a crash mid-job leaves behind: a job in `status` with a log in `logStatus` holding `lines` lines. */
async function leaveJob(core: Core, id: string, status: string, logStatus: string, lines: number, mode: string | null = 'direct-ssh') {
  const at = nowIso(Date.now());
  await core.db.kysely.insertInto('jobs').values({ id, status, created_at: at, updated_at: at, started_at: status === 'RUNNING' ? at : null, execution_mode: mode } as never).execute();
  const logId = `${id}-log`;
  await core.db.kysely.insertInto('logs').values({ id: logId, job_id: id, status: logStatus, created_at: at, updated_at: at } as never).execute();
  // Through the store, as the job wrote them: chunk rows of an open block, and the log's counters.
  for (let i = 1; i <= lines; i++) core.logs.store.append(logId, { seq: i, stream: 'stdout', ts: at, text: `line ${i}` });
  core.logs.store.flushAll(logId);
}

describe('start-up reconciliation', () => {
  describe('when the app crashed while jobs were queued and running', () => {
    it('ends them on the next createCore: PARTIAL with output, FAILURE without, queued ones not run', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-reconcile-'));
      dirs.push(dataDir);
      const first = await createTestCore({ dataDir });
      await leaveJob(first.core, 'with-output', 'RUNNING', 'RUNNING', 3);
      await leaveJob(first.core, 'no-output', 'RUNNING', 'RUNNING', 0);
      await leaveJob(first.core, 'dispatching', 'DISPATCHING', 'PENDING', 0);
      await leaveJob(first.core, 'queued', 'QUEUED', 'PENDING', 0);
      await first.cleanup();

      const second = await createTestCore({ dataDir });
      try {
        const jobs = second.core.jobs;
        const withOutput = await jobs.get('with-output');
        expect(withOutput.status).toBe('PARTIAL');
        expect(withOutput.reason).toContain(CRASH_REASON_RUNNING);
        expect(withOutput.finishedAt).not.toBeNull();
        expect((await second.core.logs.store.get('with-output-log')).status).toBe('PARTIAL');
        expect((await second.core.logs.store.lines('with-output-log', 0, 10)).lines).toHaveLength(3);

        expect(await jobs.get('no-output')).toMatchObject({ status: 'FAILURE', reason: CRASH_REASON_RUNNING });
        expect((await second.core.logs.store.get('no-output-log')).status).toBe('FAILURE');
        expect(await jobs.get('dispatching')).toMatchObject({ status: 'FAILURE' });
        expect(await jobs.get('queued')).toMatchObject({ status: 'FAILURE', reason: CRASH_REASON_QUEUED });
        expect(await jobs.list({ status: 'RUNNING' })).toEqual([]);
      } finally {
        await second.cleanup();
      }
    });
  });

  describe('when a resumer is registered for the job mode', () => {
    it('keeps the job for it, hands it over at start and records the result it reports', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-reconcile-'));
      dirs.push(dataDir);
      const test = await createTestCore({ dataDir });
      try {
        // A mode of this test's own, so the runner's real resumer (registered by createCore) stays out of it.
        await leaveJob(test.core, 'resumable', 'RUNNING', 'PARTIAL', 2, 'test-resumable');
        const seen: string[] = [];
        test.core.jobs.registerResumer('test-resumable', async (row, ctx) => {
          seen.push(row.id);
          ctx.log!.setStatus('STREAMING');
          ctx.log!.appendSequenced([{ seq: 2, stream: 'stdout', ts: nowIso(Date.now()), text: 'dup' }, { seq: 3, stream: 'stdout', ts: nowIso(Date.now()), text: 'replayed' }]);
          await ctx.finish({ status: 'SUCCESS', exitCode: 0, signal: null, reason: null });
        });
        expect(await test.core.jobs.reconcile()).toMatchObject({ ended: 0, handedOver: 1 });
        expect((await test.core.jobs.get('resumable')).status).toBe('RUNNING');
        test.core.jobs.resumeHandedOver();
        const job = await test.core.jobs.waitForJob('resumable');
        expect(seen).toEqual(['resumable']);
        expect(job.status).toBe('SUCCESS');
        const { lines } = await test.core.logs.store.lines('resumable-log', 0, 10);
        expect(lines.map((l) => l.text)).toEqual(['line 1', 'line 2', 'replayed']);
        expect((await test.core.logs.store.get('resumable-log')).status).toBe('SUCCESS');
      } finally {
        await test.cleanup();
      }
    });
  });
});
