// Stands in for a test run that is killed halfway: starts an sshd on loopback and a namespace host with its own sshd,
// prints what it made as one JSON line, then waits to be SIGKILLed (so no exit handler cleans anything up).
// Bundled and run as a child process by harness-repair.test.ts.
import { startSshd } from '../../harness/sshd';
import { createHost } from '../../harness/netns';

async function main(): Promise<void> {
  const sshd = await startSshd({ users: 1 });
  const host = await createHost('leftover', 249);
  const inner = await host.startSshd();
  process.stdout.write(`${JSON.stringify({ sshdPid: sshd.pid, port: sshd.port, namespace: host.name, innerPid: inner.pid })}\n`);
  setInterval(() => undefined, 60_000);
}

main().catch((err) => {
  process.stderr.write(`${String(err?.stack ?? err)}\n`);
  process.exit(1);
});
