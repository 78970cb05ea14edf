// Runner health checks against a real sshd and a real deployed runner: figures parsed and mapped to states with the
// settings' thresholds, state changes pushed, the scheduled monitor, a broken runner and an unreachable server; and the
// listener's runner routes over HTTP (401 without a bearer token, 200 with one).
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import type { TestCore } from '../../harness/test-core';
import type { RunnerService } from '../../../src-main/core/runners/runner-service';
import type { ArtifactStore } from '../../../src-main/core/runners/artifact-store';
import { registerRunnerRoutes } from '../../../src-main/core/runners/runner-routes';
import { LocalListener } from '../../../src-main/core/listener/local-listener';
import { addServer, resetRunnerHome, startRunnerBench, type RunnerBench } from './runner-fixtures';

let sshd: SshdHandle;
let bench: RunnerBench;
let tc: TestCore;
let runners: RunnerService;
let store: ArtifactStore;
let user: SshdKeyUser;
let serverId: string;
let deploymentId: string;
let events: RunnerBench['events'];

const relaxed = { cpuDegradedPercent: 100, cpuUnhealthyPercent: 100, memoryDegradedPercent: 100, memoryUnhealthyPercent: 100, diskDegradedFreeMb: 1, diskUnhealthyFreeMb: 0 };

beforeAll(async () => {
  sshd = await startSshd({ users: 16 });
  user = sshd.extraUsers[15];
  resetRunnerHome(user);
  bench = await startRunnerBench();
  ({ tc, store, runners, events } = bench);
  serverId = await addServer(tc.core, sshd, user, 'health-1');
  // The JS runner (1.0.1) keeps this suite quick; the health command is the same code in both kinds.
  deploymentId = (await runners.deployRunner(serverId, '1.0.1')).id;
}, 120_000);

afterAll(async () => {
  await bench?.stop();
  if (user) resetRunnerHome(user);
  await sshd?.stop();
});

