/**
 * Run-time parameters: the options an event declares (name, type, default, required, secret) and the one validation of
 * the values a run is given, shared by the app (every run: manual, schedule, workflow step) and the run dialog (which
 * shows every field's error at once). Values reach a script as CRONIUM_OPT_<NAME> and through input(); a secret
 * option's value is masked in logs and never stored in plain text (see docs/helpers.md and docs/security.md).
 */
import { z } from 'zod';
import { MIN_SECRET_LENGTH, OPTION_ENV_PREFIX } from './variable-names';

export const OptionType = z.enum(['string', 'number', 'boolean', 'choice']);
export type OptionType = z.infer<typeof OptionType>;

export const OPTION_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;

export const ParameterValue = z.union([z.string().max(32 * 1024), z.number(), z.boolean()]);
export type ParameterValue = z.infer<typeof ParameterValue>;
export const ParameterValues = z.record(z.string().max(64), ParameterValue);
export type ParameterValues = z.infer<typeof ParameterValues>;

export const EventOption = z
  .object({
    name: z.string().regex(OPTION_NAME_PATTERN, 'an option name has letters, digits and _ and starts with a letter').max(64),
    label: z.string().max(200).default(''),
    type: OptionType,
    default: ParameterValue.nullable().default(null),
    required: z.boolean().default(false),
    secret: z.boolean().default(false),
    /** The allowed values of a 'choice' option. */
    choices: z.array(z.string().min(1).max(200)).max(100).default([]),
  })
  .superRefine((o, ctx) => {
    if (o.type === 'choice' && o.choices.length === 0) ctx.addIssue({ code: 'custom', path: ['choices'], message: 'a choice option needs at least one choice' });
    if (o.secret && o.default !== null) ctx.addIssue({ code: 'custom', path: ['default'], message: 'a secret option cannot have a default (it would be stored in plain text)' });
    if (o.secret && o.type !== 'string') ctx.addIssue({ code: 'custom', path: ['type'], message: 'a secret option is a string' });
    if (o.default !== null) {
      const err = valueError(o, o.default);
      if (err) ctx.addIssue({ code: 'custom', path: ['default'], message: `default: ${err}` });
    }
  });
export type EventOption = z.infer<typeof EventOption>;

/** The environment variable an option's value is exported as: CRONIUM_OPT_ and the name in capitals. */
export function optionEnvName(name: string): string {
  return `${OPTION_ENV_PREFIX}${name.toUpperCase()}`;
}

/**
 * Checked parameter values as the script's CRONIUM_OPT_<NAME> environment: `plain` is set as it is, `secret` (the
 * values of the options named in `secretNames`) is masked in the log and never stored. The one place run parameters
 * become environment, for app-started runs and for server-held schedules alike.
 */
export function parameterEnv(
  values: ParameterValues,
  secretNames: ReadonlySet<string> = new Set(),
): { plain: Record<string, string>; secret: Record<string, string> } {
  const plain: Record<string, string> = {};
  const secret: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) (secretNames.has(name) ? secret : plain)[optionEnvName(name)] = parameterText(value);
  return { plain, secret };
}

/** Options whose names differ only in case would share one environment variable. */
export function duplicateOptionNames(options: Array<{ name: string }>): string[] {
  const seen = new Set<string>();
  const dup: string[] = [];
  for (const o of options) {
    const key = o.name.toUpperCase();
    if (seen.has(key)) dup.push(o.name);
    seen.add(key);
  }
  return dup;
}

/** The zod schema of one option's value (strings from a form are coerced for numbers and booleans). */
function valueSchema(o: Pick<EventOption, 'type' | 'choices' | 'secret'>): z.ZodType<ParameterValue> {
  switch (o.type) {
    case 'number':
      return z.preprocess(
        (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
        z.number({ message: 'must be a number' }).finite('must be a number'),
      ) as z.ZodType<ParameterValue>;
    case 'boolean':
      return z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ message: 'must be true or false' })) as z.ZodType<ParameterValue>;
    case 'choice':
      return z.string({ message: 'choose one of the values' }).refine((v) => o.choices.includes(v), `must be one of: ${o.choices.join(', ')}`);
    case 'string':
      return o.secret
        ? z.string({ message: 'must be text' }).min(MIN_SECRET_LENGTH, `a secret needs at least ${MIN_SECRET_LENGTH} characters`).max(32 * 1024)
        : z.string({ message: 'must be text' }).max(32 * 1024);
  }
}

function valueError(o: Pick<EventOption, 'type' | 'choices' | 'secret'>, value: unknown): string | null {
  const r = valueSchema(o).safeParse(value);
  return r.success ? null : (r.error.issues[0]?.message ?? 'not valid');
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v === '');
}

export interface ParameterCheck {
  /** The values the run uses: given ones, else defaults; options with neither are left out. */
  values: Record<string, ParameterValue>;
  /** Every problem at once, keyed `parameters.<name>` (the form field keys). */
  errors: Record<string, string>;
}

/**
 * Checks every value against its option at once (zod per field): required options must have a value (given or
 * default), values must fit their type, unknown names are refused. Never throws.
 */
export function checkParameters(options: EventOption[], given: Record<string, unknown>): ParameterCheck {
  const values: Record<string, ParameterValue> = {};
  const errors: Record<string, string> = {};
  const known = new Set(options.map((o) => o.name));
  for (const name of Object.keys(given)) if (!known.has(name)) errors[`parameters.${name}`] = `${name} is not an option of this event`;
  for (const o of options) {
    const raw = isEmpty(given[o.name]) ? o.default : given[o.name];
    if (isEmpty(raw)) {
      if (o.required) errors[`parameters.${o.name}`] = 'required';
      continue;
    }
    const r = valueSchema(o).safeParse(raw);
    if (r.success) values[o.name] = r.data;
    else errors[`parameters.${o.name}`] = r.error.issues[0]?.message ?? 'not valid';
  }
  return { values, errors };
}

/** A value as the script's environment sees it. */
export function parameterText(value: ParameterValue): string {
  return typeof value === 'string' ? value : String(value);
}
