// Issue 14 point 5: run-time parameters. An event declares options (choice, number, boolean, string, a secret one);
// a run checks every value at once; bash, python and node scripts get the values as CRONIUM_OPT_<NAME> and through
// input(), in runner-ssh and in direct-ssh mode. The secret value is masked in the stored log and is nowhere in the
// SQLite file (nor its WAL); "run again" asks for it again. A real sshd (harness user k130), real runner, real SQLite.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { RESOURCES_DIR, createTestCore, type TestCore } from '../../harness/test-core';
import { EventInput } from '../../../src-shared/contract/events';
import { ServerInput } from '../../../src-shared/contract/servers';
import { WorkflowInput } from '../../../src-shared/contract/workflows';
import type { JobView } from '../../../src-shared/contract/jobs';
import type { ScriptType } from '../../../src-shared/contract/events';
import { MASK } from '../../../src-shared/logs/secret-masker';
import path from 'node:path';

/** Harness user cronium-k130 (issue 14's range); its ~/.cronium is emptied before and after. */
const USER = 130;
const SECRET = 'hunter2-s3cr3t-value';

let sshd: SshdHandle;
let user: SshdKeyUser;
let tc: TestCore;
let serverId: string;

const OPTIONS = [
  { name: 'region', type: 'choice', choices: ['eu', 'us'], required: true },
  { name: 'count', type: 'number', default: 3 },
  { name: 'dry_run', type: 'boolean', default: false },
  { name: 'label', type: 'string', default: 'plain text' },
  { name: 'token', type: 'string', secret: true, required: true },
];

const SCRIPTS: Record<ScriptType, { runner: string; direct: string }> = {
  bash: {
    runner: 'echo "env $CRONIUM_OPT_REGION $CRONIUM_OPT_COUNT $CRONIUM_OPT_DRY_RUN $CRONIUM_OPT_LABEL $CRONIUM_OPT_TOKEN"\necho "input $(cronium_input)"\n',
    direct: 'echo "env $CRONIUM_OPT_REGION $CRONIUM_OPT_COUNT $CRONIUM_OPT_DRY_RUN $CRONIUM_OPT_LABEL $CRONIUM_OPT_TOKEN"\necho "input $CRONIUM_INPUT"\n',
  },
  python: {
    runner: [
      'import os, json, cronium',
      'e = os.environ',
      'print("env", e["CRONIUM_OPT_REGION"], e["CRONIUM_OPT_COUNT"], e["CRONIUM_OPT_DRY_RUN"], e["CRONIUM_OPT_LABEL"], e["CRONIUM_OPT_TOKEN"])',
      'print("input", json.dumps(cronium.input()))',
    ].join('\n'),
    direct: [
      'import os',
      'e = os.environ',
      'print("env", e["CRONIUM_OPT_REGION"], e["CRONIUM_OPT_COUNT"], e["CRONIUM_OPT_DRY_RUN"], e["CRONIUM_OPT_LABEL"], e["CRONIUM_OPT_TOKEN"])',
      'print("input", e["CRONIUM_INPUT"])',
    ].join('\n'),
  },
  node: {
    runner: [
      "const cronium = require('cronium');",
      'const e = process.env;',
      "console.log('env', e.CRONIUM_OPT_REGION, e.CRONIUM_OPT_COUNT, e.CRONIUM_OPT_DRY_RUN, e.CRONIUM_OPT_LABEL, e.CRONIUM_OPT_TOKEN);",
      "cronium.input().then((v) => console.log('input', JSON.stringify(v)));",
    ].join('\n'),
    direct: [
      'const e = process.env;',
      "console.log('env', e.CRONIUM_OPT_REGION, e.CRONIUM_OPT_COUNT, e.CRONIUM_OPT_DRY_RUN, e.CRONIUM_OPT_LABEL, e.CRONIUM_OPT_TOKEN);",
      "console.log('input', e.CRONIUM_INPUT);",
    ].join('\n'),
  },
};

async function stdoutOf(logId: string): Promise<string[]> {
  const page = await tc.core.logs.store.lines(logId, 0, 10_000);
  return page.lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
}

