// A job that fails before its script prints anything (here: nothing listens on the server's port) must leave a log
// that says why: 'logs/get' carries the reason (also in the last 'logs/changed' push the log header listens to), and
// the log itself ends with a 'system' line holding it, so Download/Copy carry it too. Each attempt of a retried job
// keeps the reason of its own attempt. Driven through the router the way a renderer drives it; a real SQLite file.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHandlers } from '../../../src-main/rpc/handlers';
import { createMemoryTransport, type MemoryTransport } from '../../../src-main/rpc/memory-transport';
import { Router } from '../../../src-main/rpc/router';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { freePort } from '../../harness/ports';
import { LogLine, LogView } from '../../../src-shared/contract/logs';
import { JobView } from '../../../src-shared/contract/jobs';
import { EventView } from '../../../src-shared/contract/events';
import type { ExecutionMode } from '../../../src-shared/contract/settings';

let test: TestCore;
let pair: MemoryTransport;
let pushes: LogView[];

beforeEach(async () => {
  test = await createTestCore();
  pair = createMemoryTransport(new Router(createHandlers(test.core), test.core.bus));
  pushes = [];
  test.core.bus.subscribe((name, payload) => {
    if (name === 'logs/changed') pushes.push((payload as { log: LogView }).log);
  });
});
afterEach(async () => {
  pair.close();
  await test.cleanup();
});

async function invoke(name: string, input?: unknown): Promise<unknown> {
  const result = await pair.client.invoke(name, input);
  if (!result.ok) throw new Error(`${name} failed: ${result.error.code} ${result.error.message}`);
  return result.value;
}

/** A server on a port that was free a moment ago: nothing listens there, so every connection is refused. */
async function deadServer(): Promise<{ id: string; port: number }> {
  const port = await freePort();
  const server = (await invoke('servers/save', {
    name: 'gone-1', host: '127.0.0.1', port, username: 'deploy', authType: 'password', password: 'not-used', tags: [],
  })) as { id: string };
  return { id: server.id, port };
}

async function runToEnd(eventId: string): Promise<JobView> {
  const { jobs } = (await invoke('events/run', { id: eventId })) as { jobs: JobView[] };
  return test.core.jobs.waitForJob(jobs[0].id);
}

async function event(serverId: string, extra: { executionMode?: ExecutionMode; retries?: number } = {}): Promise<EventView> {
  return EventView.parse(
    await invoke('events/save', {
      name: 'nightly backup', scriptType: 'bash', content: 'echo never printed', timeoutSeconds: 30, serverIds: [serverId], retryBackoffSeconds: 0, ...extra,
    }),
  );
}

const unreachable = (port: number) => new RegExp(`cannot reach gone-1 \\(127\\.0\\.0\\.1:${port}\\): nothing is listening on that port \\(ECONNREFUSED\\)`);

describe('the reason of a failed log', () => {
  describe('when the user runs a direct-ssh job on a server nothing listens on', () => {
    it("ends FAILURE without an exit code and 'logs/get' says why, as does the log's last line", async () => {
      const server = await deadServer();
      const ev = await event(server.id, { executionMode: 'direct-ssh' });
      const job = await runToEnd(ev.id);
      expect(job.status).toBe('FAILURE');
      expect(job.exitCode).toBeNull();
      expect(job.reason).toMatch(unreachable(server.port));

      const log = LogView.parse(await invoke('logs/get', { id: job.logId }));
      expect(log.status).toBe('FAILURE');
      expect(log.exitCode).toBeNull();
      expect(log.reason).toBe(job.reason);

      const { lines } = (await invoke('logs/lines', { id: job.logId })) as { lines: LogLine[] };
      expect(lines.at(-1)).toMatchObject({ stream: 'system', text: `FAILURE: ${job.reason}` });
      expect(lines.filter((l) => l.stream !== 'system')).toEqual([]);

      // The log header follows 'logs/changed': the push that ends the log already carries the reason.
      const last = pushes.filter((p) => p.id === job.logId).at(-1)!;
      expect(last.status).toBe('FAILURE');
      expect(last.reason).toBe(job.reason);
      const listed = (await invoke('logs/list', { eventId: ev.id })) as { items: LogView[] };
      expect(listed.items.map((l) => l.reason)).toEqual([job.reason]);
    });
  });

  describe('when the user runs a runner-ssh job on a server nothing listens on', () => {
    it('ends FAILURE and its log carries the reason', async () => {
      const server = await deadServer();
      const ev = await event(server.id, { executionMode: 'runner-ssh' });
      const job = await runToEnd(ev.id);
      expect(job.status).toBe('FAILURE');
      expect(job.reason).toMatch(unreachable(server.port));
      const log = LogView.parse(await invoke('logs/get', { id: job.logId }));
      expect(log.reason).toBe(job.reason);
      const { lines } = (await invoke('logs/lines', { id: job.logId })) as { lines: LogLine[] };
      expect(lines.at(-1)).toMatchObject({ stream: 'system', text: `FAILURE: ${job.reason}` });
    });
  });

  describe('when a job that fails is retried', () => {
    it("keeps each attempt's own reason on its log and explains it once", async () => {
      const server = await deadServer();
      const ev = await event(server.id, { executionMode: 'direct-ssh', retries: 1 });
      const job = await runToEnd(ev.id);
      expect(job.status).toBe('FAILURE');
      expect(job.attempt).toBe(2);
      const { items } = (await invoke('logs/list', { eventId: ev.id })) as { items: LogView[] };
      expect(items).toHaveLength(2);
      const first = items.find((l) => l.id !== job.logId)!;
      const second = items.find((l) => l.id === job.logId)!;
      expect(first.reason).toMatch(unreachable(server.port));
      expect(second.reason).toBe(job.reason);

      const firstLines = ((await invoke('logs/lines', { id: first.id })) as { lines: LogLine[] }).lines;
      expect(firstLines.map((l) => l.stream)).toEqual(['system']);
      expect(firstLines[0].text).toMatch(/^attempt 1 of 2 failed \(cannot reach gone-1 .*\); retrying in 0 s$/);
      const secondLines = ((await invoke('logs/lines', { id: second.id })) as { lines: LogLine[] }).lines;
      expect(secondLines.map((l) => l.text)).toEqual([`FAILURE: ${job.reason}`]);
    });
  });
});
