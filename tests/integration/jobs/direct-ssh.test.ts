// The direct-ssh path end to end against a real OpenSSH sshd: scripts in three languages, exit codes, streams,
// timeouts and cancel that leave no process behind, retries, per-server queueing, secret masking, lost connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linesOf, processesOf, runAndWait, saveEvent, startJobWorld, type JobWorld } from './job-fixtures';

let world: JobWorld;

beforeAll(async () => {
  world = await startJobWorld({ maxConcurrentJobs: 2 });
});
afterAll(async () => {
  await world?.stop();
});

describe('direct-ssh execution', () => {
  describe('when the user runs a bash script', () => {
    it('stores stdout and stderr lines in order and records success', async () => {
      const ev = await saveEvent(world, { scriptType: 'bash', content: 'echo "hello $GREETING"\necho oops >&2\necho "user=$(id -un)"', env: { GREETING: 'world' } });
      const job = await runAndWait(world, ev.id);
      expect(job.status).toBe('SUCCESS');
      expect(job.exitCode).toBe(0);
      expect(job.executionMode).toBe('direct-ssh');
      expect(job.startedAt).not.toBeNull();
      expect(job.durationMs).toBeGreaterThanOrEqual(0);
      const lines = await linesOf(world, job.logId!);
      expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(['hello world', `user=${world.sshd.keyUser.username}`]);
      expect(lines.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual(['oops']);
      expect(lines.map((l) => l.seq)).toEqual([1, 2, 3]);
      const log = await world.test.core.logs.store.get(job.logId!);
      expect(log.status).toBe('SUCCESS');
      expect(log.lineCount).toBe(3);
    });

    it('records a non-zero exit code as FAILURE with the code', async () => {
      const ev = await saveEvent(world, { scriptType: 'bash', content: 'echo before\nexit 7' });
      const job = await runAndWait(world, ev.id);
      expect(job.status).toBe('FAILURE');
      expect(job.exitCode).toBe(7);
      expect(job.reason).toContain('exited with code 7');
    });

    it('gives a script that reads stdin an empty input, not its own text', async () => {
      const ev = await saveEvent(world, { scriptType: 'bash', content: 'if read -r line; then echo "got:$line"; else echo "eof"; fi\necho secret-of-script-body' });
      const job = await runAndWait(world, ev.id);
      const texts = (await linesOf(world, job.logId!)).map((l) => l.text);
      expect(texts).toEqual(['eof', 'secret-of-script-body']);
    });
  });

  describe('when the user runs python and node scripts', () => {
    it('runs python with stdout, stderr and its exit code', async () => {
      const ev = await saveEvent(world, {
        scriptType: 'python',
        content: 'import os, sys\nprint("py", os.environ["X"])\nprint("warn", file=sys.stderr)\nsys.exit(3)',
        env: { X: '42' },
      });
      const job = await runAndWait(world, ev.id);
      expect(job.status).toBe('FAILURE');
      expect(job.exitCode).toBe(3);
      const lines = await linesOf(world, job.logId!);
      expect(lines.find((l) => l.stream === 'stdout')?.text).toBe('py 42');
      expect(lines.find((l) => l.stream === 'stderr')?.text).toBe('warn');
    });

    it('runs node and succeeds', async () => {
      const ev = await saveEvent(world, { scriptType: 'node', content: 'console.log("node", process.env.CRONIUM_ATTEMPT);\nconsole.error("e");' });
      const job = await runAndWait(world, ev.id);
      expect(job.status).toBe('SUCCESS');
      const lines = await linesOf(world, job.logId!);
      expect(lines.map((l) => `${l.stream}:${l.text}`).sort()).toEqual(['stderr:e', 'stdout:node 1']);
    });
  });

  describe('when a script runs longer than its timeout', () => {
    it('ends as TIMEOUT and leaves no process of it on the server', async () => {
      const marker = `cronium-timeout-${Date.now()}`;
      const ev = await saveEvent(world, {
        scriptType: 'bash',
        // A child and a grandchild that ignore TERM: only the group KILL ends them.
        content: `trap '' TERM\n(trap '' TERM; sleep 300; echo ${marker}) &\nbash -c "trap '' TERM; exec -a ${marker} sleep 301" &\necho started\nwait`,
        timeoutSeconds: 2,
      });
      const started = Date.now();
      const job = await runAndWait(world, ev.id);
      expect(job.status).toBe('TIMEOUT');
      expect(job.reason).toContain('no process of it is left on the server');
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(processesOf(world.sshd.keyUser.username, marker)).toEqual([]);
      expect(processesOf(world.sshd.keyUser.username, 'sleep 300')).toEqual([]);
      const lines = await linesOf(world, job.logId!);
      expect(lines.map((l) => l.text)).toContain('started');
      expect((await world.test.core.logs.store.get(job.logId!)).status).toBe('TIMEOUT');
    });
  });

  describe('when the user cancels a running job', () => {
    it('ends as CANCELLED and kills the remote process group', async () => {
      const marker = `cronium-cancel-${Date.now()}`;
      const ev = await saveEvent(world, { scriptType: 'bash', content: `echo up\nexec -a ${marker} sleep 300` });
      const [queued] = await world.test.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' });
      await waitFor(async () => (await world.test.core.jobs.get(queued.id)).status === 'RUNNING');
      await waitFor(() => processesOf(world.sshd.keyUser.username, marker).length === 1);
      const job = await world.test.core.jobs.cancel(queued.id);
      expect(job.status).toBe('CANCELLED');
      expect(job.reason).toContain('cancelled by the user');
      expect(processesOf(world.sshd.keyUser.username, marker)).toEqual([]);
    });
  });

  describe('when a script fails twice then succeeds', () => {
    it('retries with a new log per attempt and ends as SUCCESS on attempt 3', async () => {
      const counter = `.cronium-retry-${Date.now()}`;
      const ev = await saveEvent(world, {
        scriptType: 'bash',
        content: `n=$(cat ~/${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ~/${counter}; echo "attempt $n"; [ $n -ge 3 ] || exit 1; rm -f ~/${counter}`,
        retries: 3,
        retryBackoffSeconds: 0,
      });
      const job = await runAndWait(world, ev.id);
      expect(job.status).toBe('SUCCESS');
      expect(job.attempt).toBe(3);
      expect(job.maxAttempts).toBe(4);
      const logs = await world.test.core.logs.store.list({ eventId: ev.id, limit: 10, offset: 0 });
      expect(logs.total).toBe(3);
      expect(logs.items.map((l) => l.status).sort()).toEqual(['FAILURE', 'FAILURE', 'SUCCESS']);
      expect((await linesOf(world, job.logId!)).map((l) => l.text)).toEqual(['attempt 3']);
    });
  });

  describe('when more jobs are started than the server allows at once', () => {
    it('runs at most max_concurrent_jobs at the same time', async () => {
      const ev = await saveEvent(world, { scriptType: 'bash', content: 'date +%s%N; sleep 0.6; date +%s%N' });
      const jobs = await Promise.all([0, 1, 2, 3, 4].map(() => world.test.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' })));
      const done = await Promise.all(jobs.map(([j]) => world.test.core.jobs.waitForJob(j.id)));
      expect(done.every((j) => j.status === 'SUCCESS')).toBe(true);
      const spans = await Promise.all(done.map(async (j) => (await linesOf(world, j.logId!)).map((l) => Number(BigInt(l.text) / 1_000_000n))));
      let peak = 0;
      for (const [start] of spans) peak = Math.max(peak, spans.filter(([s, e]) => s <= start && start < e).length);
      expect(peak).toBeLessThanOrEqual(2);
      expect(peak).toBe(2);
    });

    it('starts the waiting jobs in the order they were queued, each shown as QUEUED while it waits', async () => {
      const ev = await saveEvent(world, { scriptType: 'bash', content: 'sleep 0.4' });
      const seen = new Map<string, string[]>();
      /** Jobs in the order the app gave them a slot (their first push that is not QUEUED). */
      const slotOrder: string[] = [];
      const off = world.test.core.bus.subscribe((name, payload) => {
        if (name !== 'jobs/changed') return;
        const job = (payload as { job: { id: string; status: string } }).job;
        seen.set(job.id, [...(seen.get(job.id) ?? []), job.status]);
        if (job.status !== 'QUEUED' && !slotOrder.includes(job.id)) slotOrder.push(job.id);
      });
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push((await world.test.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' }))[0].id);
      const done = await Promise.all(ids.map((id) => world.test.core.jobs.waitForJob(id)));
      off();
      expect(done.every((j) => j.status === 'SUCCESS')).toBe(true);
      // The app's order, not the server's clock: two jobs given slots freed at the same moment may reach the server
      // in either order, a few ms apart.
      expect(slotOrder).toEqual(ids);
      // The first two had a slot at once: their first push is already DISPATCHING. The others waited, and said so.
      for (const id of ids.slice(0, 2)) expect(seen.get(id)?.[0]).toBe('DISPATCHING');
      for (const id of ids.slice(2)) expect(seen.get(id)?.[0]).toBe('QUEUED');
    });
  });

  describe('when a script prints its secrets', () => {
    it('stores them masked, also when split across output chunks', async () => {
      const ev = await saveEvent(world, {
        scriptType: 'python',
        content: [
          'import os, sys, time',
          's = os.environ["API_TOKEN"]',
          'print("token=" + s, flush=True)',
          'sys.stdout.write("split=" + s[:5]); sys.stdout.flush(); time.sleep(0.3)',
          'sys.stdout.write(s[5:] + "\\n"); sys.stdout.flush()',
          'print(os.environ["PEM"])',
        ].join('\n'),
        secrets: [
          { name: 'API_TOKEN', value: 'tok-1234567890-abcdef' },
          { name: 'PEM', value: '-----BEGIN KEY-----\nAAAAsecretline1\nBBBBsecretline2\n-----END KEY-----' },
        ],
      });
      const job = await runAndWait(world, ev.id);
      expect(job.status).toBe('SUCCESS');
      const texts = (await linesOf(world, job.logId!)).map((l) => l.text);
      expect(texts.slice(0, 2)).toEqual(['token=••••••', 'split=••••••']);
      expect(texts.join('\n')).not.toContain('secretline');
      expect(texts.join('\n')).not.toContain('1234567890');
      const log = await world.test.core.db.kysely.selectFrom('logs').select('partial_output').where('id', '=', job.logId!).executeTakeFirstOrThrow();
      expect(log.partial_output).not.toContain('1234567890');
    });
  });

  describe('when the connection drops while a job runs', () => {
    it('ends as PARTIAL with the reason and keeps the lines received', async () => {
      const ev = await saveEvent(world, { scriptType: 'bash', content: 'echo first\nsleep 30\necho never' });
      const [queued] = await world.test.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' });
      await waitFor(async () => {
        const j = await world.test.core.jobs.get(queued.id);
        return j.status === 'RUNNING' && j.logId !== null && (await world.test.core.logs.store.get(j.logId)).lineCount >= 0;
      });
      await waitFor(async () => (await linesOf(world, (await world.test.core.jobs.get(queued.id)).logId!)).length === 1);
      await world.sshd.restart();
      const job = await world.test.core.jobs.waitForJob(queued.id);
      expect(job.status).toBe('PARTIAL');
      expect(job.reason).toMatch(/connection|lost|closed/i);
      expect((await linesOf(world, job.logId!)).map((l) => l.text)).toEqual(['first']);
      expect((await world.test.core.logs.store.get(job.logId!)).status).toBe('PARTIAL');
    });
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}
