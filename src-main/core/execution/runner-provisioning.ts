/**
 * RunnerProvisioning: the one `ensureRunner` of the execution path ("make sure a compatible runner is on this
 * server"), used by the mode policy for every attempt (manual, scheduled, workflow step) and by the runner executor.
 * It reaches the server first (so an unreachable host, a refused login or a changed host key fails at once, with the
 * SSH layer's own message, before any deploy step retries it), then delegates to the runner service, which owns
 * deployments. Concurrent callers for the same server and requirements share one call (single flight); a failure that
 * may pass is tried again with backoff only when the caller has no other way to run (retryTransient).
 */
import { retryWithBackoff } from '../backoff';
import type { Clock } from '../clock';
import { isAppError, type ErrorCode } from '../errors';
import { isPermanentConnectFailure } from '../ssh/errors';
import type { SshPool } from '../ssh/ssh-pool';
import type { CompatibleRunner } from '../runners/runner-service';
import type { RunnerRequirements } from '../../../src-shared/contract/events';
import { SingleFlight } from './single-flight';

/** The part of RunnerService provisioning needs. */
export interface RunnerLocator {
  getCompatibleRunner(serverId: string, requirements?: RunnerRequirements | null): Promise<CompatibleRunner | null>;
  /** `mayDeploy`: the mode policy's answer to "may a runner be deployed now"; omitted, the runner service asks it itself. */
  ensureRunner(serverId: string, requirements?: RunnerRequirements | null, opts?: { mayDeploy?: boolean }): Promise<CompatibleRunner>;
}

/** Waits before the 2nd and 3rd attempt when retryTransient is asked for. */
export const RUNNER_ENSURE_BACKOFF_MS = [2_000, 5_000];

/** Errors another attempt cannot fix besides the permanent connection failures: not retried. */
const NOT_RETRYABLE = new Set<ErrorCode>([
  'RUNNER_NOT_DEPLOYED', 'RUNNER_DISABLED', 'SERVER_NOT_FOUND', 'NOT_FOUND', 'RUNNER_ARTIFACT_UNAVAILABLE', 'ARTIFACT_INVALID',
  'ARTIFACT_TAMPERED', 'ARTIFACT_UNTRUSTED_KEY', 'RUNNER_VERSION_INVALID', 'RUNNER_OUT_OF_RANGE', 'POOL_CLOSED', 'APP_STOPPING',
]);

export class RunnerProvisioning {
  private readonly flights = new SingleFlight<CompatibleRunner>();

  constructor(private readonly deps: { runners: RunnerLocator; ssh: Pick<SshPool, 'acquire'>; clock: Clock }) {}

  getCompatibleRunner(serverId: string, requirements?: RunnerRequirements | null): Promise<CompatibleRunner | null> {
    return this.deps.runners.getCompatibleRunner(serverId, requirements);
  }

  ensureRunner(serverId: string, requirements?: RunnerRequirements | null, opts: { retryTransient?: boolean; mayDeploy?: boolean } = {}): Promise<CompatibleRunner> {
    const key = `${serverId}\u0000${JSON.stringify(requirements ?? null)}\u0000${opts.retryTransient ? 'retry' : 'once'}\u0000${String(opts.mayDeploy)}`;
    return this.flights.run(key, () => this.ensureNow(serverId, requirements ?? null, opts.retryTransient === true, opts.mayDeploy));
  }

  private async ensureNow(serverId: string, requirements: RunnerRequirements | null, retryTransient: boolean, mayDeploy: boolean | undefined): Promise<CompatibleRunner> {
    return retryWithBackoff(
      async () => {
        // Reach the server first: a pooled connection costs nothing, and a wall is reported before any deploy retry.
        await this.deps.ssh.acquire(serverId);
        return this.deps.runners.ensureRunner(serverId, requirements, mayDeploy === undefined ? undefined : { mayDeploy });
      },
      {
        clock: this.deps.clock,
        policy: { kind: 'list', delaysMs: retryTransient ? RUNNER_ENSURE_BACKOFF_MS : [] },
        shouldRetry: (err) => !isPermanentConnectFailure(err) && !(isAppError(err) && NOT_RETRYABLE.has(err.code)),
      },
    );
  }
}
