/**
 * JobHelpers: the app's job-level answers to a running script's helper calls, one implementation for both ways a
 * runner asks (the job's socket in RunnerJobSession, the listener's HTTP helper routes): `event` (the job's identity
 * and the mode it runs with as the mode policy recorded it: requested mode, mode, fallback reason), the job -> event
 * lookup the variable routes scope by, and getVariable / setVariable for a job (scope defaulting to the job's event,
 * refused names and secrets by the VariablesService's rules, a secret value handed to the job's masker).
 * input / output / setCondition stay with the session that holds the job's state.
 */
import { AppError } from '../errors';
import type { JobStore } from '../jobs/job-store';
import type { VariableScope, VariablesService } from '../variables/variables-service';

export interface JobIdentity {
  jobId: string;
  eventId: string | null;
  eventName: string;
  eventVersion: number;
  serverId: string | null;
  serverName: string | null;
  attempt: number;
}

export interface EventHelperAnswer extends JobIdentity {
  requestedMode: string | null;
  executionMode: string | null;
  fallbackReason: string | null;
}

/** The job a variable helper call acts for; `mask` (when the caller holds the job's log masker) gets every secret value it reads or sets. */
export interface VariableHelperJob {
  jobId: string;
  eventId: string | null;
  mask?: (secretValue: string) => void;
}

export interface SetVariableRequest {
  key: string;
  value: string;
  /** Omitted: the job's event scope; 'global' must be asked for. */
  scope?: VariableScope;
  secret?: boolean;
}

export class JobHelpers {
  constructor(private readonly deps: { jobs: Pick<JobStore, 'find' | 'view'>; variables: Pick<VariablesService, 'read' | 'set'> }) {}

  /** `getVariable`: the job's event-scoped value, else the global one, else null; a secret one is masked from now on. */
  async getVariable(job: VariableHelperJob, key: string): Promise<string | null> {
    const read = await this.deps.variables.read(key, { eventId: job.eventId });
    // A secret read under a name the start did not know of: masked in this job's lines from now on.
    if (read?.secret && read.value !== null) job.mask?.(read.value);
    return read?.value ?? null;
  }

  /** `setVariable`: writes as this job (set_by_job_id); a value that is (or becomes) secret is masked from now on. */
  async setVariable(job: VariableHelperJob, req: SetVariableRequest): Promise<void> {
    const set = await this.deps.variables.set(req.key, req.value, { scope: req.scope, eventId: job.eventId, jobId: job.jobId, secret: req.secret === true });
    if (set.secret) job.mask?.(req.value);
  }

  /** The job's event id, for a helper call that names only the job (the HTTP routes). */
  async eventOf(jobId: string): Promise<{ eventId: string | null }> {
    const row = await this.deps.jobs.find(jobId);
    if (!row) throw new AppError('NOT_FOUND', `There is no job ${jobId}.`);
    return { eventId: row.event_id };
  }

  /** What `cronium event` answers: who the job is, and how it runs (as recorded by the mode policy for this attempt). */
  async event(identity: JobIdentity): Promise<EventHelperAnswer> {
    const view = await this.deps.jobs.view(identity.jobId);
    return {
      ...identity,
      requestedMode: view?.requestedMode ?? null,
      executionMode: view?.executionMode ?? null,
      fallbackReason: view?.fallbackReason ?? null,
    };
  }
}
