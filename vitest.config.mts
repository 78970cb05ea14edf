// Test projects: unit (fast, no network, no system services) and integration (real sshd, keyring, SQLite files).
// End-to-end browser tests run under Playwright (playwright.config.ts), not here.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.{ts,tsx}'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Suites share sshd users and network namespaces on one machine: run files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
