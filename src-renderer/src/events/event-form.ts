/**
 * The event editor's form model: what the user types (strings, rows) <-> the contract's EventInput. It checks what
 * the form itself must (numbers are numbers) and, before sending, the contract's own schema over the whole input so
 * every invalid field is reported at once; the main process's field errors are shown the same way. Secret values typed here go into the input once and are never read back from a view.
 */
import { EventInput, type EventView, type ScriptType } from '../../../src-shared/contract/events';
import { zodFieldErrors } from '../../../src-shared/field-errors';
import type { MisfirePolicy, OverlapPolicy, ScheduleSpec } from '../../../src-shared/contract/schedule';
import type { EventOption, OptionType, ParameterValue } from '../../../src-shared/contract/run-parameters';

export type ScheduleKind = 'none' | 'cron' | 'interval';
export type SelectableMode = 'auto' | 'direct-ssh' | 'runner-ssh';

export interface EnvRow {
  key: string;
  value: string;
}
export interface SecretRow {
  name: string;
  /** True for a secret already stored (the value is never shown; `value` then replaces it when not empty). */
  isSet: boolean;
  value: string;
}

export interface EventForm {
  name: string;
  description: string;
  scriptType: ScriptType;
  content: string;
  env: EnvRow[];
  secrets: SecretRow[];
  timeoutSeconds: string;
  retries: string;
  retryBackoffSeconds: string;
  executionMode: SelectableMode;
  serverIds: string[];
  scheduleKind: ScheduleKind;
  cronExpression: string;
  everySeconds: string;
  /** datetime-local strings in the workstation's zone; empty = unbounded. */
  startAt: string;
  endAt: string;
  maxRuns: string;
  /** '' = the workstation's zone. */
  timeZone: string;
  misfirePolicy: MisfirePolicy;
  overlapPolicy: OverlapPolicy;
  enabled: boolean;
  /** 'app': this app fires the schedule; 'server': the resident runner on each target does (issue 15). */
  firesOn: 'app' | 'server';
  /** Tags whose servers the event also targets, comma separated (resolved when a run starts). */
  targetTags: string;
  /** Whole-run limit: at most this many servers of one run at once; '' = no limit. */
  maxParallel: string;
  /** Run-time parameters the event declares. */
  options: OptionRow[];
  /** Kept as saved (values a scheduled run uses). */
  scheduleParameters: Record<string, ParameterValue>;
}

export interface OptionRow {
  name: string;
  type: OptionType;
  /** choice: the allowed values, comma separated. */
  choices: string;
  /** '' = no default. */
  defaultValue: string;
  required: boolean;
  secret: boolean;
}

export const emptyOptionRow = (): OptionRow => ({ name: '', type: 'string', choices: '', defaultValue: '', required: false, secret: false });

function optionRowOf(o: EventOption): OptionRow {
  return {
    name: o.name, type: o.type, choices: o.choices.join(', '), defaultValue: o.default === null ? '' : String(o.default), required: o.required, secret: o.secret,
  };
}

/** The option a row declares; its default typed as the option's type (the contract checks the rest). */
function optionOfRow(row: OptionRow): EventOption {
  const text = row.defaultValue.trim();
  let def: ParameterValue | null = null;
  if (text !== '') def = row.type === 'number' ? (Number.isFinite(Number(text)) ? Number(text) : text) : row.type === 'boolean' ? (text === 'true' ? true : text === 'false' ? false : text) : row.defaultValue;
  return {
    name: row.name.trim(), label: '', type: row.type, default: def, required: row.required, secret: row.secret,
    choices: row.type === 'choice' ? row.choices.split(',').map((c) => c.trim()).filter(Boolean) : [],
  };
}

export const SCRIPT_TEMPLATES: Record<ScriptType, string> = {
  bash: '#!/usr/bin/env bash\nset -euo pipefail\n\necho "Hello from $(hostname)"\n',
  python: 'import socket\n\nprint(f"Hello from {socket.gethostname()}")\n',
  node: "const os = require('os');\n\nconsole.log(`Hello from ${os.hostname()}`);\n",
};

