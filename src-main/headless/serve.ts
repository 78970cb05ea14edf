/**
 * Serve mode's entry point (dist/main/serve.cjs): the same core and router as the desktop app, headless, reached from
 * a browser through ServeHost on 127.0.0.1. It owns start-up order and shutdown on SIGINT/SIGTERM; it must never bind
 * anything but loopback, and never print a secret (the access token is the one value it prints, by design).
 */
import path from 'node:path';
import { version as appVersion } from '../../package.json';
import { createCore, type Core } from '../core/core';
import { KeytarSecretStore } from '../core/secrets/keytar-secret-store';
import { createHandlers } from '../rpc/handlers';
import { Router } from '../rpc/router';
import { parseServeOptions, ServeUsageError } from './serve-options';
import { startServeHost, type ServeHost } from './serve-host';
import { messageOf } from '../core/errors';
import { preparePrivateDataDir } from '../core/db/database';

/** The stdout line tests and scripts wait for; exactly one is printed per start. */
export const SERVE_READY_PREFIX = 'Cronium Desktop (serve mode) ready:';

async function main(): Promise<void> {
  const options = parseServeOptions(process.argv.slice(2), process.env);
  // dist/main/serve.cjs -> the repository (or install) root holds migrations/, resources/ and dist/renderer/.
  const root = path.resolve(__dirname, '..', '..');
  // 0700 at creation, and put back to 0700 at each start (the database files themselves: see openDatabase).
  preparePrivateDataDir(options.dataDir);

  // Filled in as start-up proceeds, so a signal during start-up stops whatever already runs.
  const running: { core?: Core; host?: ServeHost } = {};
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`Cronium Desktop (serve mode): ${signal} received, stopping.`);
    try {
      await running.host?.close();
      await running.core?.stop();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const core = await createCore(
    {
      dataDir: options.dataDir,
      migrationsDir: path.join(root, 'migrations'),
      resourcesDir: path.join(root, 'resources'),
      mode: 'serve',
      appVersion,
      env: process.env,
    },
    { secrets: new KeytarSecretStore() },
  );
  running.core = core;
  await core.start();
  const router = new Router(createHandlers(core), core.bus, [core.logs.stream]);
  const host = await startServeHost({
    router,
    renderDir: path.join(root, 'dist', 'renderer'),
    port: options.port,
    metrics: async () => ({ contentType: core.metrics.contentType, body: await core.metrics.text() }),
  });

  running.host = host;
  try {
    await core.secrets.check();
  } catch (err) {
    // The app still runs: the Dashboard shows the same message, and features that need secrets refuse clearly.
    console.warn(`Keychain unavailable: ${messageOf(err)}`);
  }
  console.log(`Data folder: ${options.dataDir}`);
  console.log(`${SERVE_READY_PREFIX} ${host.url}`);
}

main().catch((err) => {
  if (err instanceof ServeUsageError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(`Cronium Desktop (serve mode) could not start: ${messageOf(err)}`);
  if (err instanceof Error && err.stack && !(err as { code?: string }).code) console.error(err.stack);
  process.exit(1);
});
