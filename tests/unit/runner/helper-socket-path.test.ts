// Where the runner puts its helper socket when the job folder's path is too long for a Unix socket: somewhere only
// its own user can reach ($XDG_RUNTIME_DIR when it is private, else ~/.cronium/sock, 0700), never a shared /tmp path.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { privateShortSocketPath } from '../../../src-runner/job/supervisor';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-sock-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the helper socket path fallback', () => {
  it('uses $XDG_RUNTIME_DIR when it is a private folder of this user', () => {
    const runtime = path.join(tmp, 'run');
    fs.mkdirSync(runtime, { mode: 0o700 });
    expect(privateShortSocketPath('job-1', { XDG_RUNTIME_DIR: runtime }, path.join(tmp, 'home'))).toBe(path.join(runtime, 'cronium-job-1.sock'));
  });

  it('falls back to a 0700 folder in the home, never the shared temp folder, when $XDG_RUNTIME_DIR is missing or shared', () => {
    const shared = path.join(tmp, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o1777);
    const home = path.join(tmp, 'home');
    for (const env of [{}, { XDG_RUNTIME_DIR: shared }, { XDG_RUNTIME_DIR: 'relative/run' }]) {
      const socket = privateShortSocketPath('job-2', env, home);
      expect(socket).toBe(path.join(home, '.cronium', 'sock', 'cronium-job-2.sock'));
      expect(path.dirname(socket)).not.toBe(os.tmpdir());
      expect(fs.statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
    }
  });

  it('keeps the name short and free of path characters whatever the job id', () => {
    const socket = privateShortSocketPath('../../etc/' + 'x'.repeat(200), {}, path.join(tmp, 'home'));
    expect(path.basename(socket)).toMatch(/^cronium-[A-Za-z0-9_-]{1,40}\.sock$/);
    expect(path.dirname(socket)).toBe(path.join(tmp, 'home', '.cronium', 'sock'));
  });
});
