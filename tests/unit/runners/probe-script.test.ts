// The deployer's probe, run by a real /bin/sh in a throwaway HOME: it reports the runner and runtime files there with
// their sha256, and a file whose path holds a line break (which would print extra `runner=` / `runnerfp=` lines) is
// never reported.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { parseProbe, probeScript } from '../../../src-main/core/runners/runner-deployer';

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-probe-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const probe = () => parseProbe(execFileSync('sh', ['-c', probeScript()], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home } }));
const sha = (file: string) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;

it('reports a real runner file with its sha256', () => {
  const file = path.join(home, '.cronium/runners/1.0.0/cronium-runner.cjs');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'console.log(1)\n');
  const p = probe();
  expect(p.runners.get(file)).toBe(sha(file));
  expect(p.fingerprints.get(file)).toMatch(/^\d+:/);
});

it('never reports a file whose path holds a line break, so no probe line can be forged by a file name', () => {
  // A name cannot hold a slash, so a forged line can only name a relative path; still, nothing from such a name is taken.
  const forgedName = `x\nrunner=${'a'.repeat(64)} forged\nrunnerfp=1:2:3:4:5 forged\ny`;
  const file = path.join(home, '.cronium/runners', forgedName, 'cronium-runner');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'planted\n');
  const p = probe();
  expect([...p.runners.keys()]).toEqual([]);
  expect([...p.fingerprints.keys()]).toEqual([]);
});

it("removes stale uploads only when install asks for it (the deploy's own probe), never the runner files", () => {
  const runner = path.join(home, '.cronium/runners/1.0.0/cronium-runner.cjs');
  const stale = [path.join(home, '.cronium/runners/1.0.0/.cronium-runner.0badc0ffee00.gz'), path.join(home, '.cronium/runtimes/20.0.0-linux-x64/.cronium-runner.0badc0ffee01')];
  for (const f of [runner, ...stale]) {
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, 'x\n');
  }
  execFileSync('sh', ['-c', probeScript()], { env: { PATH: process.env.PATH, HOME: home } });
  for (const f of stale) expect(fs.existsSync(f)).toBe(true);
  execFileSync('sh', ['-c', probeScript(new Map(), { clearStaleUploads: true })], { env: { PATH: process.env.PATH, HOME: home } });
  for (const f of stale) expect(fs.existsSync(f)).toBe(false);
  expect(fs.existsSync(runner)).toBe(true);
});

it('reports the platform, free disk, tools and an executable home, and makes ~/.cronium private, on a fresh home and again', () => {
  for (const round of [1, 2]) {
    const p = probe();
    expect(p.home, `round ${round}`).toBe(home);
    expect(p.unameS).toBe(execFileSync('uname', ['-s'], { encoding: 'utf8' }).trim());
    expect(p.unameM).toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
    expect(p.freeBytes).toBeGreaterThan(0);
    expect(p.mount).toMatch(/^\//);
    expect(p.hasGzip).toBe(true);
    expect(p.canExec).toBe(true);
    expect(fs.statSync(path.join(home, '.cronium')).mode & 0o777).toBe(0o700);
    // The exec check leaves nothing behind.
    expect(fs.readdirSync(path.join(home, '.cronium/runners'))).toEqual([]);
  }
});

it("reports the server's node with its real path (symlinks resolved), the key its handshake is remembered by", () => {
  const p = probe();
  const node = execFileSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).trim();
  expect(p.nodeVersion).toBe(execFileSync(node, ['-v'], { encoding: 'utf8' }).trim());
  expect(p.nodePath).toBe(fs.realpathSync(node));
  // Without a usable node there is no path either.
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-probe-bin-'));
  try {
    for (const t of ['uname', 'df', 'sha256sum', 'gzip', 'stat', 'readlink', 'id', 'chmod', 'mkdir', 'rm', 'cut']) {
      const real = execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim();
      if (real) fs.symlinkSync(real, path.join(bin, t));
    }
    const without = parseProbe(execFileSync('/bin/sh', ['-c', probeScript()], { encoding: 'utf8', env: { PATH: bin, HOME: home } }));
    expect(without.nodeVersion).toBeNull();
    expect(without.nodePath).toBeNull();
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
});
