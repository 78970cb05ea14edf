// Issue 14 point 4: groups by tag. An event targets the tag "web" carried by 10 servers (harness users k130..k139 on a
// real sshd, each its own server) and not by an eleventh; the tag is resolved when the run starts and the list is
// recorded on the run. Two servers fail on purpose; the fleet summary read through the router (as the renderer reads
// it) names them, "re-run failed" runs exactly those two, and the whole-run limit K holds for every job of a run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { createMemoryTransport, type MemoryTransport } from '../../../src-main/rpc/memory-transport';
import { Router } from '../../../src-main/rpc/router';
import { createHandlers } from '../../../src-main/rpc/handlers';
import { EventInput } from '../../../src-shared/contract/events';
import { ServerInput } from '../../../src-shared/contract/servers';
import { RunView } from '../../../src-shared/contract/runs';
import type { JobView } from '../../../src-shared/contract/jobs';

/** Harness users cronium-k130..k139 (issue 14's range; no other suite uses them). */
const FIRST_USER = 130;
const HOSTS = 10;

let sshd: SshdHandle;
let tc: TestCore;
let pair: MemoryTransport;
let flagDir: string;
const serverIds: string[] = [];
const names: string[] = [];
let otherServerId: string;

async function invoke(name: string, input?: unknown): Promise<unknown> {
  const result = await pair.client.invoke(name, input);
  if (!result.ok) throw new Error(`${name}: ${result.error.code} ${result.error.message} ${JSON.stringify(result.error.fields ?? {})}`);
  return result.value;
}

async function waitRun(runId: string): Promise<RunView> {
  const jobs = await tc.core.jobs.list({ runId, limit: 1000 });
  await Promise.all(jobs.map((j) => tc.core.jobs.waitForJob(j.id)));
  return RunView.parse(await invoke('runs/get', { id: runId }));
}

beforeAll(async () => {
  sshd = await startSshd({ users: HOSTS, firstUser: FIRST_USER });
  tc = await createTestCore();
  await tc.core.start();
  pair = createMemoryTransport(new Router(createHandlers(tc.core), tc.core.bus));
  for (let i = 0; i < HOSTS; i++) {
    const user = sshd.extraUsers[i]!;
    const view = await tc.core.servers.save(ServerInput.parse({
      name: `web-${i + 1}`, host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey,
      tags: ['web', i % 2 ? 'odd' : 'even'], maxConcurrentJobs: 4,
    }));
    await tc.core.servers.trustHostKey(view.id, sshd.hostKeyFingerprint, false);
    serverIds.push(view.id);
    names.push(view.name);
  }
  // Same account, not tagged "web": a tag run must leave it out.
  const first = sshd.extraUsers[0]!;
  const other = await tc.core.servers.save(ServerInput.parse({
    name: 'db-1', host: sshd.host, port: sshd.port, username: first.username, authType: 'key', privateKey: first.privateKey, tags: ['db'], maxConcurrentJobs: 4,
  }));
  await tc.core.servers.trustHostKey(other.id, sshd.hostKeyFingerprint, false);
  otherServerId = other.id;
  flagDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-tags-'));
  fs.chmodSync(flagDir, 0o755);
}, 120_000);

afterAll(async () => {
  pair?.close();
  await tc?.cleanup();
  await sshd?.stop();
  if (flagDir) fs.rmSync(flagDir, { recursive: true, force: true });
});

