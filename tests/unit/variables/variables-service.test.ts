// VariablesService: names that change how interpreters start are refused with a typed error; a job's setVariable
// writes its event's scope unless 'global' is asked for; each row records the job that set it; concurrent first
// sets of one key leave one row; secret variables live in the keychain, need 3 characters and stay secret.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { systemClock } from '../../../src-main/core/clock';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { VariablesService } from '../../../src-main/core/variables/variables-service';
import { REFUSED_VARIABLE_NAMES } from '../../../src-shared/contract/variable-names';
import { EventInput } from '../../../src-shared/contract/events';
import { MIGRATIONS_DIR } from '../../harness/test-core';
import { ErrorCode } from '../../../src-shared/errors';

let dir: string;
let db: AppDatabase;
let secrets: MemorySecretStore;
let vars: VariablesService;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-vars-'));
  db = openDatabase(path.join(dir, 'db.sqlite'), MIGRATIONS_DIR);
  secrets = new MemorySecretStore();
  vars = new VariablesService({ db, secrets, clock: systemClock });
});

afterEach(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const job = { eventId: 'ev1', jobId: 'job-1' };

describe('VariablesService.set', () => {
  it('refuses every listed name and the refused prefixes with VARIABLE_NAME_REFUSED', async () => {
    for (const name of [...REFUSED_VARIABLE_NAMES, 'LD_PRELOAD', 'PYTHONSTARTUP', 'PERL5OPT', 'RUBYOPT', 'NODE_OPTIONS', 'BASH_FUNC_x%%', 'CRONIUM_JOB_ID']) {
      for (const scope of [undefined, 'global'] as const) {
        await expect(vars.set(name, 'x', { ...job, scope }), name).rejects.toMatchObject({ code: ErrorCode.VARIABLE_NAME_REFUSED });
      }
    }
    expect(await db.kysely.selectFrom('variables').selectAll().execute()).toEqual([]);
  });

  it('writes the event scope by default and global only when asked, recording the job', async () => {
    await vars.set('greeting', 'hi', job);
    await vars.set('shared', 'all', { ...job, scope: 'global' });
    const rows = await vars.list();
    expect(rows.map((r) => [r.scope, r.key, r.value, r.setByJobId])).toEqual([
      ['event:ev1', 'greeting', 'hi', 'job-1'],
      ['global', 'shared', 'all', 'job-1'],
    ]);
    expect(await vars.get('greeting', { eventId: 'other' })).toBeNull();
  });

  it('needs the explicit global scope for a job without an event', async () => {
    await expect(vars.set('k', 'v', { eventId: null, jobId: 'j' })).rejects.toMatchObject({ code: ErrorCode.INVALID_INPUT });
    await vars.set('k', 'v', { eventId: null, jobId: 'j', scope: 'global' });
    expect(await vars.get('k', { eventId: null })).toBe('v');
  });

  it('leaves one row when many jobs set the same new key at once', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => vars.set('race', `v${i}`, { eventId: 'ev1', jobId: `job-${i}` })));
    const rows = await db.kysely.selectFrom('variables').selectAll().where('key', '=', 'race').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0].value).toBe(`v${rows[0].set_by_job_id!.slice(4)}`);
  });

  it('keeps a secret variable in the keychain, refuses one under 3 characters, and keeps it secret when set again', async () => {
    await expect(vars.set('tok', 'ab', { ...job, secret: true })).rejects.toMatchObject({ code: ErrorCode.SECRET_TOO_SHORT });
    expect(await vars.set('tok', 'abc-secret', { ...job, secret: true })).toEqual({ secret: true });
    expect(await vars.set('tok', 'second-value', job)).toEqual({ secret: true });
    const [row] = await db.kysely.selectFrom('variables').selectAll().execute();
    expect(row.value).toBeNull();
    expect(await secrets.get(row.secret_ref!)).toBe('second-value');
    expect(await vars.read('tok', { eventId: 'ev1' })).toEqual({ value: 'second-value', secret: true });
    expect((await vars.list())[0]).toMatchObject({ key: 'tok', secret: true, value: null });
  });
});

describe('VariablesService.secretsUsedBy', () => {
  it('gives only the secret variables whose name the script mentions', async () => {
    await vars.set('used_token', 'value-one', { ...job, secret: true });
    await vars.set('other_token', 'value-two', { ...job, scope: 'global', secret: true });
    await vars.set('plain', 'not-secret', job);
    expect(await vars.secretsUsedBy({ id: 'ev1', content: 'cronium_get_variable used_token\necho plain' })).toEqual(['value-one']);
  });
});

describe('event env and secrets', () => {
  const base = { name: 'e', scriptType: 'bash', content: 'echo', timeoutSeconds: 5, serverIds: ['s'] } as const;
  it('refuses refused names in the plain env and in secret names, and secret values under 3 characters', () => {
    expect(EventInput.safeParse({ ...base, env: { BASH_ENV: '/tmp/x' } }).success).toBe(false);
    expect(EventInput.safeParse({ ...base, env: { LD_PRELOAD: '/tmp/x' } }).success).toBe(false);
    expect(EventInput.safeParse({ ...base, secrets: [{ name: 'PYTHONSTARTUP', value: 'abcdef' }] }).success).toBe(false);
    const short = EventInput.safeParse({ ...base, secrets: [{ name: 'TOKEN', value: 'ab' }] });
    expect(short.success).toBe(false);
    expect(short.error?.issues[0].message).toMatch(/at least 3 characters/);
    expect(EventInput.safeParse({ ...base, env: { GREETING: 'hi' }, secrets: [{ name: 'TOKEN', value: 'abc' }] }).success).toBe(true);
  });
});

describe('VariablesService.forJob', () => {
  it('hands a job every plain variable and only the secret ones its script names, and masks every secret', async () => {
    await vars.set('used_token', 'value-one', { ...job, secret: true });
    await vars.set('other_token', 'value-two', { ...job, secret: true });
    await vars.set('plain', 'not-secret', job);
    const got = await vars.forJob({ id: 'ev1', content: 'echo $CRONIUM_VAR_used_token' });
    expect(got.values).toEqual({ used_token: 'value-one', plain: 'not-secret' });
    expect(got.secretValues.sort()).toEqual(['value-one', 'value-two']);
  });
});
