// Runner deployment against a real OpenSSH sshd: first deploy, a re-deploy that transfers nothing, a runner binary
// tampered on the server, a local artifact tampered before upload, upgrade, failed upgrades rolled back, manual
// rollback, compatibility questions, and a server without enough disk (a real 1 MB tmpfs over ~/.cronium).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import type { TestCore } from '../../harness/test-core';
import { AppError } from '../../../src-main/core/errors';
import type { RunnerService } from '../../../src-main/core/runners/runner-service';
import {
  addServer,
  fileSha256,
  makeArtifactStore,
  makeRunnerService,
  resetRunnerHome,
  startRunnerBench,
  type ArtifactFixture,
  type RunnerBench,
} from './runner-fixtures';
import { ErrorCode } from '../../../src-shared/errors';

let sshd: SshdHandle;
let bench: RunnerBench;
let tc: TestCore;
let fixture: ArtifactFixture;
let runners: RunnerService;
let mainUser: SshdKeyUser;
let tamperUser: SshdKeyUser;
let diskUser: SshdKeyUser;
let events: RunnerBench['events'];

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

beforeAll(async () => {
  // Users 13-15 of the harness: their homes are this suite's alone (other suites use lower numbers).
  sshd = await startSshd({ users: 15 });
  [mainUser, tamperUser, diskUser] = sshd.extraUsers.slice(12, 15);
  for (const u of [mainUser, tamperUser, diskUser]) resetRunnerHome(u);
  bench = await startRunnerBench();
  ({ tc, fixture, runners, events } = bench);
}, 120_000);

afterAll(async () => {
  await bench?.stop();
  for (const u of [mainUser, tamperUser, diskUser]) if (u) resetRunnerHome(u);
  await sshd?.stop();
});

