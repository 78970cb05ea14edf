// The runner version strategy against a real OpenSSH sshd: a runner older than the app's range (0.9.0, a real runner
// built from the JS bundle and signed with the fixture's test key, as an older app build would have left it) is never
// used; under "manual" it is left alone and the job falls back to direct-ssh with the reason; under "on next use" the
// provisioning path upgrades it (upgrade with rollback) before the job and the Runners pane reports the outcome;
// under "eager" the sweep upgrades every reachable server at once. Users k160-k161 are this suite's.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import type { TestCore } from '../../harness/test-core';
import type { RunnerService } from '../../../src-main/core/runners/runner-service';
import { ModePolicy, type ModeRequest } from '../../../src-main/core/execution/mode-policy';
import { RunnerProvisioning } from '../../../src-main/core/execution/runner-provisioning';
import { AppError } from '../../../src-main/core/errors';
import { APP_RUNNER_RANGE } from '../../../src-shared/protocol/runner-range';
import { BUILT_DIR, addServer, resetRunnerHome, startRunnerBench, writeJsVariant, type RunnerBench } from '../runner/runner-fixtures';

const OLD = '0.9.0';

let sshd: SshdHandle;
let bench: RunnerBench;
let tc: TestCore;
let runners: RunnerService;
let policy: ModePolicy;
let nextUseUser: SshdKeyUser;
let eagerUser: SshdKeyUser;

function request(serverId: string, requestedMode: ModeRequest['requestedMode']): ModeRequest {
  return { jobId: `job-${Math.random()}`, trigger: 'manual', requestedMode, eventName: 'nightly-report', serverId, serverName: 'version-old', runnerRequirements: null };
}

function runnerVersionOnServer(user: SshdKeyUser, file: string): string {
  const out = execFileSync('su', ['-', user.username, '-c', `node ${file} version`], { encoding: 'utf8' });
  return JSON.parse(out).version;
}

beforeAll(async () => {
  sshd = await startSshd({ users: 2, firstUser: 160 });
  [nextUseUser, eagerUser] = sshd.extraUsers;
  for (const u of sshd.extraUsers) resetRunnerHome(u);
  bench = await startRunnerBench();
  ({ tc, runners } = bench);
  // The older runner: the real bundle saying 0.9.0, signed like the other variants.
  const bundle = zlib.gunzipSync(fs.readFileSync(path.join(BUILT_DIR, '1.0.0', 'js', 'cronium-runner.cjs.gz'))).toString('utf8');
  const marker = 'var RUNNER_VERSION = "1.0.0";';
  expect(bundle.includes(marker)).toBe(true);
  writeJsVariant(bench.fixture.bundleDir, OLD, bundle.replace(marker, `var RUNNER_VERSION = "${OLD}";`), bench.fixture.key);
  await runners.ready(true);
  // The execution path's own pieces: the mode policy over the one ensureRunner.
  policy = new ModePolicy({ settings: tc.core.settings, provisioning: new RunnerProvisioning({ runners, ssh: tc.core.ssh, clock: tc.core.clock }) });
}, 120_000);

afterAll(async () => {
  await bench?.stop();
  for (const u of sshd?.extraUsers ?? []) resetRunnerHome(u);
  await sshd?.stop();
});