function resetHome(): void {
  fs.rmSync(path.join(user.home, '.cronium'), { recursive: true, force: true });
}

beforeAll(async () => {
  for (const target of ['js', 'linux-x64']) {
    if (!fs.existsSync(path.join(RESOURCES_DIR, 'runner-artifacts', '1.0.0', target, 'manifest.json'))) {
      throw new Error('runner artifacts are missing; run: bash scripts/with-keyring.sh npm run build:runner');
    }
  }
  sshd = await startSshd({ users: 1, firstUser: USER });
  user = sshd.extraUsers[0]!;
  resetHome();
  tc = await createTestCore();
  await tc.core.start();
  tc.core.settings.update({ flags: { ssh_runner_enabled: true, ssh_runner_auto_deploy: true }, runner: { enabled: true, fallbackToDirect: false } });
  const view = await tc.core.servers.save(ServerInput.parse({
    name: 'params-host', host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey, tags: ['params'],
  }));
  await tc.core.servers.trustHostKey(view.id, sshd.hostKeyFingerprint, false);
  serverId = view.id;
}, 120_000);

afterAll(async () => {
  await tc?.cleanup();
  if (user) resetHome();
  await sshd?.stop();
});

async function saveParamEvent(scriptType: ScriptType, mode: 'runner-ssh' | 'direct-ssh') {
  return tc.core.events.save(EventInput.parse({
    name: `params ${scriptType} ${mode}`, scriptType, executionMode: mode, timeoutSeconds: 120, serverIds: [serverId], options: OPTIONS,
    content: SCRIPTS[scriptType][mode === 'runner-ssh' ? 'runner' : 'direct'],
  }));
}

