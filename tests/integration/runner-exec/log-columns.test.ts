// Issue 18 item 2, against a real OpenSSH sshd and the built runner: a runner that offers log-columns-v1 is asked for
// column-wise log batches, and a job's lines (both streams, a masked secret, a line cut at the wire bound, non-ASCII)
// still arrive exactly once and in order. Users cronium-k190 and k191 belong to this file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { MASK } from '../../../src-shared/logs/secret-masker';
import { MAX_LINE_CHARS } from '../../../src-shared/protocol/runner-wire';
import { addServer, linesOf, requireRunnerBuild, resetHome, saveEvent, start } from './runner-exec-fixtures';

const LINES = 100_000;
let sshd: SshdHandle;
let user: SshdKeyUser;
let tc: TestCore;
let serverId: string;

beforeAll(async () => {
  requireRunnerBuild();
  sshd = await startSshd({ users: 2, firstUser: 190 });
  user = sshd.extraUsers[0];
  resetHome(user);
  tc = await createTestCore();
  await tc.core.start();
  serverId = await addServer(tc.core, sshd, user, 'log-columns');
}, 120_000);

afterAll(async () => {
  await tc?.cleanup();
  if (user) resetHome(user);
  await sshd?.stop();
});

describe('column-wise log batches from a real runner', () => {
  it('streams every line exactly once, in order, masked, with the batches sent column-wise', async () => {
    const secret = `pw-${Math.random().toString(36).slice(2)}-columns`;
    const event = await saveEvent(tc.core, serverId, {
      scriptType: 'bash',
      secrets: [{ name: 'API_TOKEN', value: secret }],
      content: [
        'echo "secret is $API_TOKEN"',
        `awk 'BEGIN { for (i = 1; i <= ${LINES}; i++) { if (i % 10 == 0) print "err " i > "/dev/stderr"; else print "line " i " é✓" } }'`,
        `head -c ${MAX_LINE_CHARS + 10} /dev/zero | tr '\\0' x; echo`,
        'echo "tail $API_TOKEN!"',
        '',
      ].join('\n'),
    });
    const before = tc.core.runnerStreams.columnBatches;
    const refusedBefore = tc.core.runnerStreams.refusedMessages;
    const job = await start(tc.core, event.id);
    const done = await tc.core.jobs.waitForJob(job.id);
    expect(done).toMatchObject({ status: 'SUCCESS', exitCode: 0, executionMode: 'runner-ssh' });

    const lines = (await linesOf(tc.core, done.logId!)).filter((l) => l.stream !== 'system');
    // Every runner line once, numbered 1..n without a gap.
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => lines[0].seq + i));
    const stdout = lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
    const stderr = lines.filter((l) => l.stream === 'stderr').map((l) => l.text);
    const expectedOut = [`secret is ${MASK}`];
    const expectedErr: string[] = [];
    for (let i = 1; i <= LINES; i++) (i % 10 === 0 ? expectedErr : expectedOut).push(i % 10 === 0 ? `err ${i}` : `line ${i} é✓`);
    expectedOut.push('x'.repeat(MAX_LINE_CHARS), 'x'.repeat(10), `tail ${MASK}!`);
    expect(stdout.length).toBe(expectedOut.length);
    expect(stdout).toEqual(expectedOut);
    expect(stderr).toEqual(expectedErr);
    expect(lines.some((l) => l.text.includes(secret))).toBe(false);

    const log = await tc.core.logs.store.get(done.logId!);
    expect((log.runnerMetadata as { capabilities?: string[] }).capabilities).toContain('log-columns-v1');
    expect(tc.core.runnerStreams.columnBatches).toBeGreaterThan(before);
    expect(tc.core.runnerStreams.refusedMessages).toBe(refusedBefore);
  }, 180_000);
});
