/**
 * createTestCore: a real core (SQLite file, migrations from the repo, resources, the listener) in a temp data folder,
 * with an in-memory secret store unless a test brings a real one. cleanup() stops the core and removes the folder
 * it created (never a folder the test passed in).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCore, type Core } from '../../src-main/core/core';
import type { Clock } from '../../src-main/core/clock';
import type { SecretStore } from '../../src-main/core/secrets/secret-store';
import { MemorySecretStore } from '../../src-main/core/secrets/memory-secret-store';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'migrations');
export const RESOURCES_DIR = path.join(REPO_ROOT, 'resources');

export interface TestCoreOptions {
  /** Reuse a data folder (e.g. to re-open a core after a restart); it is left in place by cleanup(). */
  dataDir?: string;
  env?: Record<string, string>;
  secrets?: SecretStore;
  /** The core's clock, e.g. a ManualClock (tests/harness/manual-clock.ts) to drive retries and schedules; default real. */
  clock?: Clock;
}

export interface TestCore {
  core: Core;
  dataDir: string;
  cleanup(): Promise<void>;
}

export async function createTestCore(opts: TestCoreOptions = {}): Promise<TestCore> {
  const ownsDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-test-core-'));
  let core: Core;
  try {
    core = await createCore(
      {
        dataDir,
        migrationsDir: MIGRATIONS_DIR,
        resourcesDir: RESOURCES_DIR,
        mode: 'serve',
        appVersion: '0.0.0-test',
        env: opts.env ?? {},
      },
      { secrets: opts.secrets ?? new MemorySecretStore(), clock: opts.clock },
    );
  } catch (err) {
    if (ownsDir) fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    core,
    dataDir,
    async cleanup() {
      await core.stop();
      if (ownsDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
