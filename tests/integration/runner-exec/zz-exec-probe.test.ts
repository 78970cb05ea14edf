import { execFileSync } from 'node:child_process';
import { it } from 'vitest';
import { startSshd } from '../../harness/sshd';
import { createTestCore } from '../../harness/test-core';
import { addServer, resetHome, saveEvent, start, waitFor, linesOf, sshdSessionPids, FIRST_USER, USERS_NEEDED } from './runner-exec-fixtures';

it('probe', async () => {
  const sshd = await startSshd({ users: USERS_NEEDED });
  const user = sshd.extraUsers[FIRST_USER]!;
  console.log('USER', user.username);
  resetHome(user);
  const tc = await createTestCore();
  await tc.core.start();
  const serverId = await addServer(tc.core, sshd, user, 'probe');
  const warm = await saveEvent(tc.core, serverId, { scriptType: 'bash', content: 'echo warm\n' });
  console.log('WARM', (await tc.core.jobs.waitForJob((await start(tc.core, warm.id)).id)).status, 'PIDS-after-warm', sshdSessionPids(user.username));
  const ev = await saveEvent(tc.core, serverId, { scriptType: 'bash', content: 'for i in $(seq 1 20000); do echo "line $i"; if [ $((i % 500)) -eq 0 ]; then sleep 0.1; fi; done\n' });
  const job = await start(tc.core, ev.id);
  const logId = await waitFor('log', async () => (await tc.core.jobs.get(job.id)).logId);
  await waitFor('lines', async () => (await linesOf(tc.core, logId)).length > 600, 60_000, 20);
  console.log('PS>>>\n' + execFileSync('ps', ['-eo', 'pid=,user=,args='], { encoding: 'utf8' }).split('\n').filter((l) => /sshd|cronium/.test(l)).join('\n'));
  console.log('PIDS', sshdSessionPids(user.username));
  console.log('JOB', JSON.stringify(await tc.core.jobs.get(job.id)));
  await tc.core.jobs.waitForJob(job.id);
  await tc.cleanup();
  resetHome(user);
  await sshd.stop();
}, 120_000);