describe('run-time parameters', () => {
  for (const mode of ['runner-ssh', 'direct-ssh'] as const) {
    for (const scriptType of ['bash', 'python', 'node'] as const) {
      it(`a ${scriptType} script in ${mode} gets every value as CRONIUM_OPT_* and through input(); the secret is masked`, async () => {
        const event = await saveParamEvent(scriptType, mode);
        const run = await tc.core.jobs.startRun({ eventId: event.id, trigger: 'manual', parameters: { region: 'us', count: '7', token: SECRET } });
        const job: JobView = await tc.core.jobs.waitForJob(run.jobs[0]!.id);
        expect(job.status, job.reason ?? '').toBe('SUCCESS');
        const out = await stdoutOf(job.logId!);
        // Defaults fill what was not given; the number form value "7" became 7; the secret is masked in the stored log.
        expect(out[0]).toBe(`env us 7 false plain text ${MASK}`);
        const input = JSON.parse(out[1]!.slice('input '.length)) as Record<string, unknown>;
        expect(input).toEqual({ region: 'us', count: 7, dry_run: false, label: 'plain text', token: MASK });
        expect(out.join('\n')).not.toContain(SECRET);
      }, 180_000);
    }
  }

  it('checks every value at once and names each field', async () => {
    const event = await saveParamEvent('bash', 'direct-ssh');
    const err = await tc.core.jobs.startRun({ eventId: event.id, trigger: 'manual', parameters: { region: 'mars', count: 'many', token: 'x' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_INPUT' });
    const fields = (err as { extra: { fields: Record<string, string> } }).extra.fields;
    expect(Object.keys(fields).sort()).toEqual(['parameters.count', 'parameters.region', 'parameters.token']);
    expect(fields['parameters.region']).toContain('eu, us');
  });

  it('records the run with plain values only; "run again" asks for the secret again and repeats values and targets', async () => {
    const event = await saveParamEvent('bash', 'direct-ssh');
    const first = await tc.core.jobs.startRun({ eventId: event.id, trigger: 'manual', parameters: { region: 'eu', token: SECRET } });
    await tc.core.jobs.waitForJob(first.jobs[0]!.id);
    const run = await tc.core.runs.get(first.runId);
    expect(run.parameters).toEqual({ region: 'eu', count: 3, dry_run: false, label: 'plain text' });
    expect(run.secretParameterNames).toEqual(['token']);
    const reask = await tc.core.runs.runAgain(first.runId).catch((e: unknown) => e);
    expect(reask).toMatchObject({ code: 'INVALID_INPUT', extra: { fields: { 'parameters.token': expect.any(String) }, details: { reask: true } } });
    const again = await tc.core.runs.runAgain(first.runId, { token: SECRET });
    const job = await tc.core.jobs.waitForJob(again.jobs[0]!.id);
    expect(job.status).toBe('SUCCESS');
    expect(again.serverIds).toEqual(run.serverIds);
    expect((await tc.core.runs.get(again.id)).parameters).toEqual(run.parameters);
    expect((await stdoutOf(job.logId!))[0]).toBe(`env eu 3 false plain text ${MASK}`);
  }, 180_000);

  it('a schedule fire uses the event\'s schedule values and a workflow step supplies its own', async () => {
    const plain = OPTIONS.filter((o) => !o.secret);
    const event = await tc.core.events.save(EventInput.parse({
      name: 'params scheduled', scriptType: 'bash', executionMode: 'direct-ssh', timeoutSeconds: 60, serverIds: [serverId], options: plain,
      scheduleParameters: { region: 'eu', count: 9 }, content: 'echo "env $CRONIUM_OPT_REGION $CRONIUM_OPT_COUNT $CRONIUM_OPT_LABEL"\n',
    }));
    const fired = await tc.core.jobs.startRun({ eventId: event.id, trigger: 'schedule' });
    const firedJob = await tc.core.jobs.waitForJob(fired.jobs[0]!.id);
    expect((await stdoutOf(firedJob.logId!))[0]).toBe('env eu 9 plain text');

    const wf = await tc.core.workflows.save(WorkflowInput.parse({
      name: 'params step', nodes: [{ id: 'params-step-a', eventId: event.id, parameters: { region: 'us', label: 'from the step' } }], edges: [],
    }));
    expect(wf.nodes[0]!.parameters).toEqual({ region: 'us', label: 'from the step' });
    const run = await tc.core.workflows.startRun(wf.id, { trigger: 'manual' });
    await tc.core.workflows.waitForRun(run.id);
    const [stepJob] = await tc.core.jobs.list({ workflowRunId: run.id });
    expect(stepJob!.status).toBe('SUCCESS');
    expect((await stdoutOf(stepJob!.logId!))[0]).toBe('env us 3 from the step');

    // A secret option's value is never stored with a step.
    const secretEvent = await saveParamEvent('bash', 'direct-ssh');
    const refused = await tc.core.workflows.save(WorkflowInput.parse({
      name: 'secret step', nodes: [{ id: 'secret-step-a', eventId: secretEvent.id, parameters: { region: 'eu', token: SECRET } }], edges: [],
    })).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'INVALID_WORKFLOW', extra: { fields: { 'nodes.secret-step-a': expect.stringContaining('token') } } });
  }, 120_000);

  it('leaves the secret value nowhere in the SQLite file', async () => {
    // Everything written so far reaches the main file: checkpoint the WAL, then read every file of the database.
    tc.core.db.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    const dbFile = tc.core.db.file;
    const files = [dbFile, `${dbFile}-wal`].filter((f) => fs.existsSync(f));
    expect(files).toContain(dbFile);
    for (const f of files) expect(fs.readFileSync(f).includes(Buffer.from(SECRET)), f).toBe(false);
    // Log lines may be stored compressed, where a byte search proves nothing: read every stored line back decoded.
    const jobs = await tc.core.jobs.list({ limit: 100 });
    expect(jobs.length).toBeGreaterThanOrEqual(8);
    for (const job of jobs) {
      const page = await tc.core.logs.store.lines(job.logId!, 0, 10_000);
      expect(page.lines.length).toBeGreaterThan(0);
      for (const line of page.lines) expect(line.text).not.toContain(SECRET);
      expect(JSON.stringify(job)).not.toContain(SECRET);
    }
    // And no row of any table holds it (the runs keep plain values and the secret's name only).
    const tables = tc.core.db.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    for (const { name } of tables) {
      const rows = tc.core.db.sqlite.prepare(`SELECT * FROM "${name}"`).all();
      expect(JSON.stringify(rows, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v)), name).not.toContain(SECRET);
    }
  });
});
