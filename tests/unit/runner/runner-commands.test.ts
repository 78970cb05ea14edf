/**
 * The runner's command line, run in-process against a real runner folder in a temp directory: `version` and
 * `health --json` print JSON the app's schemas accept, the job queue is counted from job state files, and anything
 * else gets the usage text and exit code 2. The built artifacts are run for real in tests/integration/runner-artifacts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RUNNER_EXIT_USAGE, RUNNER_VERSION, RunnerHealthReport, RunnerVersionInfo } from '../../../src-shared/protocol/runner-info';
import { runCommandLine } from '../../../src-runner/cli';
import { writeJobState } from '../../../src-runner/job-folder';
import { jobDir, payloadDir, runnerVersionDir, RUNNER_HOME_ENV } from '../../../src-runner/paths';

let home: string;
let env: NodeJS.ProcessEnv;

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCommandLine(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env });
  return { code, stdout, stderr };
}

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-runner-home-'));
  env = { ...process.env, [RUNNER_HOME_ENV]: home };
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe('the runner command line', () => {
  describe('when the app asks for the version', () => {
    it('prints one JSON line with version, protocol, platform, capabilities and kind', async () => {
      const { code, stdout, stderr } = await run('version');
      expect(code).toBe(0);
      expect(stderr).toBe('');
      expect(stdout.endsWith('\n')).toBe(true);
      const info = RunnerVersionInfo.parse(JSON.parse(stdout));
      expect(info).toMatchObject({ version: RUNNER_VERSION, os: process.platform, arch: process.arch, kind: 'js' });
      expect(info.capabilities).toEqual(expect.arrayContaining(['spool', 'replay', 'health']));
    });
  });

  describe('when the app asks for health', () => {
    it('reports cpu, memory, disk, queue and uptime that the app schema accepts', async () => {
      const started = Date.now();
      const { code, stdout } = await run('health', '--json');
      expect(code).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150); // the CPU is sampled over ~200 ms, not guessed
      const report = RunnerHealthReport.parse(JSON.parse(stdout));
      expect(report.memoryUsage).toBeGreaterThan(0);
      expect(report.diskSpace).toBeGreaterThan(0);
      expect(report.uptime).toBeGreaterThan(0);
      expect(report.executionQueue).toEqual({ queued: 0, running: 0 });
    });

    it('counts queued and running jobs from their state files, ignoring finished and half-made ones', async () => {
      const make = (id: string, state?: 'queued' | 'running' | 'exited') => {
        const dir = jobDir(id, env);
        fs.mkdirSync(dir, { recursive: true });
        if (state) writeJobState(dir, { state, updatedAt: new Date().toISOString() });
      };
      make('job-a', 'running');
      make('job-b', 'queued');
      make('job-c', 'queued');
      make('job-d', 'exited');
      make('job-e');
      fs.writeFileSync(path.join(jobDir('job-f', env) + '.txt'), 'not a folder');
      const report = RunnerHealthReport.parse(JSON.parse((await run('health', '--json')).stdout));
      expect(report.executionQueue).toEqual({ queued: 2, running: 1 });
    });

    it('refuses health without --json with the usage exit code', async () => {
      const { code, stdout, stderr } = await run('health');
      expect(code).toBe(RUNNER_EXIT_USAGE);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/expected --json/);
    });
  });

  describe('when the command is unknown or missing', () => {
    it.each([['frobnicate'], ['toString'], []])('prints the usage on stderr and exits 2 for %j', async (...argv) => {
      const { code, stdout, stderr } = await run(...argv);
      expect(code).toBe(RUNNER_EXIT_USAGE);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/usage: cronium-runner <command>/);
      expect(stderr).toMatch(/version/);
    });
  });

  describe('when a path is built from an id', () => {
    it('keeps versions, jobs and payloads under the runner folder', () => {
      expect(runnerVersionDir('1.0.0', env)).toBe(path.join(home, 'runners', '1.0.0'));
      expect(jobDir('4f1c-9', env)).toBe(path.join(home, 'jobs', '4f1c-9'));
      expect(payloadDir('ab'.repeat(32), env)).toBe(path.join(home, 'payloads', 'ab'.repeat(32)));
    });

    it.each(['..', '../x', 'a/b', '', '.hidden', 'a..b'])('refuses %j', (id) => {
      expect(() => jobDir(id, env)).toThrow(/invalid job id/);
    });
  });
});