function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function emptyForm(defaultMode: SelectableMode = 'auto'): EventForm {
  return {
    name: '',
    description: '',
    scriptType: 'bash',
    content: SCRIPT_TEMPLATES.bash,
    env: [],
    secrets: [],
    timeoutSeconds: '300',
    retries: '0',
    retryBackoffSeconds: '5',
    executionMode: defaultMode,
    serverIds: [],
    scheduleKind: 'none',
    cronExpression: '0 */15 * * * *',
    everySeconds: '3600',
    startAt: '',
    endAt: '',
    maxRuns: '',
    timeZone: '',
    misfirePolicy: 'run_once',
    overlapPolicy: 'skip',
    enabled: true,
    firesOn: 'app',
    targetTags: '',
    maxParallel: '',
    options: [],
    scheduleParameters: {},
  };
}

type ScheduleFormFields = Pick<
  EventForm,
  'scheduleKind' | 'cronExpression' | 'everySeconds' | 'startAt' | 'endAt' | 'maxRuns' | 'timeZone' | 'misfirePolicy' | 'overlapPolicy'
>;

/** The schedule part of the form for a saved event or workflow; `cronDefault` fills the cron field when there is none. */
export function scheduleFormFields(saved: Pick<EventView, 'schedule' | 'timeZone' | 'misfirePolicy' | 'overlapPolicy'>, cronDefault: string): ScheduleFormFields {
  const schedule = saved.schedule;
  return {
    scheduleKind: schedule ? schedule.kind : 'none',
    cronExpression: schedule?.kind === 'cron' ? schedule.expression : cronDefault,
    everySeconds: schedule?.kind === 'interval' ? String(schedule.everySeconds) : '3600',
    startAt: toLocalInput(schedule?.startAt),
    endAt: toLocalInput(schedule?.endAt),
    maxRuns: schedule?.maxRuns ? String(schedule.maxRuns) : '',
    timeZone: saved.timeZone ?? '',
    misfirePolicy: saved.misfirePolicy,
    overlapPolicy: saved.overlapPolicy,
  };
}

export function formFromEvent(event: EventView): EventForm {
  return {
    name: event.name,
    description: event.description,
    scriptType: event.scriptType,
    content: event.content,
    env: Object.entries(event.env).map(([key, value]) => ({ key, value })),
    secrets: event.secrets.map((s) => ({ name: s.name, isSet: s.isSet, value: '' })),
    timeoutSeconds: String(event.timeoutSeconds),
    retries: String(event.retries),
    retryBackoffSeconds: String(event.retryBackoffSeconds),
    executionMode: event.executionMode,
    serverIds: event.servers.map((s) => s.id),
    ...scheduleFormFields(event, '0 */15 * * * *'),
    enabled: event.enabled,
    firesOn: event.firesOn ?? 'app',
    targetTags: (event.targetTags ?? []).join(', '),
    maxParallel: event.maxParallel ? String(event.maxParallel) : '',
    options: (event.options ?? []).map(optionRowOf),
    scheduleParameters: event.scheduleParameters ?? {},
  };
}

/** The number a field holds when it is a whole number (spaces allowed around it), else null. */
export const wholeNumber = (text: string): number | null => (/^\s*\d+\s*$/.test(text) ? Number(text) : null);

