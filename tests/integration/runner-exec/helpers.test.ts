// Helpers in runner mode, for bash, python and node scripts: input, output, getVariable, setVariable, setCondition and
// event travel script -> runner (unix socket) -> app (the job's authenticated socket) and back; variables persist in
// the variables table, output and condition land on the job. Also: cancel and timeout end the whole process group.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshdKeyUser } from '../../harness/sshd';
import type { TestCore } from '../../harness/test-core';
import { FIRST_USER, processesOf, runAndWait, saveEvent, start, startRunnerSuite, stdoutOf, waitFor, type RunnerSuite } from './runner-exec-fixtures';

let suite: RunnerSuite;
let tc: TestCore;
let user: SshdKeyUser;
let serverId: string;

beforeAll(async () => {
  suite = await startRunnerSuite({ userIndex: FIRST_USER + 3, serverName: 'runner-helpers' });
  ({ tc, user, serverId } = suite);
}, 120_000);

afterAll(async () => {
  await suite?.stop();
});

async function variable(scope: string, key: string): Promise<string | null | undefined> {
  return (await tc.core.db.kysely.selectFrom('variables').select('value').where('scope', '=', scope).where('key', '=', key).executeTakeFirst())?.value;
}

describe('helpers in runner mode', () => {
  describe('when a bash script uses the helpers', () => {
    it('sets and reads a variable, reads its input and event, and stores output and condition on the job', async () => {
      const event = await saveEvent(tc.core, serverId, {
        scriptType: 'bash',
        content: [
          'cronium_set_variable greeting "hello there" global',
          'echo "got $(cronium_get_variable greeting)"',
          'echo "input $(cronium_input)"',
          'echo "event $(cronium_event)"',
          `cronium_output '{"n": 1, "from": "bash"}'`,
          'cronium_set_condition true',
          '',
        ].join('\n'),
      });
      const job = await runAndWait(tc.core, event.id, { input: { step: 'previous', value: 42 } });
      expect(job).toMatchObject({ status: 'SUCCESS', output: { n: 1, from: 'bash' }, condition: true });
      const out = await stdoutOf(tc.core, job.logId!);
      expect(out[0]).toBe('got hello there');
      expect(JSON.parse(out[1].slice('input '.length))).toEqual({ step: 'previous', value: 42 });
      expect(JSON.parse(out[2].slice('event '.length))).toMatchObject({ eventId: event.id, jobId: job.id, eventName: event.name, eventVersion: event.version });
      expect(await variable('global', 'greeting')).toBe('hello there');
    }, 120_000);
  });

  describe('when a python script uses the helpers', () => {
    it('works the same way (event-scoped variable, condition false)', async () => {
      const event = await saveEvent(tc.core, serverId, {
        scriptType: 'python',
        content: [
          'import cronium',
          'cronium.setVariable("snake", "python-value", "event")',
          'print("got", cronium.getVariable("snake"))',
          'print("greeting", cronium.getVariable("greeting"))',
          'print("input", cronium.input())',
          'cronium.output({"lang": "python", "items": [1, 2, 3]})',
          'cronium.setCondition(False)',
          '',
        ].join('\n'),
      });
      const job = await runAndWait(tc.core, event.id, { input: 'plain text' });
      expect(job).toMatchObject({ status: 'SUCCESS', output: { lang: 'python', items: [1, 2, 3] }, condition: false });
      expect(await stdoutOf(tc.core, job.logId!)).toEqual(['got python-value', 'greeting hello there', 'input plain text']);
      expect(await variable(`event:${event.id}`, 'snake')).toBe('python-value');
    }, 120_000);
  });

  describe('when a node script uses the helpers', () => {
    it('works the same way with promises', async () => {
      const event = await saveEvent(tc.core, serverId, {
        scriptType: 'node',
        content: [
          "const cronium = require('cronium');",
          '(async () => {',
          "  await cronium.setVariable('js', 'node-value');",
          "  console.log('got ' + (await cronium.getVariable('js')));",
          "  console.log('missing ' + (await cronium.getVariable('no-such-variable')));",
          "  console.log('job ' + ((await cronium.event()).jobId.length));",
          "  await cronium.output(['a', 'b']);",
          '  await cronium.setCondition(true);',
          '})().catch((e) => { console.error(e); process.exit(1); });',
          '',
        ].join('\n'),
      });
      const job = await runAndWait(tc.core, event.id);
      expect(job).toMatchObject({ status: 'SUCCESS', output: ['a', 'b'], condition: true });
      expect(await stdoutOf(tc.core, job.logId!)).toEqual(['got node-value', 'missing null', 'job 36']);
      // No scope given: the event's own scope (global needs asking for).
      expect(await variable(`event:${event.id}`, 'js')).toBe('node-value');
      expect(await variable('global', 'js')).toBeUndefined();
    }, 120_000);
  });

  describe('when the user cancels a runner job', () => {
    it('ends the whole process group on the server, background children included', async () => {
      const marker = `sleep 3${Math.floor(Math.random() * 1000)}`;
      const event = await saveEvent(tc.core, serverId, { scriptType: 'bash', content: `${marker} &\necho started\n${marker}\n` });
      const job = await start(tc.core, event.id);
      await waitFor('the script to start', async () => {
        const j = await tc.core.jobs.get(job.id);
        return j.logId && (await stdoutOf(tc.core, j.logId)).includes('started') && processesOf(user.username, marker).length === 2;
      }, 60_000);
      const cancelled = await tc.core.jobs.cancel(job.id);
      expect(cancelled.status).toBe('CANCELLED');
      expect(cancelled.reason).toMatch(/process group/);
      await waitFor('no process of the group left', () => processesOf(user.username, marker).length === 0, 10_000);
    }, 120_000);
  });

  describe('when a runner job runs past its timeout', () => {
    it('ends it as TIMEOUT and leaves nothing running', async () => {
      const marker = `sleep 4${Math.floor(Math.random() * 1000)}`;
      const event = await saveEvent(tc.core, serverId, { scriptType: 'bash', content: `echo begin\n${marker}\n`, timeoutSeconds: 2 });
      const job = await runAndWait(tc.core, event.id);
      expect(job.status).toBe('TIMEOUT');
      expect(job.reason).toMatch(/within 2 s/);
      expect(await stdoutOf(tc.core, job.logId!)).toEqual(['begin']);
      await waitFor('no process left', () => processesOf(user.username, marker).length === 0, 10_000);
    }, 120_000);
  });
});
