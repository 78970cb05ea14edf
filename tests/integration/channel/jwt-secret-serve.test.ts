// Serve mode with a HELPER_JWT_SECRET shorter than 32 bytes: it prints why and exits non-zero, before listening.
// Needs the built serve entry (flock /tmp/cronium-it.lock npm run build).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../harness/test-core';

const SERVE_ENTRY = path.join(REPO_ROOT, 'dist', 'main', 'serve.cjs');

describe('serve mode with a short HELPER_JWT_SECRET', () => {
  it('prints the reason and exits non-zero', () => {
    if (!fs.existsSync(SERVE_ENTRY)) throw new Error(`${SERVE_ENTRY} is missing; run: flock /tmp/cronium-it.lock npm run build`);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-jwt-serve-'));
    try {
      const r = spawnSync(process.execPath, [SERVE_ENTRY, '--data-dir', dataDir, '--port', '0'], {
        env: { ...process.env, HELPER_JWT_SECRET: 'x' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status).not.toBe(0);
      expect(r.status).not.toBeNull();
      expect(r.stderr).toMatch(/HELPER_JWT_SECRET is 1 bytes long; it must be at least 32 bytes/);
      expect(r.stdout).not.toMatch(/http:\/\/127\.0\.0\.1/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
