/**
 * The 'runner-ssh' resumer: at start-up the JobService hands every runner job a previous run of the app left
 * DISPATCHING/RUNNING to RunnerSshExecutor.resume, which re-attaches to the ones still running and collects
 * the ones that finished meanwhile. A job detached again (the app stopping during the resume) is left as it is.
 */
import { isAppError } from '../errors';
import type { JobService } from './job-service';
import type { RunnerSshExecutor } from './runner-ssh-executor';
import { JOB_DETACHED } from './runner-job-session';

export function registerRunnerJobResumer(jobs: JobService, executor: RunnerSshExecutor): void {
  jobs.registerResumer('runner-ssh', async (job, ctx) => {
    try {
      await executor.resume(job, ctx);
    } catch (err) {
      if (isAppError(err) && err.code === JOB_DETACHED) return;
      throw err;
    }
  });
}
