// Runner integrity against a real OpenSSH sshd and the repo's built runner: the runner file on the server is replaced
// after deployment (a same-size impostor whose mtime is put back, so only its ctime tells; random bytes; a chmod
// that leaves the bytes alone). The impostor would leave a marker file if it ever ran: it never does, the deployment
// is marked tampered with the reason, a notice and a health change go out, and with auto deploy the runner is
// redeployed and the job goes on; without it the job fails with that reason.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { EventInput } from '../../../src-shared/contract/events';
import { addServer, fileSha256, requireBuiltArtifacts, resetRunnerHome } from './runner-fixtures';

/** Harness user 19 (index 18): this suite's alone. */
const USER_INDEX = 18;

let sshd: SshdHandle;
let user: SshdKeyUser;
let tc: TestCore;
let serverId: string;
let eventId: string;
const events: Array<{ name: string; payload: any }> = [];
const markerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-impostor-'));

// The server has Node >= 18: the js code bundle is deployed and run as `node <bundle>`.
const runnerPath = () => path.join(user.home, '.cronium/runners/1.0.0/cronium-runner.cjs');

/**
 * Overwrites the runner in place (same inode, same size) with a script that leaves `marker` when node runs it, padded
 * with a comment to the original size; then puts the original atime and mtime back. Only the ctime differs now.
 */
function plantImpostor(marker: string): void {
  const file = runnerPath();
  const st = fs.statSync(file);
  const head = Buffer.from(`require('fs').appendFileSync(${JSON.stringify(marker)}, 'ran\\n'); process.exit(0);\n/*`);
  const body = Buffer.alloc(st.size, 0x23); // '#'
  head.copy(body, 0);
  Buffer.from('*/\n').copy(body, st.size - 3);
  const ns = fs.statSync(file, { bigint: true });
  fs.writeFileSync(file, body);
  // Nanosecond-exact, as a careful attacker would (fs.utimes rounds to microseconds).
  const stamp = (t: bigint) => `@${t / 1_000_000_000n}.${String(t % 1_000_000_000n).padStart(9, '0')}`;
  execFileSync('touch', ['-m', '-d', stamp(ns.mtimeNs), file]);
  execFileSync('touch', ['-a', '-d', stamp(ns.atimeNs), file]);
  const after = fs.statSync(file, { bigint: true });
  expect(after.size).toBe(ns.size);
  expect(after.ino).toBe(ns.ino);
  expect(after.mtimeNs).toBe(ns.mtimeNs);
  expect(after.ctimeNs).not.toBe(ns.ctimeNs);
}

async function runJob() {
  const [job] = await tc.core.jobs.runEvent({ eventId, trigger: 'manual' });
  return tc.core.jobs.waitForJob(job.id);
}

async function systemLines(logId: string): Promise<string[]> {
  const page = await tc.core.logs.store.lines(logId, 0, 1000);
  return page.lines.filter((l) => l.stream === 'system').map((l) => l.text);
}

async function deployments() {
  return tc.core.runners.listDeployments(serverId);
}

beforeAll(async () => {
  requireBuiltArtifacts();
  sshd = await startSshd({ users: USER_INDEX + 1 });
  user = sshd.extraUsers[USER_INDEX];
  resetRunnerHome(user);
  tc = await createTestCore();
  await tc.core.start();
  tc.core.bus.subscribe((name, payload) => events.push({ name, payload }));
  serverId = await addServer(tc.core, sshd, user, 'integrity');
  const event = await tc.core.events.save(
    EventInput.parse({ name: 'integrity', scriptType: 'bash', content: 'echo "the real runner ran me"\n', timeoutSeconds: 120, executionMode: 'runner-ssh', serverIds: [serverId] }),
  );
  eventId = event.id;
  // First run deploys the runner and records its fingerprint.
  const first = await runJob();
  expect(first.status, first.reason ?? '').toBe('SUCCESS');
}, 180_000);

afterAll(async () => {
  await tc?.cleanup();
  if (user) resetRunnerHome(user);
  await sshd?.stop();
  fs.rmSync(markerDir, { recursive: true, force: true });
});

