/**
 * JobHelpers: the app's job-level answers to a running script's helper calls, one implementation for both ways a
 * runner asks (the job's socket in RunnerJobSession, the listener's HTTP helper routes): `event` (the job's identity
 * and the mode it runs with as the mode policy recorded it: requested mode, mode, fallback reason) and the job -> event
 * lookup the variable routes scope by. Variable values themselves are the VariablesService's; input / output /
 * setCondition stay with the session that holds the job's state.
 */
import { AppError } from '../errors';
import type { JobStore } from '../jobs/job-store';

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

export class JobHelpers {
  constructor(private readonly deps: { jobs: Pick<JobStore, 'find' | 'view'> }) {}

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
