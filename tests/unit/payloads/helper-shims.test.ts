// The bash helper shim hands values to the runner's helper client on stdin, never on its argv (where `ps` shows
// them): real bash sources the shim with a stand-in client that records its arguments and its stdin.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASH_SHIM } from '../../../src-main/core/payloads/helper-shims';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-shim-'));
  fs.writeFileSync(path.join(dir, 'cronium.sh'), BASH_SHIM);
  // Stand-in for `cronium-runner helper`: prints its argv and what it read on stdin.
  fs.writeFileSync(path.join(dir, 'client'), '#!/bin/bash\nprintf "argv:%s|" "$@"; printf "stdin:%s\\n" "$(cat)"\n', { mode: 0o755 });
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(script: string): string {
  return execFileSync('bash', ['-c', `. ${dir}/cronium.sh\n${script}`], { env: { CRONIUM_RUNNER_EXEC: path.join(dir, 'client'), PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
}

describe('bash helper shim', () => {
  it('passes setVariable and output values on stdin only', () => {
    const value = 'very secret value with spaces';
    expect(run(`cronium_set_variable token "${value}"`)).toBe(`argv:helper|argv:setVariable|argv:token|argv:-|stdin:${value}\n`);
    expect(run(`cronium_set_variable token "${value}" global`)).toBe(`argv:helper|argv:setVariable|argv:token|argv:-|argv:global|stdin:${value}\n`);
    expect(run(`cronium_set_secret_variable token "${value}"`)).toBe(`argv:helper|argv:setVariable|argv:token|argv:-|argv:secret|stdin:${value}\n`);
    expect(run(`cronium_output '{"a": 1}'`)).toBe('argv:helper|argv:output|argv:-|stdin:{"a": 1}\n');
  });
});
