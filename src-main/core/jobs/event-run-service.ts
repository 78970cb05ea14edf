/**
 * EventRunService: a run as a whole (event_runs + its jobs): the fleet summary, "re-run failed only", "run again" and
 * "cancel the rest". Every new run goes through JobService.startRun, so targets, parameters and limits are checked
 * and recorded there as for any other run. Secret parameter values are not kept between runs: a repeat of a run that
 * had any must be given them again (INVALID_INPUT with the fields to fill, details.reask = true).
 */
import { AppError } from '../errors';
import type { JobService } from './job-service';
import type { EventRunRecord } from './event-run-store';
import { isFailedJobStatus, type JobStatus, type JobView } from '../../../src-shared/contract/jobs';
import type { RunSummary, RunView } from '../../../src-shared/contract/runs';
import type { ParameterValues } from '../../../src-shared/contract/run-parameters';

const ACTIVE: readonly JobStatus[] = ['QUEUED', 'DISPATCHING', 'RUNNING'];

export class EventRunService {
  constructor(private readonly jobs: JobService) {}

  async get(runId: string): Promise<RunView> {
    return this.toView(await this.record(runId));
  }

  async listForEvent(eventId: string, limit: number): Promise<RunView[]> {
    const runs = await this.jobs.runs.ofEvent(eventId, limit);
    return Promise.all(runs.map((r) => this.toView(r)));
  }

  /** A new run of the same event on the servers whose job failed, with the same parameters. */
  async rerunFailed(runId: string, secretValues: ParameterValues = {}): Promise<RunView> {
    const run = await this.record(runId);
    const view = await this.toView(run);
    if (view.failedServerIds.length === 0) {
      throw new AppError('INVALID_INPUT', view.summary.active > 0 ? 'no job of this run has failed yet; wait for it to end' : 'no job of this run failed; there is nothing to re-run');
    }
    return this.repeat(run, view.failedServerIds, secretValues);
  }

  /** A new run with the same servers (as the first one resolved them) and the same parameters. */
  async runAgain(runId: string, secretValues: ParameterValues = {}): Promise<RunView> {
    const run = await this.record(runId);
    return this.repeat(run, run.serverIds, secretValues);
  }

  /** Cancels every job of the run that has not ended (queued ones at once, running ones through their executor). */
  async cancelRest(runId: string): Promise<RunView> {
    await this.record(runId);
    const jobs = await this.jobs.list({ runId, limit: 1000 });
    await Promise.all(jobs.filter((j) => ACTIVE.includes(j.status)).map((j) => this.jobs.cancel(j.id)));
    return this.get(runId);
  }

  private async repeat(run: EventRunRecord, serverIds: string[], given: ParameterValues): Promise<RunView> {
    if (!run.eventId) throw new AppError('EVENT_NOT_FOUND', 'the event of this run has been deleted');
    const missing = run.secretParameterNames.filter((n) => given[n] === undefined || given[n] === '');
    if (missing.length) {
      const fields = Object.fromEntries(missing.map((n) => [`parameters.${n}`, 'secret values are not kept; enter it again']));
      throw new AppError('INVALID_INPUT', `enter the secret value${missing.length > 1 ? 's' : ''} of ${missing.join(', ')} again (Cronium does not keep them)`, {
        fields, details: { reask: true },
      });
    }
    const started = await this.jobs.startRun({
      eventId: run.eventId,
      serverIds,
      targetTags: [],
      trigger: 'manual',
      parameters: { ...run.parameters, ...given },
      maxParallel: run.maxParallel,
      rerunOf: run.id,
    });
    return this.get(started.runId);
  }

  private async record(runId: string): Promise<EventRunRecord> {
    const run = await this.jobs.runs.find(runId);
    if (!run) throw new AppError('JOB_NOT_FOUND', `there is no run ${runId}; it may have been deleted with its event`);
    return run;
  }

  private async toView(run: EventRunRecord): Promise<RunView> {
    const jobs = (await this.jobs.list({ runId: run.id, limit: 1000 })).reverse();
    return {
      id: run.id,
      eventId: run.eventId,
      eventName: jobs[0]?.eventName ?? null,
      trigger: run.trigger,
      targetTags: run.targetTags,
      serverIds: run.serverIds,
      parameters: run.parameters,
      secretParameterNames: run.secretParameterNames,
      maxParallel: run.maxParallel,
      rerunOf: run.rerunOf,
      createdAt: run.createdAt,
      summary: summarize(jobs),
      jobs,
      failedServerIds: jobs.filter((j) => isFailedJobStatus(j.status) && j.serverId).map((j) => j.serverId!),
    };
  }
}

export function summarize(jobs: JobView[]): RunSummary {
  return {
    total: jobs.length,
    succeeded: jobs.filter((j) => j.status === 'SUCCESS').length,
    failed: jobs.filter((j) => isFailedJobStatus(j.status)).length,
    cancelled: jobs.filter((j) => j.status === 'CANCELLED').length,
    active: jobs.filter((j) => ACTIVE.includes(j.status)).length,
  };
}
