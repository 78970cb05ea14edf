// The app itself dies mid-job: a child process runs the whole core and starts a runner job; the test SIGKILLs it
// (no clean shutdown at all), then creates the core again on the same data folder. The runner kept running and
// spooling on the server; the new app re-attaches and completes the log exactly, or, when the job finished while
// the app was away, collects its result and the rest of its spool.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { MIGRATIONS_DIR, REPO_ROOT, RESOURCES_DIR, createTestCore } from '../../harness/test-core';
import { KeytarSecretStore } from '../../../src-main/core/secrets/keytar-secret-store';
import {
  FIRST_USER, USERS_NEEDED, addServer, countLossAndDuplicates, requireRunnerBuild, resetHome, saveEvent, stdoutOf, waitFor,
} from './runner-exec-fixtures';

let sshd: SshdHandle;
let user: SshdKeyUser;
let dataDir: string;
let bundle: string;
let serverId: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  requireRunnerBuild();
  sshd = await startSshd({ users: USERS_NEEDED });
  user = sshd.extraUsers[FIRST_USER + 2];
  resetHome(user);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-restart-'));
  bundle = path.join(REPO_ROOT, 'node_modules', '.cache', 'runner-exec', 'app-process.cjs');
  await build({
    entryPoints: [path.join(__dirname, 'app-process.ts')], outfile: bundle, bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    packages: 'external', logLevel: 'warning',
  });
  const tc = await createTestCore({ dataDir, secrets: new KeytarSecretStore() });
  serverId = await addServer(tc.core, sshd, user, 'runner-restart');
  await tc.cleanup();
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  if (user) resetHome(user);
  await sshd?.stop();
});

/** Starts the app in a child process running `eventId`; resolves with the job id once the job is RUNNING. */
async function appRunning(eventId: string): Promise<{ child: ChildProcess; jobId: string }> {
  const child = spawn(process.execPath, [bundle, dataDir, MIGRATIONS_DIR, RESOURCES_DIR, eventId], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
  children.add(child);
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  const jobId = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /\{"jobId":"([^"]+)"\}/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`the app process exited (${code}) before starting the job: ${err}`)));
  });
  return { child, jobId };
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
    children.delete(child);
  });
}

function runnerState(jobId: string): { state: string; lastSeq?: number } | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(user.home, '.cronium/jobs', jobId, 'state.json'), 'utf8'));
  } catch {
    return null;
  }
}

const N = 20_000;
const expected = Array.from({ length: N }, (_, i) => `line ${i + 1}`);

describe('runner jobs across an app restart', () => {
  describe('when the app is killed mid-job and started again while the job still runs', () => {
    it('re-attaches and completes the log exactly', async () => {
      const setup = await createTestCore({ dataDir, secrets: new KeytarSecretStore() });
      const event = await saveEvent(setup.core, serverId, {
        scriptType: 'bash',
        content: `for i in $(seq 1 ${N}); do echo "line $i"; if [ $((i % 1000)) -eq 0 ]; then sleep 0.3; fi; done\n`,
      });
      await setup.cleanup();

      const { child, jobId } = await appRunning(event.id);
      await waitFor('some lines spooled on the server', () => (runnerState(jobId)?.state === 'running' ? true : null), 60_000);
      await new Promise((r) => setTimeout(r, 1000));
      await kill(child);
      // The runner is still at it with nobody listening.
      expect(runnerState(jobId)?.state).toBe('running');

      const again = await createTestCore({ dataDir, secrets: new KeytarSecretStore() });
      try {
        await again.core.start();
        const done = await again.core.jobs.waitForJob(jobId);
        expect(done).toMatchObject({ status: 'SUCCESS', executionMode: 'runner-ssh' });
        const stdout = await stdoutOf(again.core, done.logId!);
        const { lost, duplicates } = countLossAndDuplicates(stdout, expected);
        console.log(`[restart] re-attached: lines lost ${lost}, duplicates ${duplicates}`);
        expect(stdout).toEqual(expected);
        const log = await again.core.logs.store.get(done.logId!);
        expect(log.status).toBe('SUCCESS');
        expect(await again.core.metrics.text()).toMatch(/partial_log_recovery_count [1-9]/);
      } finally {
        await again.cleanup();
      }
    }, 180_000);
  });

  describe('when the job finishes while the app is away', () => {
    it('collects the result and the rest of the spool at the next start', async () => {
      const setup = await createTestCore({ dataDir, secrets: new KeytarSecretStore() });
      const event = await saveEvent(setup.core, serverId, {
        scriptType: 'bash',
        content: `for i in $(seq 1 ${N}); do echo "line $i"; if [ $((i % 2000)) -eq 0 ]; then sleep 0.2; fi; done\nexit 7\n`,
      });
      await setup.cleanup();

      const { child, jobId } = await appRunning(event.id);
      // Killed once the script runs (before that, the runner waits for its environment, which only the app can send).
      await waitFor('the script to start on the server', () => (runnerState(jobId)?.state !== 'queued' ? true : null), 60_000, 5);
      await kill(child);
      await waitFor('the script to end on the server', () => (runnerState(jobId)?.state === 'exited' ? true : null), 60_000);

      const again = await createTestCore({ dataDir, secrets: new KeytarSecretStore() });
      try {
        await again.core.start();
        const done = await again.core.jobs.waitForJob(jobId);
        expect(done).toMatchObject({ status: 'FAILURE', exitCode: 7 });
        expect(await stdoutOf(again.core, done.logId!)).toEqual(expected);
      } finally {
        await again.cleanup();
      }
    }, 180_000);
  });
});