function localToIso(value: string): string | undefined | null {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** The schedule the form describes, or the field errors that keep it from being one. */
export function scheduleFromForm(form: EventForm): { schedule: ScheduleSpec | null; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (form.scheduleKind === 'none') return { schedule: null, errors };
  const startAt = localToIso(form.startAt);
  const endAt = localToIso(form.endAt);
  if (startAt === null) errors['schedule.startAt'] = 'not a valid date and time';
  if (endAt === null) errors['schedule.endAt'] = 'not a valid date and time';
  let maxRuns: number | undefined;
  if (form.maxRuns.trim()) {
    const n = wholeNumber(form.maxRuns);
    if (n === null || n < 1) errors['schedule.maxRuns'] = 'a whole number of at least 1, or empty for no limit';
    else maxRuns = n;
  }
  const bounds = { ...(startAt ? { startAt } : {}), ...(endAt ? { endAt } : {}), ...(maxRuns ? { maxRuns } : {}) };
  if (form.scheduleKind === 'cron') {
    return { schedule: { kind: 'cron', expression: form.cronExpression.trim(), ...bounds }, errors };
  }
  const every = wholeNumber(form.everySeconds);
  if (every === null || every < 1) errors['schedule.everySeconds'] = 'a whole number of seconds, at least 1';
  return { schedule: { kind: 'interval', everySeconds: every ?? 1, ...bounds }, errors };
}

/**
 * The EventInput the form describes (numbers the form could not read replaced by placeholders), the form's own field
 * errors, and for each secret in the input the form row it came from (so the contract's messages land on that row).
 */
function buildInput(form: EventForm, id: string | undefined): { input: EventInput; errors: Record<string, string>; secretRows: number[] } {
  const errors: Record<string, string> = {};
  const timeout = wholeNumber(form.timeoutSeconds);
  const retries = wholeNumber(form.retries);
  const backoff = wholeNumber(form.retryBackoffSeconds);
  if (timeout === null) errors.timeoutSeconds = 'enter a whole number of seconds';
  if (retries === null) errors.retries = 'enter a whole number';
  if (backoff === null) errors.retryBackoffSeconds = 'enter a whole number of seconds';

  const env: Record<string, string> = {};
  form.env.forEach((row, i) => {
    const key = row.key.trim();
    if (!key && !row.value) return;
    if (!key) errors[`env.${i}`] = 'give the variable a name';
    else if (key in env) errors[`env.${i}`] = `${key} is defined twice`;
    else env[key] = row.value;
  });
  const secrets: Array<{ name: string; value?: string }> = [];
  const secretRows: number[] = [];
  const seen = new Set<string>();
  form.secrets.forEach((row, i) => {
    const name = row.name.trim();
    if (!name && !row.value) return;
    if (!name) errors[`secrets.${i}`] = 'give the secret a name';
    else if (seen.has(name)) errors[`secrets.${i}`] = `${name} is defined twice`;
    else if (!row.isSet && !row.value) errors[`secrets.${i}`] = `enter a value for ${name}`;
    else {
      seen.add(name);
      secrets.push(row.value ? { name, value: row.value } : { name });
      secretRows.push(i);
    }
  });
  const { schedule, errors: scheduleErrors } = scheduleFromForm(form);
  Object.assign(errors, scheduleErrors);
  let maxParallel: number | null = null;
  if (form.maxParallel.trim()) {
    maxParallel = wholeNumber(form.maxParallel);
    if (maxParallel === null || maxParallel < 1) errors.maxParallel = 'a whole number of at least 1, or empty for no limit';
  }
  const targetTags = form.targetTags.split(',').map((t) => t.trim()).filter(Boolean);
  return {
    input: {
      ...(id ? { id } : {}),
      name: form.name,
      description: form.description,
      scriptType: form.scriptType,
      content: form.content,
      env,
      secrets,
      timeoutSeconds: timeout ?? 1,
      retries: retries ?? 0,
      retryBackoffSeconds: backoff ?? 0,
      executionMode: form.executionMode,
      serverIds: form.serverIds,
      schedule,
      timeZone: form.timeZone || null,
      misfirePolicy: form.misfirePolicy,
      overlapPolicy: form.overlapPolicy,
      enabled: form.enabled,
      firesOn: form.scheduleKind === 'none' ? 'app' : form.firesOn,
      targetTags,
      maxParallel: maxParallel ?? null,
      options: form.options.map(optionOfRow),
      scheduleParameters: form.scheduleParameters,
    },
    errors,
    secretRows,
  };
}

/** The EventInput to save, or the field errors the form itself found before sending anything. */
export function inputFromForm(form: EventForm, id: string | undefined): { input: EventInput } | { errors: Record<string, string> } {
  const { input, errors } = buildInput(form, id);
  return Object.keys(errors).length > 0 ? { errors } : { input };
}

/**
 * Every problem the form can know before sending, at once: its own checks and the contract's rules (a name, a
 * script, a server, limits) over the whole input, so the user never fixes one field only to be shown the next.
 * Empty when the input may be sent (the main process still has the last word).
 */
export function allFormErrors(form: EventForm, id: string | undefined): Record<string, string> {
  const { input, errors, secretRows } = buildInput(form, id);
  const parsed = EventInput.safeParse(input);
  const contract = parsed.success ? {} : zodFieldErrors(parsed.error.issues);
  const placed: Record<string, string> = {};
  for (const [key, message] of Object.entries(contract)) {
    const secret = /^secrets\.(\d+)(\..*)?$/.exec(key);
    placed[secret ? `secrets.${secretRows[Number(secret[1])] ?? secret[1]}` : key] ??= message;
  }
  return { ...placed, ...errors };
}

/** The workstation's IANA zone and every zone the browser knows, for the time zone select. */
export function timeZones(): { workstation: string; all: string[] } {
  const workstation = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const supported = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  const all = [...new Set(['UTC', workstation, ...supported])].sort();
  return { workstation, all };
}
