// The one validation of run-time parameters (shared by the run dialog and every run): every field's problem at once,
// defaults, coercion of form strings, and the option declarations an event may save.
import { describe, expect, it } from 'vitest';
import { checkParameters, duplicateOptionNames, EventOption, optionEnvName, parameterEnv } from '../../../src-shared/contract/run-parameters';

const options = [
  EventOption.parse({ name: 'region', type: 'choice', choices: ['eu', 'us'], required: true }),
  EventOption.parse({ name: 'count', type: 'number', default: 3 }),
  EventOption.parse({ name: 'dry', type: 'boolean' }),
  EventOption.parse({ name: 'token', type: 'string', secret: true, required: true }),
];

describe('checkParameters', () => {
  it('reports every invalid field at once, keyed parameters.<name>', () => {
    const { errors } = checkParameters(options, { region: 'mars', count: 'many', dry: 'maybe', extra: 1 });
    expect(Object.keys(errors).sort()).toEqual(['parameters.count', 'parameters.dry', 'parameters.extra', 'parameters.region', 'parameters.token']);
    expect(errors['parameters.token']).toBe('required');
  });

  it('fills defaults, coerces form strings and leaves out options without a value', () => {
    const { values, errors } = checkParameters(options, { region: 'eu', dry: 'true', token: 'abcdef' });
    expect(errors).toEqual({});
    expect(values).toEqual({ region: 'eu', count: 3, dry: true, token: 'abcdef' });
    expect(checkParameters(options, { region: 'us', count: '12.5', token: 'abcdef' }).values.count).toBe(12.5);
  });

  it('refuses a secret too short to be masked', () => {
    expect(checkParameters(options, { region: 'eu', token: 'ab' }).errors['parameters.token']).toMatch(/at least 3/);
  });
});

describe('option declarations', () => {
  it('refuses a secret default, a choice without choices and a default of the wrong type', () => {
    expect(EventOption.safeParse({ name: 'pw', type: 'string', secret: true, default: 'x' }).success).toBe(false);
    expect(EventOption.safeParse({ name: 'c', type: 'choice' }).success).toBe(false);
    expect(EventOption.safeParse({ name: 'n', type: 'number', default: 'ten' }).success).toBe(false);
    expect(EventOption.safeParse({ name: '1bad', type: 'string' }).success).toBe(false);
  });

  it('names the environment variable CRONIUM_OPT_<NAME> and finds names that differ only in case', () => {
    expect(optionEnvName('dry_run')).toBe('CRONIUM_OPT_DRY_RUN');
    expect(duplicateOptionNames([{ name: 'a' }, { name: 'A' }, { name: 'b' }])).toEqual(['A']);
  });
});

describe('parameterEnv', () => {
  it('names each value CRONIUM_OPT_<NAME> as text, secret ones apart', () => {
    expect(parameterEnv({ region: 'eu', count: 3, dry: false, token: 's3cret-value' }, new Set(['token']))).toEqual({
      plain: { CRONIUM_OPT_REGION: 'eu', CRONIUM_OPT_COUNT: '3', CRONIUM_OPT_DRY: 'false' },
      secret: { CRONIUM_OPT_TOKEN: 's3cret-value' },
    });
    expect(parameterEnv({ dry: true })).toEqual({ plain: { CRONIUM_OPT_DRY: 'true' }, secret: {} });
  });
});
