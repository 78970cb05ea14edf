/**
 * A whole app in a child process, for the restart suite: creates the core on a data folder (the real keychain of the
 * test's keyring session), starts it, runs one event, prints {"jobId": ...} once the job is RUNNING, and then just
 * keeps running until the test SIGKILLs it. Arguments: <dataDir> <migrationsDir> <resourcesDir> <eventId>.
 */
import { createCore } from '../../../src-main/core/core';
import { KeytarSecretStore } from '../../../src-main/core/secrets/keytar-secret-store';

async function main(): Promise<void> {
  const [dataDir, migrationsDir, resourcesDir, eventId] = process.argv.slice(2);
  const core = await createCore(
    { dataDir, migrationsDir, resourcesDir, mode: 'serve', appVersion: '0.0.0-test', env: {} },
    { secrets: new KeytarSecretStore() },
  );
  await core.start();
  const [job] = await core.jobs.runEvent({ eventId, trigger: 'manual' });
  for (;;) {
    const j = await core.jobs.get(job.id);
    if (j.status === 'RUNNING') break;
    if (['SUCCESS', 'FAILURE', 'TIMEOUT', 'CANCELLED', 'PARTIAL'].includes(j.status)) throw new Error(`the job ended before the test could kill the app: ${j.status} ${j.reason}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  process.stdout.write(JSON.stringify({ jobId: job.id }) + '\n');
  setInterval(() => undefined, 1 << 30);
}

main().catch((err) => {
  process.stderr.write(`app-process: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
