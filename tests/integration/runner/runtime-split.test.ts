// Runtime and code apart, against a real OpenSSH sshd whose sessions have no Node on PATH (SetEnv PATH): a fresh
// server gets the shared runtime (the Node binary) and the code bundle and runs a job; an upgrade ships only the
// bundle (< 1 MB); a code bundle tampered after deploy and a swapped runtime are never run, found at the next use and
// redeployed; rollback re-activates the previous bundle under the same runtime; remove-all removes the runtime too.
// A server without Node and without a runtime for it still gets the single executable (the last resort); a server
// whose own node goes away after a js deploy is found at the next use and redeployed under the runtime.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { EventInput } from '../../../src-shared/contract/events';
import {
  addBuiltRuntime,
  addServer,
  builtRuntimeDir,
  fileSha256,
  makeArtifactFixture,
  makeArtifactStore,
  makeNoNodeBin,
  makeRunnerService,
  requireBuiltArtifacts,
  resetRunnerHome,
  startRunnerBench,
  type RunnerBench,
} from './runner-fixtures';

/** Harness users cronium-k180..k183: this suite's alone (k182: no Node, no runtime; k183: its node goes away). */
const FIRST_USER = 180;

let sshd: SshdHandle;
let jobUser: SshdKeyUser;
let upgradeUser: SshdKeyUser;
let tc: TestCore;
let bench: RunnerBench;
let serverId: string;
let eventId: string;
let noNodeBin: string;
let seaUser: SshdKeyUser;
let nodeGoneUser: SshdKeyUser;
/**
 * k183's PATH: the no-Node folder plus a `node` link the test removes. Its login environment also has a NODE_OPTIONS
 * that would stop any Node from starting: the runner must start without it (runnerCommand clears it).
 */
let ownNodeBin: string;
const markerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-split-marker-'));
const runtimeManifest = () => JSON.parse(fs.readFileSync(path.join(builtRuntimeDir(), 'manifest.json'), 'utf8'));
const runtimePath = (u: SshdKeyUser) => path.join(u.home, '.cronium/runtimes', `${runtimeManifest().version}-linux-x64`, 'node');
const bundlePath = (u: SshdKeyUser, v: string) => path.join(u.home, '.cronium/runners', v, 'cronium-runner.cjs');

async function runJob() {
  const [job] = await tc.core.jobs.runEvent({ eventId, trigger: 'manual' });
  return tc.core.jobs.waitForJob(job.id);
}

beforeAll(async () => {
  requireBuiltArtifacts();
  builtRuntimeDir();
  fs.chmodSync(markerDir, 0o777);
  noNodeBin = makeNoNodeBin();
  ownNodeBin = makeNoNodeBin();
  fs.symlinkSync(fs.realpathSync('/usr/bin/node'), path.join(ownNodeBin, 'node'));
  const users = [FIRST_USER, FIRST_USER + 1, FIRST_USER + 2].map((i) => `cronium-k${i}`);
  sshd = await startSshd({
    users: 4,
    firstUser: FIRST_USER,
    extraConfig: [`Match User ${users.join(',')}`, `    SetEnv PATH=${noNodeBin}`, `Match User cronium-k${FIRST_USER + 3}`, `    SetEnv PATH=${ownNodeBin} NODE_OPTIONS=--require=/nonexistent/cronium-poison.js`],
  });
  [jobUser, upgradeUser, seaUser, nodeGoneUser] = sshd.extraUsers;
  for (const u of [jobUser, upgradeUser, seaUser, nodeGoneUser]) resetRunnerHome(u);
  tc = await createTestCore();
  await tc.core.start();
  serverId = await addServer(tc.core, sshd, jobUser, 'split-job');
  const event = await tc.core.events.save(
    EventInput.parse({ name: 'split', scriptType: 'bash', content: 'echo "ran under the deployed runtime"\n', timeoutSeconds: 120, executionMode: 'runner-ssh', serverIds: [serverId] }),
  );
  eventId = event.id;
  bench = await startRunnerBench();
  addBuiltRuntime(bench.fixture.bundleDir);
  await bench.runners.ready(true);
}, 240_000);

