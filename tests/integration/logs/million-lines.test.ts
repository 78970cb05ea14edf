// A job printing 1,000,000 lines: every line stored once, in order (count and checksum), memory bounded while it
// streams, invalid UTF-8 kept as replacement characters, and subscribers receiving bounded pushes.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAndWait, saveEvent, startJobWorld, type JobWorld } from '../jobs/job-fixtures';

let world: JobWorld;

beforeAll(async () => {
  world = await startJobWorld();
});
afterAll(async () => {
  await world?.stop();
});

describe('the log pipeline', () => {
  describe('when a job prints 1,000,000 lines', () => {
    it('stores every line in order with bounded memory', async () => {
      const ev = await saveEvent(world, { scriptType: 'bash', content: 'seq 1 1000000', timeoutSeconds: 600 });
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      const sampler = setInterval(() => {
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }, 20);
      let pushes = 0;
      let largestPush = 0;
      const off = world.test.core.bus.subscribe((name, payload) => {
        if (name !== 'logs/lines') return;
        pushes++;
        largestPush = Math.max(largestPush, (payload as { lines: unknown[] }).lines.length);
      });
      const started = Date.now();
      const [queued] = await world.test.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' });
      // Subscribe as the viewer would, as soon as the log exists.
      let logId: string | null = null;
      while (!logId) {
        logId = (await world.test.core.jobs.get(queued.id)).logId;
        if (!logId) await new Promise((r) => setTimeout(r, 5));
      }
      world.test.core.logs.stream.subscribe(logId);
      const job = await world.test.core.jobs.waitForJob(queued.id);
      const elapsed = Date.now() - started;
      clearInterval(sampler);
      off();
      world.test.core.logs.stream.unsubscribe(logId);

      expect(job.status).toBe('SUCCESS');
      const log = await world.test.core.logs.store.get(job.logId!);
      expect(log.lineCount).toBe(1_000_000);
      expect(log.lastSequence).toBe(1_000_000);

      const expected = crypto.createHash('sha256');
      for (let i = 1; i <= 1_000_000; i++) expected.update(`${i}\n`);
      const stored = crypto.createHash('sha256');
      let count = 0;
      let seqOk = true;
      for (let after = 0; ; ) {
        const page = await world.test.core.logs.store.lines(job.logId!, after, 20_000);
        if (page.lines.length === 0) break;
        for (const row of page.lines) {
          count++;
          if (row.seq !== count) seqOk = false;
          stored.update(`${row.text}\n`);
        }
        after = page.lines[page.lines.length - 1].seq;
      }
      expect(count).toBe(1_000_000);
      expect(seqOk).toBe(true);
      expect(stored.digest('hex')).toBe(expected.digest('hex'));

      const growthMb = (rssPeak - rssBefore) / 1024 / 1024;
      console.log(`1,000,000 lines stored in ${elapsed} ms (${Math.round(1e6 / (elapsed / 1000))} lines/s); RSS growth ${growthMb.toFixed(1)} MB; ${pushes} pushes, largest ${largestPush} lines`);
      expect(growthMb).toBeLessThan(200);
      expect(largestPush).toBeLessThanOrEqual(2000);
      expect(pushes).toBeGreaterThan(0);
      const dbRow = await world.test.core.db.kysely.selectFrom('logs').select(['partial_output', 'byte_count']).where('id', '=', job.logId!).executeTakeFirstOrThrow();
      expect(dbRow.partial_output!.length).toBeLessThanOrEqual(64 * 1024);
      expect(dbRow.partial_output!.endsWith('999999\n1000000')).toBe(true);
      expect(dbRow.byte_count).toBe(6_888_896);
    });
  });

  describe('when a job prints bytes that are not UTF-8', () => {
    it('stores the line with replacement characters and keeps going', async () => {
      const ev = await saveEvent(world, { scriptType: 'bash', content: "printf 'ok \\377\\376 bad\\n'; printf 'caf\\303\\251\\n'; printf 'no newline at end'" });
      const job = await runAndWait(world, ev.id);
      expect(job.status).toBe('SUCCESS');
      const { lines } = await world.test.core.logs.store.lines(job.logId!, 0, 10);
      expect(lines.map((l) => l.text)).toEqual(['ok \uFFFD\uFFFD bad', 'café', 'no newline at end']);
    });
  });

  describe('when the viewer searches and pages a log', () => {
    it('finds lines case-insensitively and pages after a sequence number', async () => {
      const ev = await saveEvent(world, { scriptType: 'bash', content: 'for i in 1 2 3 4 5; do echo "Line $i"; done; echo NEEDLE here; echo needle again' });
      const job = await runAndWait(world, ev.id);
      const store = world.test.core.logs.store;
      expect(await store.search(job.logId!, 'needle', 10)).toEqual({ seqs: [6, 7], truncated: false });
      expect(await store.search(job.logId!, 'line', 2)).toEqual({ seqs: [1, 2], truncated: true });
      const page = await store.lines(job.logId!, 5, 1);
      expect(page.lines.map((l) => l.text)).toEqual(['NEEDLE here']);
      expect(page.lastSequence).toBe(7);
      const listed = await store.list({ status: 'SUCCESS', eventId: ev.id, limit: 10, offset: 0 });
      expect(listed.total).toBe(1);
      expect(listed.items[0].serverName).toBe('harness');
    });
  });
});
