// Issue 13 item 4: a failure that retrying cannot fix fails fast in every mode, with direct-ssh's own message. Two
// network-namespace hosts: one up with nothing listening on port 22 (connection refused), one whose link is down (no
// route: the kernel gives up on the neighbour after its own ~3 s). For each, direct-ssh, auto and runner-ssh jobs:
// FAILURE, the same reason as direct-ssh, no fallback attempted, each in under 4 s (the bound). Prints
// "[fail-fast] <case> <mode>: N ms".
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost, destroyAll, type NetHost } from '../../harness/netns';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { EventInput } from '../../../src-shared/contract/events';
import type { JobView } from '../../../src-shared/contract/jobs';

let refused: NetHost;
let noRoute: NetHost;
let tc: TestCore;
let privateKey: string;
const BOUND_MS = 4_000;

beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-failfast-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'id')]);
  privateKey = fs.readFileSync(path.join(dir, 'id'), 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  refused = await createHost('ffrefused', 151);
  noRoute = await createHost('ffnoroute', 152);
  await noRoute.cutLink();
  tc = await createTestCore();
  await tc.core.start();
  tc.core.settings.update({ flags: { ssh_runner_enabled: true, ssh_runner_auto_deploy: true, ssh_runner_fallback: true }, runner: { enabled: true, fallbackToDirect: true } });
}, 120_000);

afterAll(async () => {
  await tc?.cleanup();
  await destroyAll();
});

async function runOnce(host: NetHost, mode: 'direct-ssh' | 'auto' | 'runner-ssh'): Promise<{ job: JobView; ms: number }> {
  const server = await tc.core.servers.save({
    name: `ff-${host.name}-${mode}`, host: host.address, port: 22, username: 'nobody', authType: 'key', privateKey, tags: [], maxConcurrentJobs: 2,
  });
  const ev = await tc.core.events.save(EventInput.parse({ name: `ff ${mode}`, scriptType: 'bash', executionMode: mode, timeoutSeconds: 60, serverIds: [server.id], content: 'echo never\n' }));
  const started = performance.now();
  const [job] = await tc.core.jobs.runEvent({ eventId: ev.id, trigger: 'manual' });
  const done = await tc.core.jobs.waitForJob(job!.id);
  return { job: done, ms: Math.round(performance.now() - started) };
}

describe('failures retrying cannot fix', () => {
  for (const [label, host] of [['connection refused', () => refused], ['no route to host', () => noRoute]] as const) {
    it(`fail fast with direct-ssh's message in direct-ssh, auto and runner-ssh mode (${label})`, async () => {
      const direct = await runOnce(host(), 'direct-ssh');
      expect(direct.job.status).toBe('FAILURE');
      expect(direct.job.reason).toMatch(/cannot reach/);
      const message = direct.job.reason!.replace(/ff-\S+/, '<server>');
      const figures = [`direct-ssh ${direct.ms} ms`];
      for (const mode of ['auto', 'runner-ssh'] as const) {
        const r = await runOnce(host(), mode);
        figures.push(`${mode} ${r.ms} ms`);
        expect(r.job.status).toBe('FAILURE');
        expect(r.job.reason!.replace(/ff-\S+/, '<server>')).toBe(message);
        // auto did not fall back: direct-ssh would have met the same wall.
        expect(r.job.fallbackReason).toBeNull();
        expect(r.ms).toBeLessThan(BOUND_MS);
      }
      console.log(`[fail-fast] ${label}: ${figures.join(', ')}`);
      expect(direct.ms).toBeLessThan(BOUND_MS);
    }, 120_000);
  }
});
