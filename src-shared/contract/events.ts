/**
 * Events: the scripted jobs a user defines (bash, python, node), their targets, limits, execution mode and schedule.
 * Every save increments `version`; payloads and jobs refer to the version they ran. Secret values go in, never out.
 */
import { z } from 'zod';
import { call, Ok } from './define';
import { SelectableExecutionMode } from './settings';
import { ScheduleSettingsFields, ScheduleSettingsViewFields } from './schedule';
import { JobView } from './jobs';
import { MIN_SECRET_LENGTH, refusedVariableNameReason, SECRET_TOO_SHORT_MESSAGE } from './variable-names';
import { EventOption, ParameterValues } from './run-parameters';

/** A server tag an event, a schedule or a workflow step can target (resolved to servers when a run starts). */
export const TargetTag = z.string().trim().min(1).max(64);

export const ScriptType = z.enum(['bash', 'python', 'node']);
export type ScriptType = z.infer<typeof ScriptType>;

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EnvName = z
  .string()
  .regex(ENV_NAME_PATTERN, 'a variable name has letters, digits and _ and does not start with a digit')
  .max(128)
  .superRefine((name, ctx) => {
    const refused = refusedVariableNameReason(name);
    if (refused) ctx.addIssue({ code: 'custom', message: refused });
  });

export const RunnerRequirements = z.object({
  minVersion: z.string().regex(/^\d+\.\d+\.\d+$/, 'must be a version like 1.2.3').optional(),
  capabilities: z.array(z.string().min(1).max(64)).max(32).optional(),
});
export type RunnerRequirements = z.infer<typeof RunnerRequirements>;

/** Where a schedule fires: 'app' (this app's scheduler) or 'server' (the resident runner on each target, issue 15). */
export const FiresOn = z.enum(['app', 'server']);
export type FiresOn = z.infer<typeof FiresOn>;

export const EventInput = z.object({
  id: z.string().min(1).optional(),
  name: z.string().trim().min(1, 'give the event a name').max(200),
  description: z.string().max(4000).default(''),
  scriptType: ScriptType,
  content: z.string().max(1024 * 1024, 'scripts are limited to 1 MiB').refine((s) => s.trim().length > 0, 'the script is empty'),
  env: z.record(EnvName, z.string().max(32 * 1024)).default({}),
  /** Secret variables: a value sets or replaces it; no value keeps the stored one; leaving a name out removes it. */
  secrets: z.array(z.object({ name: EnvName, value: z.string().min(MIN_SECRET_LENGTH, SECRET_TOO_SHORT_MESSAGE).max(32 * 1024).optional() })).max(100).default([]),
  timeoutSeconds: z.number().int().min(1, 'at least 1 second').max(7 * 86400, 'at most 7 days'),
  retries: z.number().int().min(0).max(10, 'at most 10 retries').default(0),
  retryBackoffSeconds: z.number().int().min(0).max(3600).default(5),
  executionMode: SelectableExecutionMode.default('auto'),
  runnerRequirements: RunnerRequirements.nullable().default(null),
  /** Chosen servers; with targetTags, at least one of the two must name something. */
  serverIds: z.array(z.string().min(1)).default([]),
  /** Every server carrying one of these tags when a run starts. */
  targetTags: z.array(TargetTag).max(20).default([]),
  /** At most this many servers of one run at once (null: only each server's own limit). */
  maxParallel: z.number().int().min(1, 'at least 1').max(1000).nullable().default(null),
  /** Run-time parameters the event declares (run dialog, schedule values, workflow step values). */
  options: z.array(EventOption).max(50).default([]),
  /** Values a scheduled run uses (non-secret options; a secret option of a scheduled event is not supported). */
  scheduleParameters: ParameterValues.default({}),
  ...ScheduleSettingsFields,
  /** Who fires the schedule: this app (it must be running) or the resident runner on each target server. */
  firesOn: FiresOn.default('app'),
});
export type EventInput = z.input<typeof EventInput>;

export const EventView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  scriptType: ScriptType,
  content: z.string(),
  env: z.record(z.string(), z.string()),
  secrets: z.array(z.object({ name: z.string(), isSet: z.boolean() })),
  timeoutSeconds: z.number().int(),
  retries: z.number().int(),
  retryBackoffSeconds: z.number().int(),
  executionMode: SelectableExecutionMode,
  runnerRequirements: RunnerRequirements.nullable(),
  servers: z.array(z.object({ id: z.string(), name: z.string() })),
  targetTags: z.array(z.string()),
  maxParallel: z.number().int().nullable(),
  options: z.array(EventOption),
  scheduleParameters: ParameterValues,
  ...ScheduleSettingsViewFields,
  firesOn: FiresOn,
  version: z.number().int(),
  nextRunAt: z.string().nullable(),
  lastRun: z.object({ jobId: z.string(), status: z.string(), at: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type EventView = z.infer<typeof EventView>;

export const ScheduleFireView = z.object({
  id: z.string(),
  scheduledFor: z.string(),
  outcome: z.string(),
  reason: z.string().nullable(),
  jobIds: z.array(z.string()),
  firedAt: z.string(),
});

export const eventsCalls = {
  'events/list': call(z.object({ serverId: z.string().optional() }).optional(), z.array(EventView)),
  'events/get': call(z.object({ id: z.string().min(1) }), EventView),
  'events/save': call(EventInput, EventView),
  'events/duplicate': call(z.object({ id: z.string().min(1) }), EventView),
  'events/delete': call(z.object({ id: z.string().min(1) }), Ok),
  /** Run now: one job per target server (or the given subset). */
  'events/run': call(
    z.object({
      id: z.string().min(1),
      serverIds: z.array(z.string().min(1)).optional(),
      /** Target these tags instead of the event's own targets (resolved now, recorded on the run). */
      targetTags: z.array(TargetTag).max(20).optional(),
      /** Values of the event's options; checked all at once (errors keyed parameters.<name>). */
      parameters: ParameterValues.optional(),
      /** Phase 5 ("direct-ssh only as fallback"): the user chose to run a direct-ssh event direct-ssh anyway. */
      directSshAnyway: z.boolean().optional(),
    }),
    z.object({ jobs: z.array(JobView), runId: z.string().optional() }),
  ),
  /** Every saved version of the event's script, newest first (content left out: ask 'events/scriptVersion'). */
  'events/scriptVersions': call(
    z.object({ id: z.string().min(1) }),
    z.array(z.object({ version: z.number().int(), scriptType: ScriptType, savedAt: z.string(), lines: z.number().int() })),
  ),
  /** One saved version of the event's script. */
  'events/scriptVersion': call(
    z.object({ id: z.string().min(1), version: z.number().int().min(1) }),
    z.object({ version: z.number().int(), scriptType: ScriptType, savedAt: z.string(), content: z.string() }),
  ),
  /** Scheduled fires and skips, newest first. */
  'events/history': call(
    z.object({ id: z.string().min(1), limit: z.number().int().min(1).max(500).default(50) }),
    z.array(ScheduleFireView),
  ),
};

export const eventsEvents = {
  'events/changed': z.object({ event: EventView.nullable(), deletedId: z.string().optional() }),
};