describe('a run over a tag', () => {
  it('resolves the tag at start, records the servers, summarises 8 succeeded / 2 failed, and re-runs exactly the 2 failed', async () => {
    const failing = [sshd.extraUsers[3]!.username, sshd.extraUsers[7]!.username];
    for (const u of failing) fs.writeFileSync(path.join(flagDir, u), '');
    const event = await tc.core.events.save(EventInput.parse({
      name: 'tagged fleet', scriptType: 'bash', executionMode: 'direct-ssh', timeoutSeconds: 60, targetTags: ['web'],
      content: `if [ -e ${flagDir}/$(whoami) ]; then echo "failing on purpose"; exit 3; fi\necho "ok from $(whoami)"\n`,
    }));
    expect(event.targetTags).toEqual(['web']);
    expect(event.servers).toEqual([]);

    const started = (await invoke('events/run', { id: event.id })) as { jobs: JobView[]; runId: string };
    expect(started.jobs).toHaveLength(HOSTS);
    expect(started.jobs.map((j) => j.serverId)).not.toContain(otherServerId);
    const run = await waitRun(started.runId);
    expect(run.targetTags).toEqual(['web']);
    expect([...run.serverIds].sort()).toEqual([...serverIds].sort());
    expect(run.summary).toEqual({ total: HOSTS, succeeded: 8, failed: 2, cancelled: 0, active: 0 });
    const failedIds = [serverIds[3]!, serverIds[7]!].sort();
    expect([...run.failedServerIds].sort()).toEqual(failedIds);
    // Which, and how long each: every job has its server's name and a duration.
    for (const job of run.jobs) {
      expect(job.serverName).toMatch(/^web-\d+$/);
      expect(job.durationMs).not.toBeNull();
      expect(job.runId).toBe(run.id);
    }
    expect(run.jobs.filter((j) => j.status === 'FAILURE').map((j) => j.serverName).sort()).toEqual(['web-4', 'web-8']);

    // A server tagged later is not added to a run that already started; the next run picks it up.
    const retag = (tags: string[]) => tc.core.servers.save(ServerInput.parse({
      id: otherServerId, name: 'db-1', host: sshd.host, port: sshd.port, username: sshd.extraUsers[0]!.username, authType: 'key', tags, maxConcurrentJobs: 4,
    }));
    await retag(['db', 'web']);
    expect((await tc.core.runs.get(run.id)).serverIds).toHaveLength(HOSTS);

    // Re-run failed: exactly the two failed servers (they pass now).
    for (const u of failing) fs.rmSync(path.join(flagDir, u));
    const rerun = RunView.parse(await invoke('runs/rerunFailed', { id: run.id }));
    expect(rerun.rerunOf).toBe(run.id);
    expect([...rerun.serverIds].sort()).toEqual(failedIds);
    const rerunDone = await waitRun(rerun.id);
    expect(rerunDone.summary).toEqual({ total: 2, succeeded: 2, failed: 0, cancelled: 0, active: 0 });
    expect(rerunDone.jobs.map((j) => j.serverId).sort()).toEqual(failedIds);

    // Nothing failed in the re-run: re-running it again is refused.
    const refused = await pair.client.invoke('runs/rerunFailed', { id: rerun.id });
    expect(refused.ok).toBe(false);

    // Put the eleventh server back out of the tag for the next test.
    await retag(['db']);
  }, 180_000);

  it('never runs more than K servers of one run at once (the whole-run limit), each server keeping its own limit', async () => {
    const K = 3;
    const event = await tc.core.events.save(EventInput.parse({
      name: 'limited fleet', scriptType: 'bash', executionMode: 'direct-ssh', timeoutSeconds: 60, targetTags: ['web'], maxParallel: K,
      content: 'sleep 0.4\necho done\n',
    }));
    const inFlight = new Set<string>();
    let max = 0;
    const runJobs = new Set<string>();
    let runId = '';
    const stop = tc.core.bus.subscribe((name, payload) => {
      if (name !== 'jobs/changed') return;
      const job = (payload as { job: JobView }).job;
      if (job.runId !== runId && !runJobs.has(job.id)) return;
      if (job.status === 'DISPATCHING' || job.status === 'RUNNING') inFlight.add(job.id);
      else inFlight.delete(job.id);
      max = Math.max(max, inFlight.size);
    });
    try {
      const started = await tc.core.jobs.startRun({ eventId: event.id, trigger: 'manual' });
      runId = started.runId;
      for (const j of started.jobs) runJobs.add(j.id);
      const run = await waitRun(started.runId);
      expect(run.maxParallel).toBe(K);
      expect(run.summary.succeeded).toBe(HOSTS);
    } finally {
      stop();
    }
    expect(max).toBeLessThanOrEqual(K);
    expect(max).toBeGreaterThan(1);
  }, 180_000);

  it('cancels the rest of a run: jobs not yet ended are cancelled, ended ones keep their status', async () => {
    const event = await tc.core.events.save(EventInput.parse({
      name: 'long fleet', scriptType: 'bash', executionMode: 'direct-ssh', timeoutSeconds: 120, targetTags: ['web'], maxParallel: 2,
      content: 'sleep 60\n',
    }));
    const started = await tc.core.jobs.startRun({ eventId: event.id, trigger: 'manual' });
    const view = RunView.parse(await invoke('runs/cancelRest', { id: started.runId }));
    expect(view.summary.active).toBe(0);
    expect(view.summary.cancelled).toBe(HOSTS);
  }, 180_000);

  it('refuses a tag no server carries, naming the tag', async () => {
    const event = await tc.core.events.save(EventInput.parse({
      name: 'nobody', scriptType: 'bash', executionMode: 'direct-ssh', timeoutSeconds: 60, targetTags: ['nope'], content: 'true\n',
    }));
    const res = await pair.client.invoke('events/run', { id: event.id });
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error.message).toContain('nope');
  });
});
