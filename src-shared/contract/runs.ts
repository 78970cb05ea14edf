/**
 * Event runs: one start of an event over the servers its targets (servers and tags) resolved to, with its parameters.
 * The fleet summary (how many succeeded, failed, which, how long each), "re-run failed only", "run again" and "cancel
 * the rest" work on a run. Secret parameter values are never part of a run view: only their names.
 */
import { z } from 'zod';
import { call } from './define';
import { JobView } from './jobs';
import { ParameterValues } from './run-parameters';

export const RunSummary = z.object({
  total: z.number().int(),
  succeeded: z.number().int(),
  /** FAILURE, TIMEOUT and PARTIAL: what "re-run failed" runs again. */
  failed: z.number().int(),
  cancelled: z.number().int(),
  /** Queued, dispatching or running. */
  active: z.number().int(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const RunView = z.object({
  id: z.string(),
  eventId: z.string().nullable(),
  eventName: z.string().nullable(),
  trigger: z.string(),
  targetTags: z.array(z.string()),
  /** The servers the run resolved to when it started. */
  serverIds: z.array(z.string()),
  /** Non-secret parameter values. */
  parameters: ParameterValues,
  /** Secret options given to this run (their values are not kept: "run again" asks for them). */
  secretParameterNames: z.array(z.string()),
  maxParallel: z.number().int().nullable(),
  rerunOf: z.string().nullable(),
  createdAt: z.string(),
  summary: RunSummary,
  /** One job per server, in the order they were created (each with its status and durationMs). */
  jobs: z.array(JobView),
  /** Servers whose job failed (FAILURE, TIMEOUT, PARTIAL). */
  failedServerIds: z.array(z.string()),
});
export type RunView = z.infer<typeof RunView>;

const RunId = z.object({ id: z.string().min(1) });
const Repeat = z.object({ id: z.string().min(1), parameters: ParameterValues.optional() });

export const runsCalls = {
  'runs/get': call(RunId, RunView),
  'runs/list': call(z.object({ eventId: z.string().min(1), limit: z.number().int().min(1).max(200).default(20) }), z.array(RunView)),
  /** A new run on the failed servers only, same parameters (secret ones given again). */
  'runs/rerunFailed': call(Repeat, RunView),
  /** A new run with the same targets (as resolved) and parameters (secret ones given again). */
  'runs/runAgain': call(Repeat, RunView),
  /** Cancels every job of the run that has not ended. */
  'runs/cancelRest': call(RunId, RunView),
};

export const runsEvents = {};
