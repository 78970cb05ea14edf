// Variables cannot take over later jobs, and secrets stay masked in the forms scripts print them in (real sshd, real
// runner, two servers = two harness users). A runner-mode script's setVariable('BASH_ENV' / 'LD_PRELOAD' / ...) is
// refused with VARIABLE_NAME_REFUSED and stores nothing; a direct-ssh job on the other server never gets a variable
// under its own name, even one planted in the table before the rule (it arrives as CRONIUM_VAR_<name>), so a planted
// BASH_ENV does not run. A secret printed raw, JSON-escaped, URL-encoded and base64, and given as the job's output,
// is masked in the stored log and the output; a secret variable the script creates is masked in its later lines.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { MASK } from '../../../src-shared/logs/secret-masker';
import { addServer, requireRunnerBuild, resetHome, runAndWait, saveEvent, stdoutOf } from './runner-exec-fixtures';

/** Harness users only this file uses (other suites stop at 27). */
const USER_RUNNER = 28;
const USER_DIRECT = 29;

let sshd: SshdHandle;
let runnerUser: SshdKeyUser;
let directUser: SshdKeyUser;
let tc: TestCore;
let runnerServer: string;
let directServer: string;

beforeAll(async () => {
  requireRunnerBuild();
  sshd = await startSshd({ users: USER_DIRECT + 1 });
  runnerUser = sshd.extraUsers[USER_RUNNER];
  directUser = sshd.extraUsers[USER_DIRECT];
  resetHome(runnerUser);
  tc = await createTestCore();
  await tc.core.start();
  runnerServer = await addServer(tc.core, sshd, runnerUser, 'vars-runner');
  directServer = await addServer(tc.core, sshd, directUser, 'vars-direct');
}, 120_000);

afterAll(async () => {
  await tc?.cleanup();
  if (runnerUser) resetHome(runnerUser);
  await sshd?.stop();
});

const REFUSED = ['BASH_ENV', 'ENV', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'NODE_OPTIONS', 'PYTHONSTARTUP', 'PYTHONPATH', 'PERL5OPT', 'RUBYOPT', 'PATH', 'IFS', 'PS4', 'SHELLOPTS'];

describe('variable names that change how interpreters start', () => {
  it('are refused from a runner-mode script in bash and python, and a later direct-ssh job on another server is unaffected', async () => {
    const marker = path.join(directUser.home, 'pwned');
    fs.rmSync(marker, { force: true });
    const bash = await saveEvent(tc.core, runnerServer, {
      scriptType: 'bash',
      content: [
        `for n in ${REFUSED.join(' ')}; do`,
        `  if out=$(cronium_set_variable "$n" 'touch ${marker}' global 2>&1); then echo "accepted $n"; else echo "refused $n: $out"; fi`,
        'done',
        'cronium_set_variable greeting "hello" global',
        '',
      ].join('\n'),
    });
    const job = await runAndWait(tc.core, bash.id);
    expect(job, job.reason ?? '').toMatchObject({ status: 'SUCCESS' });
    const lines = await stdoutOf(tc.core, job.logId!);
    expect(lines).toHaveLength(REFUSED.length);
    for (const [i, name] of REFUSED.entries()) expect(lines[i]).toMatch(new RegExp(`^refused ${name}: cronium setVariable: ${name}`));

    const python = await saveEvent(tc.core, runnerServer, {
      scriptType: 'python',
      content: [
        'import cronium',
        'try:',
        '    cronium.setVariable("BASH_ENV", "/tmp/x", "global")',
        '    print("accepted")',
        'except RuntimeError as e:',
        '    print("refused", e)',
        '',
      ].join('\n'),
    });
    const pyJob = await runAndWait(tc.core, python.id);
    expect(await stdoutOf(tc.core, pyJob.logId!)).toEqual([expect.stringMatching(/^refused cronium\.setVariable: BASH_ENV changes how/)]);

    const stored = await tc.core.db.kysely.selectFrom('variables').select(['scope', 'key', 'set_by_job_id']).execute();
    expect(stored).toEqual([{ scope: 'global', key: 'greeting', set_by_job_id: job.id }]);

    // A row planted before the rule existed (or by hand) still never reaches a script under its own name.
    fs.writeFileSync(path.join('/tmp', `cronium-bash-env-${process.pid}`), `touch ${marker}\n`, { mode: 0o644 });
    await tc.core.db.kysely
      .insertInto('variables')
      .values({ id: 'planted', scope: 'global', key: 'BASH_ENV', value: `/tmp/cronium-bash-env-${process.pid}`, secret_ref: null, updated_at: new Date().toISOString(), set_by_job_id: null })
      .execute();
    const direct = await saveEvent(tc.core, directServer, {
      scriptType: 'bash',
      executionMode: 'direct-ssh',
      content: 'echo "BASH_ENV=${BASH_ENV:-unset} prefixed=${CRONIUM_VAR_BASH_ENV:+set} greeting=$CRONIUM_VAR_greeting own=${greeting:-unset}"\nbash -c "echo child"\n',
    });
    const directJob = await runAndWait(tc.core, direct.id);
    expect(directJob.status).toBe('SUCCESS');
    expect(await stdoutOf(tc.core, directJob.logId!)).toEqual(['BASH_ENV=unset prefixed=set greeting=hello own=unset', 'child']);
    expect(fs.existsSync(marker)).toBe(false);
    fs.rmSync(path.join('/tmp', `cronium-bash-env-${process.pid}`), { force: true });
  }, 180_000);
});

describe('secret masking in the forms scripts print secrets in', () => {
  it('masks a secret printed raw, JSON-escaped, URL-encoded and base64, in the output, and a secret variable created mid-job', async () => {
    const secret = 's3cr3t "tok"/en-42';
    const event = await saveEvent(tc.core, runnerServer, {
      scriptType: 'python',
      secrets: [{ name: 'API_TOKEN', value: secret }],
      content: [
        'import base64, functools, json, os, urllib.parse, cronium',
        'print = functools.partial(print, flush=True)',
        't = os.environ["API_TOKEN"]',
        'print("raw", t)',
        'print("json", json.dumps({"token": t}))',
        'print("url", urllib.parse.quote(t), urllib.parse.quote_plus(t))',
        'print("b64", base64.b64encode(t.encode()).decode())',
        'print("b64-in-blob", base64.b64encode(b"user:" + t.encode()).decode())',
        'cronium.setVariable("late_token", "late-secret-value-7", secret=True)',
        'print("learned after", "late-secret-value-7")',
        'cronium.output({"token": t, "note": "ok"})',
        '',
      ].join('\n'),
    });
    const job = await runAndWait(tc.core, event.id);
    expect(job, job.reason ?? '').toMatchObject({ status: 'SUCCESS' });
    const lines = await stdoutOf(tc.core, job.logId!);
    const all = lines.join('\n');
    expect(all).not.toContain('s3cr3t');
    expect(all).not.toContain('en-42');
    expect(all).not.toContain(Buffer.from(secret).toString('base64').slice(0, 16));
    expect(lines[0]).toBe(`raw ${MASK}`);
    expect(lines[1]).toBe(`json {"token": "${MASK}"}`);
    expect(lines[2]).toBe(`url ${MASK} ${MASK}`);
    expect(lines[3]).toMatch(new RegExp(`^b64 ${MASK}.{0,3}$`));
    expect(lines[4]).toContain(MASK);
    expect(lines[5]).toBe(`learned after ${MASK}`);
    expect(job.output).toEqual({ token: MASK, note: 'ok' });
  }, 180_000);
});
