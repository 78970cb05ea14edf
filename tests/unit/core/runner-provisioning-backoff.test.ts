/**
 * ensureRunner's retries go through the one backoff helper on the core's Clock: with retryTransient a transient failure
 * is tried again after RUNNER_ENSURE_BACKOFF_MS (on a ManualClock, so no real seconds pass); a failure another attempt
 * cannot fix is not retried.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src-main/core/errors';
import { RUNNER_ENSURE_BACKOFF_MS, RunnerProvisioning } from '../../../src-main/core/execution/runner-provisioning';
import type { CompatibleRunner } from '../../../src-main/core/runners/runner-service';
import { ErrorCode } from '../../../src-shared/errors';
import { ManualClock } from '../../harness/manual-clock';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function provisioningFailing(clock: ManualClock, failures: AppError[]) {
  const attemptsAt: number[] = [];
  const runner = { version: '1.0.0' } as unknown as CompatibleRunner;
  const provisioning = new RunnerProvisioning({
    clock,
    ssh: { acquire: async () => ({}) as never },
    runners: {
      getCompatibleRunner: async () => null,
      ensureRunner: async () => {
        attemptsAt.push(clock.now() - T0);
        const failure = failures.shift();
        if (failure) throw failure;
        return runner;
      },
    },
  });
  return { provisioning, attemptsAt, runner };
}

describe('RunnerProvisioning backoff', () => {
  it('retries a transient failure after each backoff delay when asked to', async () => {
    const clock = new ManualClock(T0);
    const lost = () => new AppError(ErrorCode.CONNECTION_LOST, 'link dropped');
    const { provisioning, attemptsAt, runner } = provisioningFailing(clock, [lost(), lost()]);
    const ensured = provisioning.ensureRunner('s1', null, { retryTransient: true });
    await clock.advance(0);
    expect(attemptsAt).toEqual([0]);
    await clock.advance(RUNNER_ENSURE_BACKOFF_MS[0]! + RUNNER_ENSURE_BACKOFF_MS[1]!);
    await expect(ensured).resolves.toBe(runner);
    expect(attemptsAt).toEqual([0, RUNNER_ENSURE_BACKOFF_MS[0], RUNNER_ENSURE_BACKOFF_MS[0]! + RUNNER_ENSURE_BACKOFF_MS[1]!]);
  });

  it('tries once without retryTransient, and never retries what another attempt cannot fix', async () => {
    const clock = new ManualClock(T0);
    const once = provisioningFailing(clock, [new AppError(ErrorCode.CONNECTION_LOST, 'link dropped')]);
    await expect(once.provisioning.ensureRunner('s1')).rejects.toMatchObject({ code: ErrorCode.CONNECTION_LOST });
    expect(once.attemptsAt).toEqual([0]);

    const permanent = provisioningFailing(clock, [new AppError(ErrorCode.RUNNER_NOT_DEPLOYED, 'no runner')]);
    await expect(permanent.provisioning.ensureRunner('s1', null, { retryTransient: true })).rejects.toMatchObject({ code: ErrorCode.RUNNER_NOT_DEPLOYED });
    expect(permanent.attemptsAt).toEqual([0]);
    expect(clock.pendingTimers).toBe(0);
  });
});