describe('a runner older than the app\'s range', () => {
  let serverId: string;

  it('is outside the range the app declares', () => {
    expect(APP_RUNNER_RANGE.minVersion).toBe('1.0.0');
    expect(runners.range).toEqual(APP_RUNNER_RANGE);
  });

  describe('when the update policy is manual', () => {
    it('is left alone and never used: an auto job falls back to direct-ssh saying why, a runner-ssh job is refused', async () => {
      serverId = await addServer(tc.core, sshd, nextUseUser, 'version-old');
      const old = await runners.deployRunner(serverId, OLD);
      expect(old).toMatchObject({ status: 'active', version: OLD, kind: 'js' });
      tc.core.settings.update({ runner: { updatePolicy: 'manual' } });

      const auto = await policy.decide(request(serverId, 'auto'));
      expect(auto.mode).toBe('direct-ssh');
      expect(auto.fallbackReason).toMatch(/runner 0\.9\.0 is older than this app's range \(protocol 1, version >= 1\.0\.0\)/);
      expect(auto.fallbackReason).toMatch(/update policy is manual/);

      const refused = await policy.decide(request(serverId, 'runner-ssh')).then(() => null, (e: unknown) => e);
      expect(refused).toBeInstanceOf(AppError);
      expect((refused as AppError).message).toMatch(/older than this app's range/);

      // Left alone: still 0.9.0, nothing new deployed, no 1.0.0 on the server.
      const deployments = await runners.listDeployments(serverId);
      expect(deployments.map((d) => [d.version, d.status])).toEqual([[OLD, 'active']]);
      expect(fs.existsSync(path.join(nextUseUser.home, '.cronium/runners/1.0.0'))).toBe(false);
      expect(runnerVersionOnServer(nextUseUser, old.path!)).toBe(OLD);

      const status = (await runners.versionStatus()).servers.find((s) => s.serverId === serverId)!;
      expect(status).toMatchObject({ version: OLD, lastUpgrade: null });
      expect(status.outOfRange).toMatch(/older than this app's range/);
      expect(status.nextStep).toMatch(/not used until you upgrade it to 1\.0\.0 \(manual policy\)/);
    }, 120_000);
  });

  describe('when the update policy is "on next use"', () => {
    it('is upgraded with the upgrade-with-rollback path before the next job, which then runs on the new runner', async () => {
      tc.core.settings.update({ runner: { updatePolicy: 'on-next-use' } });
      const before = (await runners.versionStatus()).servers.find((s) => s.serverId === serverId)!;
      expect(before.nextStep).toMatch(/upgrades to 1\.0\.0 before its next job/);

      const decision = await policy.decide(request(serverId, 'auto'));
      expect(decision.mode).toBe('runner-ssh');
      expect(decision.fallbackReason).toBeUndefined();
      expect(decision.runner).toMatchObject({ version: '1.0.0', protocolVersion: 1 });

      const deployments = await runners.listDeployments(serverId);
      expect(deployments.find((d) => d.status === 'active')).toMatchObject({ version: '1.0.0' });
      expect(deployments.find((d) => d.version === OLD)?.status).toBe('superseded');
      // The upgraded runner is the one on the server, and it answers as 1.0.0.
      const out = execFileSync('su', ['-', nextUseUser.username, '-c', `${decision.runner!.command} version`], { encoding: 'utf8' });
      expect(JSON.parse(out).version).toBe('1.0.0');

      const after = (await runners.versionStatus()).servers.find((s) => s.serverId === serverId)!;
      expect(after).toMatchObject({ version: '1.0.0', outOfRange: null, nextStep: 'up to date' });
      expect(after.lastUpgrade).toMatchObject({ outcome: 'upgraded', message: 'upgraded from 0.9.0 to 1.0.0' });
    }, 180_000);
  });

  describe('when the update policy is eager', () => {
    it('upgrades every reachable server behind the app at once, without waiting for a job', async () => {
      const eagerId = await addServer(tc.core, sshd, eagerUser, 'version-eager');
      tc.core.settings.update({ runner: { updatePolicy: 'manual' } });
      await runners.deployRunner(eagerId, OLD);
      tc.core.settings.update({ runner: { updatePolicy: 'eager' } });

      const swept = await runners.followAppVersion();
      expect(swept).toEqual([eagerId]);
      const active = (await runners.listDeployments(eagerId)).find((d) => d.status === 'active');
      expect(active).toMatchObject({ version: '1.0.0' });
      const row = (await runners.versionStatus()).servers.find((s) => s.serverId === eagerId)!;
      expect(row.lastUpgrade?.outcome).toBe('upgraded');
    }, 180_000);
  });
});