afterAll(async () => {
  await bench?.stop();
  await tc?.cleanup();
  for (const u of [jobUser, upgradeUser, seaUser, nodeGoneUser]) if (u) resetRunnerHome(u);
  await sshd?.stop();
  fs.rmSync(markerDir, { recursive: true, force: true });
  for (const dir of [noNodeBin, ownNodeBin]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('runner runtime and code bundle apart (a server without Node)', () => {
  it('deploys the runtime and the code bundle to a fresh server and runs a job under the runtime', async () => {
    const job = await runJob();
    expect(job.status, job.reason ?? '').toBe('SUCCESS');
    const active = await tc.core.runners.deployments.active(serverId);
    expect(active).toMatchObject({ status: 'active', version: '1.0.0' });
    const m = active!.metadata;
    expect(m.kind).toBe('js');
    expect(m.path).toBe(bundlePath(jobUser, '1.0.0'));
    expect(m.runtime).toMatchObject({ path: runtimePath(jobUser), sha256: runtimeManifest().sha256, nodeVersion: runtimeManifest().version });
    expect(m.runtime!.fingerprint).toMatch(/^\d+:\d+:/);
    // What is on the server is exactly the signed runtime and bundle; the runtime and the bundle both travelled.
    expect(fileSha256(runtimePath(jobUser))).toBe(runtimeManifest().sha256);
    expect(fileSha256(bundlePath(jobUser, '1.0.0'))).toBe(m.sha256);
    expect(m.transferredBytes).toBeGreaterThan(10_000_000);
    const runner = await tc.core.runners.getCompatibleRunner(serverId);
    expect(runner!.command).toBe(`env -u NODE_OPTIONS '${runtimePath(jobUser)}' '${bundlePath(jobUser, '1.0.0')}'`);
  });

  it('never runs a code bundle tampered after deploy: found at the next use, marked tampered, redeployed', async () => {
    // The previous job's job host launch may still be under way: its guard checked the files before this test changes them.
    await tc.core.jobHosts.settled();
    const marker = path.join(markerDir, 'bundle-ran');
    const file = bundlePath(jobUser, '1.0.0');
    const signed = fs.readFileSync(file);
    // Same path, the runner's code plus one line: the fingerprint alone would not tell (mtime put back below).
    const st = fs.statSync(file);
    fs.writeFileSync(file, Buffer.concat([Buffer.from(`require('fs').appendFileSync(${JSON.stringify(marker)}, 'ran\\n');\n`), signed]));
    fs.utimesSync(file, st.atime, st.mtime);

    const job = await runJob();
    expect(job.status, job.reason ?? '').toBe('SUCCESS');
    expect(fs.existsSync(marker)).toBe(false);
    const all = await tc.core.runners.listDeployments(serverId);
    const tampered = all.find((d) => d.status === 'tampered');
    expect(tampered?.reason).toMatch(/cronium-runner\.cjs .*was replaced or altered.*found at job start/);
    expect(fileSha256(file)).toBe(fileSha256Of(signed));
  });

  it('never runs a runtime swapped after deploy: found at the next use, marked tampered, redeployed', async () => {
    // The previous job's job host launch may still be under way: its guard checked the files before this test changes them.
    await tc.core.jobHosts.settled();
    const marker = path.join(markerDir, 'runtime-ran');
    const file = runtimePath(jobUser);
    const swap = `${file}.swap`;
    fs.writeFileSync(swap, `#!/bin/sh\necho ran >> ${marker}\nexit 0\n`, { mode: 0o755 });
    fs.renameSync(swap, file);

    const job = await runJob();
    expect(job.status, job.reason ?? '').toBe('SUCCESS');
    expect(fs.existsSync(marker)).toBe(false);
    const all = await tc.core.runners.listDeployments(serverId);
    expect(all.some((d) => d.status === 'tampered' && /the runtime of runner 1\.0\.0 at .*\/node .*was replaced or altered/.test(d.reason ?? ''))).toBe(true);
    expect(fileSha256(file)).toBe(runtimeManifest().sha256);
  });

  it('upgrades by shipping only the code bundle (< 1 MB), rolls back, and removes the runtime with the runners', async () => {
    const { runners, tc: btc } = bench;
    const id = await addServer(btc.core, sshd, upgradeUser, 'split-upgrade');
    const first = await runners.deployRunner(id, '1.0.0');
    expect(first).toMatchObject({ status: 'active', version: '1.0.0', kind: 'js', path: bundlePath(upgradeUser, '1.0.0') });
    expect(first.transferredBytes).toBeGreaterThan(10_000_000);
    const runtimeStat = fs.statSync(runtimePath(upgradeUser));

    const up = await runners.upgrade(id, '1.0.1');
    expect(up.rolledBack, up.reason ?? '').toBe(false);
    expect(up.deployment).toMatchObject({ status: 'active', version: '1.0.1', kind: 'js', path: bundlePath(upgradeUser, '1.0.1') });
    expect(up.deployment.transferredBytes).toBeGreaterThan(0);
    expect(up.deployment.transferredBytes).toBeLessThan(1_000_000);
    // The runtime was left alone: same file, shared by both versions.
    const after = fs.statSync(runtimePath(upgradeUser));
    expect([after.ino, after.ctimeMs]).toEqual([runtimeStat.ino, runtimeStat.ctimeMs]);
    const upgraded = await runners.deployments.active(id);
    expect(upgraded!.metadata.runtime?.path).toBe(runtimePath(upgradeUser));
    expect((await runners.checkRunnerHealth(upgraded!.id)).state).not.toBe('unhealthy');

    const back = await runners.rollback(id);
    expect(back).toMatchObject({ status: 'active', version: '1.0.0', transferredBytes: 0 });
    const rolledBack = await runners.getCompatibleRunner(id);
    expect(rolledBack!.command).toBe(`env -u NODE_OPTIONS '${runtimePath(upgradeUser)}' '${bundlePath(upgradeUser, '1.0.0')}'`);
    expect(fs.existsSync(runtimePath(upgradeUser))).toBe(true);

    await runners.remove(id);
    expect(fs.existsSync(path.join(upgradeUser.home, '.cronium/runtimes'))).toBe(false);
    expect(fs.existsSync(path.join(upgradeUser.home, '.cronium/runners'))).toBe(false);
  });

  it('deploys the single executable to a server without Node when no runtime exists for it (the last resort)', async () => {
    const { tc: btc } = bench;
    const fixture = makeArtifactFixture();
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-runner-cache-'));
    try {
      const runners = makeRunnerService(btc.core, makeArtifactStore(btc.core, fixture, cache));
      await runners.ready();
      const id = await addServer(btc.core, sshd, seaUser, 'split-sea');
      const view = await runners.deployRunner(id, '1.0.0');
      const seaPath = path.join(seaUser.home, '.cronium/runners/1.0.0/cronium-runner');
      expect(view).toMatchObject({ status: 'active', version: '1.0.0', kind: 'sea', os: 'linux', arch: 'x64', path: seaPath });
      expect(view.transferredBytes).toBeGreaterThan(10_000_000);
      expect(fs.existsSync(path.join(seaUser.home, '.cronium/runtimes'))).toBe(false);
      expect((await runners.getCompatibleRunner(id))!.command).toBe(`env -u NODE_OPTIONS '${seaPath}'`);
      expect((await runners.checkRunnerHealth(view.id)).state).not.toBe('unhealthy');
      await runners.stop();
    } finally {
      fixture.cleanup();
      fs.rmSync(cache, { recursive: true, force: true });
      // Both stores share runner_artifacts: register the bench's own cache (and its runtime) again.
      await bench.runners.ready(true);
    }
  });

  it('redeploys under the runtime, at the next use, a js runner whose server lost its node', async () => {
    const id = await addServer(tc.core, sshd, nodeGoneUser, 'split-node-gone');
    const event = await tc.core.events.save(
      EventInput.parse({ name: 'node-gone', scriptType: 'bash', content: 'echo "still runs"\n', timeoutSeconds: 120, executionMode: 'runner-ssh', serverIds: [id] }),
    );
    const run = async () => {
      const [job] = await tc.core.jobs.runEvent({ eventId: event.id, trigger: 'manual' });
      return tc.core.jobs.waitForJob(job.id);
    };
    // Runs although the login environment's NODE_OPTIONS would break Node: the runner starts without it.
    const first = await run();
    expect(first.status, first.reason ?? '').toBe('SUCCESS');
    const underNode = await tc.core.runners.deployments.active(id);
    // The server has Node 18+: the bundle alone, run by that node.
    expect(underNode!.metadata).toMatchObject({ kind: 'js', runtime: null });
    expect(underNode!.metadata.transferredBytes).toBeLessThan(1_000_000);

    fs.rmSync(path.join(ownNodeBin, 'node'));
    const second = await run();
    expect(second.status, second.reason ?? '').toBe('SUCCESS');
    expect(await tc.core.logs.store.lines(second.logId!, 0, 100).then((p) => p.lines.filter((l) => l.stream === 'stdout').map((l) => l.text))).toEqual(['still runs']);
    const old = await tc.core.runners.deployments.require(underNode!.id);
    expect(old.status).toBe('failed');
    expect(old.metadata.reason).toMatch(/runs under the server's own node, and the server now has no node on its PATH any more \(found at job start\)/);
    const now = await tc.core.runners.deployments.active(id);
    expect(now!.metadata.runtime).toMatchObject({ path: runtimePath(nodeGoneUser) });
    expect(fileSha256(runtimePath(nodeGoneUser))).toBe(runtimeManifest().sha256);
  });
});

function fileSha256Of(b: Buffer): string {
  const file = path.join(markerDir, 'sha-of');
  fs.writeFileSync(file, b);
  return fileSha256(file);
}