describe('runner integrity before every use', () => {
  it('records the runner file fingerprint at deploy', async () => {
    const [active] = (await deployments()).filter((d) => d.status === 'active');
    expect(active).toBeDefined();
    const record = await tc.core.runners.deployments.require(active!.id);
    const st = fs.statSync(runnerPath());
    expect(record.metadata.fingerprint).toMatch(new RegExp(`^${st.size}:${st.ino}:`));
    expect(record.metadata.verifiedAt).not.toBeNull();
  });

  describe('when the runner is replaced by a same-size impostor (auto deploy on)', () => {
    it('never runs the impostor, marks the deployment tampered, redeploys and the job goes on', async () => {
      const before = (await deployments()).find((d) => d.status === 'active')!;
      const marker = path.join(markerDir, 'auto-on');
      plantImpostor(marker);
      events.length = 0;

      const job = await runJob();

      expect(fs.existsSync(marker)).toBe(false);
      expect(job.status, job.reason ?? '').toBe('SUCCESS');
      expect(await tc.core.logs.store.lines(job.logId!, 0, 100).then((p) => p.lines.filter((l) => l.stream === 'stdout').map((l) => l.text))).toEqual(['the real runner ran me']);
      const system = (await systemLines(job.logId!)).join('\n');
      expect(system).toMatch(/is not the one Cronium deployed/);
      expect(system).toMatch(/runner redeployed/);

      const all = await deployments();
      const old = all.find((d) => d.id === before.id)!;
      expect(old.status).toBe('tampered');
      expect(old.reason).toMatch(/replaced or altered after it was deployed/);
      expect(old.reason).toMatch(/sha256 is/);
      const now = all.find((d) => d.status === 'active')!;
      expect(now.id).not.toBe(before.id);
      expect(fileSha256(runnerPath())).toBe(now.sha256);

      const health = events.find((e) => e.name === 'runners/healthChanged' && e.payload.deploymentId === before.id);
      expect(health?.payload.to).toBe('unhealthy');
      expect(events.some((e) => e.name === 'system/notice' && /tampered/.test(e.payload.message))).toBe(true);
    }, 180_000);
  });

  describe('when only the file details change (a chmod), not its bytes', () => {
    it('checks the sha256, renews the fingerprint and runs the job', async () => {
      const active = (await deployments()).find((d) => d.status === 'active')!;
      fs.chmodSync(runnerPath(), 0o750);
      const job = await runJob();
      expect(job.status, job.reason ?? '').toBe('SUCCESS');
      const same = (await deployments()).find((d) => d.id === active.id)!;
      expect(same.status).toBe('active');
      expect(same.history.at(-1)?.event).toBe('verified');
    }, 120_000);
  });

  describe('when the runner is overwritten with random bytes and a health check comes first', () => {
    it('reports it unhealthy as tampered and redeploys it (auto deploy on)', async () => {
      const active = (await deployments()).find((d) => d.status === 'active')!;
      const size = fs.statSync(runnerPath()).size;
      fs.writeFileSync(runnerPath(), crypto.randomBytes(size));

      const view = await tc.core.runners.checkRunnerHealth(active.id);

      expect(view.state).toBe('unhealthy');
      expect(view.reason).toMatch(/replaced or altered/);
      const now = (await deployments()).find((d) => d.status === 'active')!;
      expect(now.id).not.toBe(active.id);
      expect(fileSha256(runnerPath())).toBe(now.sha256);
      const job = await runJob();
      expect(job.status, job.reason ?? '').toBe('SUCCESS');
    }, 180_000);
  });

  describe('when auto deploy is off', () => {
    it('fails the job with the reason and never runs the impostor', async () => {
      tc.core.settings.update({ flags: { ssh_runner_auto_deploy: false } });
      try {
        const before = (await deployments()).find((d) => d.status === 'active')!;
        const marker = path.join(markerDir, 'auto-off');
        plantImpostor(marker);

        const job = await runJob();

        expect(fs.existsSync(marker)).toBe(false);
        expect(job.status, job.reason ?? '').toBe('FAILURE');
        expect(job.reason).toMatch(/replaced or altered after it was deployed/);
        expect(job.reason).toMatch(/Automatic deployment is off/);
        expect((await deployments()).find((d) => d.id === before.id)?.status).toBe('tampered');
        expect((await deployments()).some((d) => d.status === 'active')).toBe(false);

        // The next job does not run on it either, and says why.
        const again = await runJob();
        expect(again.status, again.reason ?? '').toBe('FAILURE');
        expect(fs.existsSync(marker)).toBe(false);
      } finally {
        tc.core.settings.update({ flags: { ssh_runner_auto_deploy: true } });
      }
    }, 180_000);
  });
});
