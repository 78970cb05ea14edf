// The runner integrity guard, run by a real /bin/sh against real files: it lets the recorded file run, and refuses
// (exit 97, nothing run) a file replaced in place with the same size and mtime, a file swapped by rename, a symlink and
// a missing file. The full check's parsing tells a stable file from one that changed while it was hashed.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FINGERPRINT_FUNCTION,
  INTEGRITY_EXIT_CODE,
  fullCheckScript,
  integrityGuard,
  integrityMismatch,
  parseFileCheck,
  parseRefusal,
  seenFingerprint,
} from '../../../src-main/core/runners/runner-integrity';

let dir: string;
let runner: string;
let marker: string;

function fingerprintOf(file: string): string {
  return execFileSync('sh', ['-c', `${FINGERPRINT_FUNCTION}\nfp "$1"`, 'sh', file], { encoding: 'utf8' }).trim();
}

function runGuarded(fingerprint: string) {
  return spawnSync('sh', ['-c', `${integrityGuard({ path: runner, fingerprint })}${runner}`], { encoding: 'utf8' });
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-integrity-'));
  runner = path.join(dir, 'cronium-runner');
  marker = path.join(dir, 'ran');
  fs.writeFileSync(runner, `#!/bin/sh\necho real >> ${marker}\n`, { mode: 0o755 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the integrity guard', () => {
  it('runs the file it recorded', () => {
    const r = runGuarded(fingerprintOf(runner));
    expect(r.status).toBe(0);
    expect(fs.readFileSync(marker, 'utf8')).toBe('real\n');
  });

  it('refuses a same-size impostor written in place with its mtime put back', () => {
    const recorded = fingerprintOf(runner);
    const st = fs.statSync(runner, { bigint: true });
    const impostor = `#!/bin/sh\necho fake >> ${marker}\n`;
    expect(impostor.length).toBe(Number(st.size));
    fs.writeFileSync(runner, impostor);
    const ns = st.mtimeNs;
    execFileSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, runner]);
    const r = runGuarded(recorded);
    expect(r.status).toBe(INTEGRITY_EXIT_CODE);
    expect(fs.existsSync(marker)).toBe(false);
    expect(seenFingerprint(r.stderr)).toBe(fingerprintOf(runner));
  });

  it('refuses a file swapped in by rename, a symlink and a missing file', () => {
    const recorded = fingerprintOf(runner);
    const other = path.join(dir, 'other');
    fs.writeFileSync(other, `#!/bin/sh\necho swap >> ${marker}\n`, { mode: 0o755 });
    fs.renameSync(other, runner);
    expect(runGuarded(recorded).status).toBe(INTEGRITY_EXIT_CODE);
    fs.rmSync(runner);
    fs.symlinkSync('/bin/true', runner);
    expect(runGuarded(recorded).status).toBe(INTEGRITY_EXIT_CODE);
    fs.rmSync(runner);
    const gone = runGuarded(recorded);
    expect(gone.status).toBe(INTEGRITY_EXIT_CODE);
    expect(seenFingerprint(gone.stderr)).toBe('');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('adds nothing for a deployment without a fingerprint (recorded before fingerprints existed)', () => {
    expect(integrityGuard({ path: runner, fingerprint: null })).toBe('');
  });
});

describe('the full check', () => {
  it('reports the sha256 and a stable fingerprint of a file', () => {
    const out = execFileSync('sh', ['-c', fullCheckScript([runner])], { encoding: 'utf8' });
    const check = parseFileCheck(out);
    expect(check.kind).toBe('file');
    expect(check.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(check.fingerprint).toBe(fingerprintOf(runner));
  });

  it('has no fingerprint when the file changed while it was hashed, and tells symlinks and missing files', () => {
    expect(parseFileCheck('kind=file\nbefore=1:2:3:4:5\nsha=' + 'a'.repeat(64) + '\nafter=1:2:3:4:6\n').fingerprint).toBeNull();
    fs.rmSync(runner);
    expect(parseFileCheck(execFileSync('sh', ['-c', fullCheckScript([runner])], { encoding: 'utf8' })).kind).toBe('missing');
    fs.symlinkSync('/bin/true', runner);
    expect(parseFileCheck(execFileSync('sh', ['-c', fullCheckScript([runner])], { encoding: 'utf8' })).kind).toBe('symlink');
  });
});

describe('the integrity guard of a code bundle under a deployed runtime', () => {
  // The "runtime" is a shell script that runs its argument (the "bundle", itself a script), so both parts are real files.
  let runtime: string;
  let bundle: string;
  const sha = (file: string) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
  const guarded = () => ({ path: bundle, fingerprint: null, sha256: sha(bundle), runtime: { path: runtime, sha256: sha(runtime), fingerprint: fingerprintOf(runtime) } });
  const run = (g: ReturnType<typeof guarded>) => spawnSync('sh', ['-c', `${integrityGuard(g)}${runtime} ${bundle}`], { encoding: 'utf8' });

  beforeEach(() => {
    runtime = path.join(dir, 'node');
    bundle = path.join(dir, 'cronium-runner.cjs');
    fs.writeFileSync(runtime, '#!/bin/sh\nsh "$1"\n', { mode: 0o755 });
    fs.writeFileSync(bundle, `echo bundle >> ${marker}\n`);
  });

  it('runs the recorded runtime with the signed bundle', () => {
    const r = run(guarded());
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(marker, 'utf8')).toBe('bundle\n');
  });

  it('refuses a bundle whose bytes changed, even with its fingerprint put back (full sha256 every use)', () => {
    const g = guarded();
    const st = fs.statSync(bundle);
    fs.writeFileSync(bundle, `echo evil >> ${marker}\n`);
    fs.utimesSync(bundle, st.atime, st.mtime);
    const r = run(g);
    expect(r.status).toBe(INTEGRITY_EXIT_CODE);
    expect(r.stderr).toMatch(/cronium-integrity-sha=[0-9a-f]{64}/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('refuses a runtime swapped in by rename', () => {
    const g = guarded();
    fs.writeFileSync(`${runtime}.new`, `#!/bin/sh\necho swapped >> ${marker}\n`, { mode: 0o755 });
    fs.renameSync(`${runtime}.new`, runtime);
    const r = run(g);
    expect(r.status).toBe(INTEGRITY_EXIT_CODE);
    expect(r.stderr).toMatch(/cronium-integrity-runtime=\d+:/);
    expect(fs.existsSync(marker)).toBe(false);
  });
  it('refuses to run when the runtime was recorded without a fingerprint or the bundle without its sha256 (fail closed)', () => {
    const unrecorded: Parameters<typeof integrityGuard>[0][] = [{ ...guarded(), runtime: { ...guarded().runtime, fingerprint: null } }, { ...guarded(), sha256: null }];
    for (const g of unrecorded) {
      const r = spawnSync('sh', ['-c', `${integrityGuard(g)}${runtime} ${bundle}`], { encoding: 'utf8' });
      expect(r.status).toBe(INTEGRITY_EXIT_CODE);
      expect(fs.existsSync(marker)).toBe(false);
    }
  });
});

describe('the guard of a code bundle run under the server\'s own node', () => {
  // A fake `node` on a PATH of our own: it prints the version it is given and runs the bundle (a shell script).
  let bin: string;
  let tools: string;
  const fakeNode = (version: string) => fs.writeFileSync(path.join(bin, 'node'), `#!/bin/sh\nif [ "$1" = -v ]; then echo ${version}; exit 0; fi\nsh "$1"\n`, { mode: 0o755 });
  const run = (opts: { nodeVersion?: boolean } = {}) =>
    spawnSync('/bin/sh', ['-c', `${integrityGuard({ path: runner, kind: 'js', fingerprint: fingerprintOf(runner) }, opts)}node ${runner}`], {
      encoding: 'utf8',
      env: { PATH: `${bin}:${tools}` },
    });

  beforeEach(() => {
    bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    // The tools the guard uses, without the machine's node (it lives in /usr/bin here).
    tools = path.join(dir, 'tools');
    fs.mkdirSync(tools);
    for (const t of ['sh', 'stat', 'readlink', 'id']) fs.symlinkSync(execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim(), path.join(tools, t));
    fs.writeFileSync(runner, `echo real >> ${marker}\n`);
  });

  it('runs the bundle while node is there and new enough', () => {
    fakeNode('v20.11.1');
    expect(run({ nodeVersion: true }).status).toBe(0);
    expect(fs.readFileSync(marker, 'utf8')).toBe('real\n');
  });

  it('refuses (exit 97, nothing run) when node is gone from the PATH, and at a health check when it is older than 18', () => {
    const gone = run();
    expect(gone.status).toBe(INTEGRITY_EXIT_CODE);
    expect(parseRefusal(gone.stderr)).toEqual({ part: 'node', seen: '' });
    fakeNode('v16.20.2');
    const old = run({ nodeVersion: true });
    expect(old.status).toBe(INTEGRITY_EXIT_CODE);
    expect(parseRefusal(old.stderr)).toEqual({ part: 'node', seen: 'v16.20.2' });
    expect(integrityMismatch('srv', { path: runner, kind: 'js', fingerprint: 'x' }, old.stderr).message).toMatch(/v16\.20\.2, older than 18.*install Node 18\+/);
    expect(fs.existsSync(marker)).toBe(false);
    // Every use checks only that node is there (no `node -v` spawn per job).
    expect(run().status).toBe(0);
  });
  it('refuses a node another user could replace: a group-writable folder above it or above its link target', () => {
    fakeNode('v20.11.1');
    fs.chmodSync(bin, 0o775);
    const writable = run();
    expect(writable.status).toBe(INTEGRITY_EXIT_CODE);
    expect(parseRefusal(writable.stderr)).toEqual({ part: 'node', seen: `replaceable:${path.join(bin, 'node')}` });
    expect(integrityMismatch('srv', { path: runner, kind: 'js', fingerprint: 'x' }, writable.stderr).message).toMatch(/could be replaced by another user.*nothing was run/);
    expect(fs.existsSync(marker)).toBe(false);

    // A link in a safe folder to a binary in a group-writable one is refused too; once that folder is safe, it runs.
    const shared = path.join(dir, 'shared');
    fs.mkdirSync(shared, { mode: 0o775 });
    fs.chmodSync(shared, 0o775);
    fs.renameSync(path.join(bin, 'node'), path.join(shared, 'node'));
    fs.symlinkSync(path.join(shared, 'node'), path.join(bin, 'node'));
    fs.chmodSync(bin, 0o755);
    expect(parseRefusal(run().stderr)).toEqual({ part: 'node', seen: `replaceable:${path.join(bin, 'node')}` });
    fs.chmodSync(shared, 0o755);
    expect(run().status).toBe(0);
    // The binary itself writable by its group: refused.
    fs.chmodSync(path.join(shared, 'node'), 0o775);
    expect(run().status).toBe(INTEGRITY_EXIT_CODE);
  });
});