describe('runner health checks', () => {
  describe('when the server is well within the thresholds', () => {
    it('parses the runner figures, reports healthy and records last_health_check', async () => {
      tc.core.settings.update({ runner: { health: relaxed } });
      events.length = 0;
      const health = await runners.checkRunnerHealth(deploymentId);
      expect(health.state).toBe('healthy');
      expect(health.reason).toBeNull();
      expect(health.cpuUsage).toBeGreaterThanOrEqual(0);
      expect(health.memoryUsage).toBeGreaterThan(0);
      expect(health.diskSpaceMb).toBeGreaterThan(0);
      expect(health).toMatchObject({ queued: 0, running: 0 });
      const row = await tc.core.db.kysely.selectFrom('runner_deployments').selectAll().where('id', '=', deploymentId).executeTakeFirstOrThrow();
      expect(row.last_health_check).toBe(health.checkedAt);
      expect(JSON.parse(row.metadata!).health).toMatchObject({ state: 'healthy', diskSpaceMb: health.diskSpaceMb });
      expect(events.find((e) => e.name === 'runners/healthChanged')?.payload).toMatchObject({ deploymentId, from: 'unknown', to: 'healthy' });
      expect(await tc.core.metrics.text()).toMatch(/runner_health_check_duration_count [1-9]/);
    });
  });

  describe('when free disk falls below the thresholds', () => {
    it('reports degraded, then unhealthy, pushing each change with the reason', async () => {
      const { diskSpaceMb } = (await runners.checkRunnerHealth(deploymentId));
      const free = Math.floor(diskSpaceMb!);
      events.length = 0;
      tc.core.settings.update({ runner: { health: { ...relaxed, diskDegradedFreeMb: free + 1000, diskUnhealthyFreeMb: 0 } } });
      const degraded = await runners.checkRunnerHealth(deploymentId);
      expect(degraded.state).toBe('degraded');
      expect(degraded.reason).toMatch(/disk \d+ MB free \(degraded below \d+ MB\)/);

      tc.core.settings.update({ runner: { health: { ...relaxed, diskDegradedFreeMb: free + 2000, diskUnhealthyFreeMb: free + 1000 } } });
      const unhealthy = await runners.checkRunnerHealth(deploymentId);
      expect(unhealthy.state).toBe('unhealthy');
      const changes = events.filter((e) => e.name === 'runners/healthChanged').map((e) => `${e.payload.from}->${e.payload.to}`);
      expect(changes).toEqual(['healthy->degraded', 'degraded->unhealthy']);
      const [view] = await runners.listDeployments(serverId);
      expect(view.history.map((h) => h.event)).toEqual(expect.arrayContaining(['health:degraded', 'health:unhealthy']));
      tc.core.settings.update({ runner: { health: relaxed } });
    });
  });

  describe('when the monitor runs on its interval', () => {
    it('checks every active runner by itself', async () => {
      tc.core.settings.update({ runner: { healthCheckInterval: 5 } });
      const before = (await runners.deployments.require(deploymentId)).lastHealthCheck;
      runners.start();
      try {
        await expect.poll(async () => (await runners.deployments.require(deploymentId)).lastHealthCheck, { timeout: 9_000, interval: 250 }).not.toBe(before);
      } finally {
        await runners.stop();
      }
    }, 20_000);
  });

  describe('when a client calls the runner routes on the local listener', () => {
    let listener: LocalListener;
    let base: string;
    beforeAll(async () => {
      listener = new LocalListener({ metrics: tc.core.metrics, settings: tc.core.settings });
      registerRunnerRoutes(listener, { runners, artifacts: store, auth: tc.core.listenerAuth });
      await listener.start(0);
      base = `http://127.0.0.1:${listener.port}`;
    });
    afterAll(async () => listener?.stop());

    it('refuses every route without a bearer token (401)', async () => {
      for (const [method, url] of [
        ['GET', '/api/runners/artifacts/linux/x64/latest'],
        ['POST', `/api/runners/deployments/${serverId}/status`],
        ['GET', `/api/runners/health/${deploymentId}`],
      ]) {
        const res = await fetch(base + url, { method, ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}) });
        expect(res.status, `${method} ${url}`).toBe(401);
      }
      const forged = await fetch(`${base}/api/runners/health/${deploymentId}`, { headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x' } });
      expect(forged.status).toBe(401);
    });

    it('answers with a valid token (200)', async () => {
      const token = await tc.core.listenerAuth.mintToken({ aud: 'automation', sub: 'health-test' }, 60);
      const headers = { authorization: `Bearer ${token}` };
      const latest = await fetch(`${base}/api/runners/artifacts/linux/x64/latest`, { headers });
      expect(latest.status).toBe(200);
      expect(await latest.json()).toMatchObject({ version: '1.0.0', kind: 'sea', os: 'linux', arch: 'x64' });

      const health = await fetch(`${base}/api/runners/health/${deploymentId}?refresh=1`, { headers });
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ deploymentId, version: '1.0.1', status: 'active', health: { state: 'healthy' } });

      const status = await fetch(`${base}/api/runners/deployments/${serverId}/status`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'active', message: 'runner reported in' }),
      });
      expect(status.status).toBe(200);
      expect((await status.json()).history.at(-1)).toMatchObject({ event: 'status:active', message: 'runner reported in' });
    });
  });

  describe('when the runner file on the server was replaced after deploy', () => {
    it('reports unhealthy as tampered without running it', async () => {
      const file = (await runners.deployments.require(deploymentId)).metadata.path!;
      const saved = fs.readFileSync(file);
      fs.writeFileSync(file, 'process.stderr.write("corrupt runner\\n"); process.exit(9);\n');
      try {
        const health = await runners.checkRunnerHealth(deploymentId);
        expect(health.state).toBe('unhealthy');
        // The integrity guard refuses it before it runs: the replacement's own words never appear.
        expect(health.reason).toMatch(/replaced or altered after it was deployed/);
        expect(health.reason).not.toMatch(/corrupt runner/);
      } finally {
        fs.writeFileSync(file, saved);
      }
    });
  });

  describe('when the server cannot be reached', () => {
    it('reports unhealthy with the connection error as the reason', async () => {
      await sshd.stop();
      tc.core.ssh.invalidate(serverId);
      const health = await runners.checkRunnerHealth(deploymentId);
      expect(health.state).toBe('unhealthy');
      expect(health.reason).toMatch(/health check failed: cannot reach/);
    });
  });
});
