/**
 * The direct-ssh command line run by a real login shell (bash, and dash as a non-bash shell), its stdin as the executor
 * sends it: the script runs once in bash with its own status, `set -e` still stops it, it reads EOF on stdin, and a
 * short script (read by bash itself) behaves as a long one (read through `cat`).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bootstrapCommand, prelude, readsInline } from '../../../src-main/core/jobs/direct-ssh-executor';

const nonce = '0123abcd';
const shells = ['/bin/bash', '/bin/dash'].filter((s) => fs.existsSync(s));

function run(loginShell: string, content: string, readInline: boolean, scriptType: 'bash' | 'python' = 'bash') {
  const ctx = { jobId: 'j1', attempt: 1, event: { id: 'e1', version: 1, env: { PLAIN: "it's" } }, secrets: { TOKEN: 's3cr3t' }, variables: {}, input: undefined };
  const stdin = prelude(ctx as never, nonce) + content + '\n';
  const r = spawnSync(loginShell, ['-c', bootstrapCommand(scriptType, nonce, readInline)], { input: stdin, encoding: 'utf8' });
  const marker = new RegExp(`^\\x1ecronium-pgid:\\d+:\\d+:${nonce}\\n`);
  return { code: r.status, markerFirst: marker.test(r.stdout), out: r.stdout.replace(marker, ''), err: r.stderr };
}

describe.each(shells)('bootstrapCommand under login shell %s', (shell) => {
  for (const readInline of [true, false]) {
    describe(readInline ? 'script read by bash' : 'script read through cat', () => {
      it('runs the script once in bash, after the marker, with the environment and its own exit status', () => {
        const r = run(shell, 'echo "$PLAIN $TOKEN ${BASH_VERSINFO[0]:+bash} args=$#"; [[ -z ${p+x} ]] && echo clean; exit 7', readInline);
        expect(r.markerFirst).toBe(true);
        expect(r.out).toBe("it's s3cr3t bash args=0\nclean\n");
        expect(r.code).toBe(7);
      });

      it('ends with the status of the last command and honours set -e', () => {
        expect(run(shell, 'echo a; false', readInline)).toMatchObject({ out: 'a\n', code: 1 });
        expect(run(shell, 'set -e\nfalse\necho after', readInline)).toMatchObject({ out: '', code: 1 });
      });

      it('gives the script EOF on stdin, not its own text', () => {
        expect(run(shell, 'cat; echo "done"', readInline)).toMatchObject({ out: 'done\n', code: 0 });
      });
    });
  }

  it.skipIf(spawnSync('python3', ['-c', '']).status !== 0)('runs a python script once', () => {
    const r = run(shell, 'import os; print("py", os.environ["PLAIN"])', false, 'python');
    expect(r).toMatchObject({ markerFirst: true, out: "py it's\n", code: 0 });
  });
});

describe('bootstrapCommand in a bash in POSIX mode', () => {
  it('runs the script out of POSIX mode', () => {
    const stdin = prelude({ jobId: 'j', attempt: 1, event: { id: 'e', version: 1, env: {} }, secrets: {}, variables: {}, input: undefined } as never, nonce) + 'shopt -qo posix && echo posix || echo plain\n';
    const r = spawnSync('/bin/bash', ['--posix', '-c', bootstrapCommand('bash', nonce, true)], { input: stdin, encoding: 'utf8' });
    expect(r.stdout.split('\n')[1]).toBe('plain');
  });
});

it('has bash read a script itself only up to 4 KB (in UTF-8 bytes) and without a NUL byte', () => {
  expect(readsInline('x'.repeat(4096))).toBe(true);
  expect(readsInline('x'.repeat(4097))).toBe(false);
  expect(readsInline('\u00e9'.repeat(2049))).toBe(false); // 4,098 bytes in 2,049 characters
  expect(readsInline('echo a\0b')).toBe(false);
  expect(bootstrapCommand('bash', nonce, true)).toContain('read -r -d');
  expect(bootstrapCommand('bash', nonce, false)).not.toContain('read -r -d');
});