describe('runner deployment', () => {
  let serverId: string;
  // These servers have Node >= 18 on PATH: the js code bundle is picked (the SEA only where neither Node nor a runtime
  // runs it: runtime-split.test.ts).
  const bundlePath = () => path.join(mainUser.home, '.cronium/runners/1.0.0/cronium-runner.cjs');

  describe('when the user deploys a runner to a fresh server', () => {
    it('probes, uploads the js code bundle (the server has Node), verifies it on the server and records an active deployment', async () => {
      serverId = await addServer(tc.core, sshd, mainUser, 'deploy-main');
      events.length = 0;
      const view = await runners.deployRunner(serverId, '1.0.0');

      expect(view).toMatchObject({ status: 'active', version: '1.0.0', kind: 'js', os: 'linux', arch: 'x64', serverName: 'deploy-main' });
      expect(view.path).toBe(bundlePath());
      // The bundle alone, gzipped: no 30 MB single executable for a server that has Node.
      expect(view.transferredBytes).toBeGreaterThan(10_000);
      expect(view.transferredBytes).toBeLessThan(1_000_000);
      const manifest = JSON.parse(fs.readFileSync(path.join(fixture.bundleDir, '1.0.0/js/manifest.json'), 'utf8'));
      expect(view.sha256).toBe(manifest.sha256);
      // What is on the server is exactly the signed bundle, with no temporary file left behind.
      expect(fileSha256(bundlePath())).toBe(manifest.sha256);
      expect(fs.statSync(bundlePath()).mode & 0o777).toBe(0o755);
      expect(fs.readdirSync(path.dirname(bundlePath()))).toEqual(['cronium-runner.cjs']);
      // It runs for its user under the server's node: the handshake's JSON came from this bundle.
      const out = execFileSync('su', ['-', mainUser.username, '-c', `node ${bundlePath()} version`], { encoding: 'utf8' });
      expect(JSON.parse(out)).toMatchObject({ version: '1.0.0', kind: 'js' });

      const steps = events.filter((e) => e.name === 'runners/progress').map((e) => e.payload.step);
      expect(steps).toEqual(expect.arrayContaining(['probe', 'pick', 'verify-local', 'upload', 'verify', 'handshake', 'done']));
      expect(events.some((e) => e.name === 'runners/changed' && e.payload.serverId === serverId)).toBe(true);
      const metrics = await tc.core.metrics.text();
      expect(metrics).toMatch(new RegExp(`runner_deployments_total\\{server="${serverId}"\\} [1-9]`));

      const compatible = await runners.getCompatibleRunner(serverId, { minVersion: '1.0.0', capabilities: ['spool'] });
      expect(compatible).toMatchObject({ deploymentId: view.id, version: '1.0.0', kind: 'js', path: bundlePath(), runtime: null, command: `env -u NODE_OPTIONS node '${bundlePath()}'` });
    }, 120_000);
  });

  describe('when the user deploys the same version again', () => {
    it('transfers nothing: the file on the server is the same inode with the same mtime, and only the handshake runs', async () => {
      const before = fs.statSync(bundlePath());
      events.length = 0;
      const view = await runners.deployRunner(serverId, '1.0.0');
      const after = fs.statSync(bundlePath());

      expect(view.transferredBytes).toBe(0);
      expect(after.ino).toBe(before.ino);
      expect(after.mtimeMs).toBe(before.mtimeMs);
      expect(fs.readdirSync(path.dirname(bundlePath()))).toEqual(['cronium-runner.cjs']);
      const steps = events.filter((e) => e.name === 'runners/progress').map((e) => e.payload.step);
      expect(steps).not.toContain('upload');
      // An up-to-date server costs one cheap check (the fingerprint recorded at deploy): no probe, no re-hash.
      expect(steps).not.toContain('probe');
      expect(steps).toContain('verify');
      expect(view.history.at(-1)?.message).toMatch(/nothing transferred/);
      // Still one deployment row for this version: a re-deploy updates it.
      expect((await runners.listDeployments(serverId)).length).toBe(1);
    }, 60_000);
  });

  describe('when the runner file on the server was altered', () => {
    it('detects the checksum mismatch and replaces it with the signed bundle', async () => {
      fs.appendFileSync(bundlePath(), Buffer.from('tampered'));
      // Leftovers of an upload that was cancelled or failed earlier: the next deploy removes them.
      const stale = [path.join(path.dirname(bundlePath()), '.cronium-runner.0badc0ffee00'), path.join(path.dirname(bundlePath()), '.cronium-runner.0badc0ffee00.gz')];
      for (const f of stale) fs.writeFileSync(f, 'half an upload');
      const view = await runners.deployRunner(serverId, '1.0.0');
      expect(view.transferredBytes).toBeGreaterThan(0);
      expect(fileSha256(bundlePath())).toBe(view.sha256);
      for (const f of stale) expect(fs.existsSync(f)).toBe(false);
      expect(fs.readdirSync(path.dirname(bundlePath())).filter((n) => n.startsWith('.cronium-runner.'))).toEqual([]);
      expect(view.history.at(-1)?.message).toMatch(/did not match the signed checksum; replaced/);
      // The altered one is kept on record as tampered, with the reason.
      expect((await runners.listDeployments(serverId)).find((d) => d.status === 'tampered')?.reason).toMatch(/replaced or altered/);
    }, 120_000);
  });

  describe('when the user upgrades to a newer version', () => {
    it('installs it, runs its first health check, and supersedes the previous one', async () => {
      const result = await runners.upgrade(serverId, '1.0.1');
      expect(result.rolledBack).toBe(false);
      expect(result.deployment).toMatchObject({ version: '1.0.1', status: 'active', kind: 'js' });
      const all = await runners.listDeployments(serverId);
      expect(all.find((d) => d.version === '1.0.0')?.status).toBe('superseded');
      expect(await runners.getCompatibleRunner(serverId, { minVersion: '1.0.1' })).toMatchObject({ version: '1.0.1', command: expect.stringMatching(/^env -u NODE_OPTIONS node '/) });
      expect(await runners.getCompatibleRunner(serverId, { capabilities: ['teleport'] })).toBeNull();
    }, 60_000);
  });

  describe('when an upgrade fails its handshake', () => {
    it('rolls back to the previous version automatically and says why', async () => {
      events.length = 0;
      const result = await runners.upgrade(serverId, '1.0.2');
      expect(result.rolledBack).toBe(true);
      expect(result.reason).toMatch(/handshake: it reports version 1\.0\.0, expected 1\.0\.2/);
      expect(result.deployment).toMatchObject({ version: '1.0.1', status: 'active' });
      expect(result.deployment.history.at(-1)?.message).toMatch(/^rolled back: /);
      const failed = (await runners.listDeployments(serverId)).find((d) => d.version === '1.0.2');
      expect(failed).toMatchObject({ status: 'failed', reason: expect.stringMatching(/handshake/) });
      expect(events.some((e) => e.name === 'system/notice' && /rolled back to 1\.0\.1/.test(e.payload.message))).toBe(true);
      expect(await tc.core.metrics.text()).toMatch(new RegExp(`runner_deployments_failed\\{server="${serverId}"\\} [1-9]`));
    }, 60_000);
  });

  describe('when an upgrade fails its first health check', () => {
    it('rolls back to the previous version automatically', async () => {
      const result = await runners.upgrade(serverId, '1.0.3');
      expect(result.rolledBack).toBe(true);
      expect(result.reason).toMatch(/health --json.*exited 3.*simulated broken health/);
      expect(result.deployment).toMatchObject({ version: '1.0.1', status: 'active' });
      expect((await runners.listDeployments(serverId)).find((d) => d.version === '1.0.3')?.status).toBe('failed');
    }, 60_000);
  });

  describe('when the user rolls back by hand', () => {
    it('re-activates the previous version without uploading it again', async () => {
      const before = fs.statSync(bundlePath());
      const view = await runners.rollback(serverId);
      expect(view).toMatchObject({ version: '1.0.0', status: 'active', transferredBytes: 0 });
      expect(fs.statSync(bundlePath()).ino).toBe(before.ino);
      const all = await runners.listDeployments(serverId);
      expect(all.find((d) => d.version === '1.0.1')?.status).toBe('superseded');
      expect(all.filter((d) => d.status === 'active')).toHaveLength(1);
    }, 60_000);
  });

  describe('when the local artifact was tampered with', () => {
    it('refuses it before anything is uploaded and records the failure', async () => {
      const tamperCache = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-runner-cache-'));
      try {
        const localStore = makeArtifactStore(tc.core, fixture, tamperCache);
        const local = makeRunnerService(tc.core, localStore);
        await local.ready();
        const gz = path.join(tamperCache, '1.0.1/js/cronium-runner.cjs.gz');
        const bytes = fs.readFileSync(gz);
        bytes[bytes.length - 20] ^= 0xff;
        fs.writeFileSync(gz, bytes);

        const id = await addServer(tc.core, sshd, tamperUser, 'deploy-tampered');
        const err = await rejection(local.deployRunner(id, '1.0.1'));
        expect(err.code).toBe(ErrorCode.ARTIFACT_TAMPERED);
        expect(fs.readdirSync(path.join(tamperUser.home, '.cronium/runners'))).toEqual([]);
        const [row] = await local.listDeployments(id);
        expect(row).toMatchObject({ status: 'failed', reason: expect.stringMatching(/failed verification/) });
      } finally {
        fs.rmSync(tamperCache, { recursive: true, force: true });
        // Both stores share runner_artifacts: register the suite's own cache again.
        await runners.ready(true);
      }
    }, 60_000);
  });

  describe('when the server does not have enough disk', () => {
    it('fails before uploading with the free and needed space in the reason', async () => {
      const home = path.join(diskUser.home, '.cronium');
      fs.mkdirSync(home, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', home]);
      try {
        execFileSync('chown', [`${diskUser.username}:`, home]);
        const id = await addServer(tc.core, sshd, diskUser, 'deploy-small-disk');
        const err = await rejection(runners.deployRunner(id, '1.0.0'));
        expect(err.code).toBe(ErrorCode.RUNNER_DISK_FULL);
        expect(err.message).toMatch(/No space left on deploy-small-disk .* needs \d+\.\d MB .* has \d\.\d MB free/);
        const [row] = await runners.listDeployments(id);
        expect(row).toMatchObject({ status: 'failed', reason: expect.stringMatching(/No space left/) });
        expect(fs.readdirSync(path.join(home, 'runners'))).toEqual([]);
      } finally {
        execFileSync('umount', [home]);
      }
    }, 60_000);
  });

  describe('when runner mode is needed but automatic deployment is off', () => {
    it('refuses with RUNNER_NOT_DEPLOYED and says what to do', async () => {
      const id = await addServer(tc.core, sshd, tamperUser, 'deploy-no-auto');
      tc.core.settings.update({ flags: { ssh_runner_auto_deploy: false } });
      try {
        const err = await rejection(runners.ensureRunner(id, null));
        expect(err.code).toBe(ErrorCode.RUNNER_NOT_DEPLOYED);
        expect(err.message).toMatch(/Deploy a runner from the Runners pane/);
        const [compat] = await runners.compatibility([id], null);
        expect(compat).toEqual({ serverId: id, compatible: false, version: null, reason: expect.stringMatching(/no runner/) });
      } finally {
        tc.core.settings.update({ flags: { ssh_runner_auto_deploy: true } });
      }
    });
  });
});
