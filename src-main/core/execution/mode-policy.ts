/**
 * ModePolicy: the one place that decides how an attempt runs (ARCHITECTURE.md "execution/"), and the only reader of
 * the execution flags (ssh_runner_enabled, ssh_runner_auto_deploy, ssh_runner_fallback, ssh_runner_streaming_logs) and
 * of RunnerSettings' enabled / fallbackToDirect (runnerAutoDeployAllowed is the runner service's one view of them):
 *  - 'direct-ssh' -> direct-ssh;
 *  - 'runner-ssh' -> runner-ssh on a runner made ready here (retrying failures that may pass, such as a dropped link),
 *    or an error saying why it cannot be (runner mode off, no runner and no auto deploy, the server unreachable);
 *  - 'auto' -> runner-ssh when runner mode is on and a compatible runner exists or can be deployed; otherwise, when
 *    fallbackToDirect and ssh_runner_fallback allow it, direct-ssh with the reason recorded; else a failure with that
 *    reason. 'auto' with runner mode off is plain direct-ssh (nothing was attempted, nothing to record).
 * A failure that retrying cannot fix (connection refused, no route, DNS, authentication, host key) is never retried
 * and never falls back: the attempt fails at once with the same message direct-ssh gives.
 * Every decision is announced to onDecision listeners (diagnostics and the single-path test).
 * It also reads the rollout phases (settings.rollout): the mode a new event starts with (phase 2) and whether
 * direct-ssh is deprecated or a fallback only (phase 5), so no other module reads those settings either.
 */
import { AppError, messageOf } from '../errors';
import { isPermanentConnectFailure } from '../ssh/errors';
import type { SettingsService } from '../settings/settings-service';
import type { CompatibleRunner } from '../runners/runner-service';
import type { RunnerRequirements } from '../../../src-shared/contract/events';
import type { ExecutionMode } from '../../../src-shared/contract/settings';
import type { RunnerProvisioning } from './runner-provisioning';
import type { RolloutStatus } from '../../../src-shared/contract/rollout';

export type RunMode = 'direct-ssh' | 'runner-ssh';

export interface ModeRequest {
  jobId: string;
  trigger: string;
  requestedMode: ExecutionMode;
  eventName: string;
  serverId: string;
  serverName: string;
  runnerRequirements: RunnerRequirements | null;
}

export interface ModeDecision {
  mode: RunMode;
  /** Why an 'auto' job runs direct-ssh although the runner was tried (recorded on the job and in its log). */
  fallbackReason?: string;
  /** The runner made ready for a runner-ssh attempt. */
  runner?: CompatibleRunner;
}

export interface DecisionRecord {
  jobId: string;
  trigger: string;
  requestedMode: ExecutionMode;
  /** The mode the attempt runs with, or null when it cannot run at all. */
  mode: RunMode | null;
  fallbackReason: string | null;
  error: string | null;
  /** 'start' when decided before the attempt, 'runner-start-failed' when decided after the runner failed to start. */
  stage: 'start' | 'runner-start-failed';
}

/**
 * Whether a runner may be deployed (or redeployed) without a person asking: RunnerSettings.enabled, ssh_runner_enabled
 * and ssh_runner_auto_deploy. The policy hands it to ensureRunner; the runner service asks it only when no caller did
 * (a direct call, a tampered runner found by a health check).
 */
export function runnerAutoDeployAllowed(settings: Pick<SettingsService, 'current' | 'flag'>): boolean {
  return settings.current().runner.enabled && settings.flag('ssh_runner_enabled') && settings.flag('ssh_runner_auto_deploy');
}

export class ModePolicy {
  private readonly listeners = new Set<(record: DecisionRecord) => void>();

  constructor(private readonly deps: { settings: Pick<SettingsService, 'current' | 'flag'>; provisioning: RunnerProvisioning }) {}

  /** Runner mode is on: RunnerSettings.enabled and the ssh_runner_enabled flag. */
  runnerEnabled(): boolean {
    return this.deps.settings.current().runner.enabled && this.deps.settings.flag('ssh_runner_enabled');
  }

  /** A missing or incompatible runner may be deployed by ensureRunner (see runnerAutoDeployAllowed). */
  mayAutoDeploy(): boolean {
    return runnerAutoDeployAllowed(this.deps.settings);
  }

  /** ssh_runner_streaming_logs: on = runner lines stored as they arrive; off = collected from the runner when the job ends. */
  streamingLogs(): boolean {
    return this.deps.settings.flag('ssh_runner_streaming_logs');
  }

  /**
   * The rollout phases as they apply now. Phase 2: while runner mode is on and "new events default to runner mode"
   * is set, a new event starts in the runner default (auto unless RunnerSettings says runner-ssh); otherwise direct-ssh.
   * Phase 5 only means something while runner mode is on (there is nothing else to run with).
   */
  rolloutStatus(): RolloutStatus {
    const s = this.deps.settings.current();
    const runnerOn = this.runnerEnabled();
    const runnerDefault = s.runner.defaultExecutionMode === 'runner-ssh' ? 'runner-ssh' : 'auto';
    return {
      runnerEnabled: runnerOn,
      newEventMode: runnerOn && s.rollout.newEventsUseRunner ? runnerDefault : 'direct-ssh',
      directSshDeprecated: runnerOn && s.rollout.directSshDeprecated,
      directSshFallbackOnly: runnerOn && s.rollout.directSshFallbackOnly,
    };
  }

  /**
   * Phase 5's "direct-ssh only as fallback": a manual run of a direct-ssh event must say it means it. Throws
   * DIRECT_RUN_NEEDS_CHOICE when it did not; schedules and workflow steps are not asked (nobody is there to choose).
   */
  checkManualRun(eventName: string, mode: ExecutionMode, explicitDirect: boolean): void {
    if (mode !== 'direct-ssh' || explicitDirect || !this.rolloutStatus().directSshFallbackOnly) return;
    throw new AppError(
      'DIRECT_RUN_NEEDS_CHOICE',
      `${eventName} runs in direct-ssh, which is only a fallback now (Settings > Rollout): choose "run direct-ssh anyway" to run it like this, or move it to runner mode in the migration wizard.`,
    );
  }

  onDecision(listener: (record: DecisionRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The mode of one attempt (and its runner when it is runner-ssh). Throws when the attempt cannot run at all. */
  async decide(req: ModeRequest): Promise<ModeDecision> {
    try {
      const decision = await this.decideInner(req);
      this.announce(req, 'start', decision.mode, decision.fallbackReason ?? null, null);
      return decision;
    } catch (err) {
      this.announce(req, 'start', null, null, messageOf(err));
      throw err;
    }
  }

  /**
   * The runner was chosen but could not be started (payload, tunnel, start): direct-ssh for an 'auto' job when
   * fallback is allowed, else the error to fail the attempt with.
   */
  afterRunnerStartFailed(req: ModeRequest, err: unknown): { mode: 'direct-ssh'; fallbackReason: string } {
    try {
      const reason = `the runner could not be started on ${req.serverName}: ${messageOf(err)}`;
      const fallback = this.fallbackOrThrow(req, err, reason);
      this.announce(req, 'runner-start-failed', 'direct-ssh', fallback.fallbackReason, null);
      return fallback;
    } catch (failure) {
      this.announce(req, 'runner-start-failed', null, null, messageOf(failure));
      throw failure;
    }
  }

  private async decideInner(req: ModeRequest): Promise<ModeDecision> {
    if (req.requestedMode === 'direct-ssh') return { mode: 'direct-ssh' };
    if (req.requestedMode === 'container') {
      throw new AppError('MODE_UNSUPPORTED', 'container execution is not available yet; choose auto, direct-ssh or runner-ssh');
    }
    const runnerOn = this.runnerEnabled();
    if (req.requestedMode === 'runner-ssh') {
      if (!runnerOn) {
        throw new AppError('RUNNER_DISABLED', `${req.eventName} asks for runner-ssh, but runner mode is turned off in Settings (runner enabled / ssh_runner_enabled); turn it on or use direct-ssh`);
      }
      try {
        // No other way to run it: a failure that may pass (a dropped link during a deploy) is tried again.
        return { mode: 'runner-ssh', runner: await this.deps.provisioning.ensureRunner(req.serverId, req.runnerRequirements, { retryTransient: true, mayDeploy: this.mayAutoDeploy() }) };
      } catch (err) {
        if (isPermanentConnectFailure(err)) throw err;
        throw new AppError('RUNNER_UNAVAILABLE', `the runner could not be started on ${req.serverName}: ${messageOf(err)}`, { cause: err });
      }
    }
    if (!runnerOn) return { mode: 'direct-ssh' };
    try {
      return { mode: 'runner-ssh', runner: await this.deps.provisioning.ensureRunner(req.serverId, req.runnerRequirements, { retryTransient: false, mayDeploy: this.mayAutoDeploy() }) };
    } catch (err) {
      return this.fallbackOrThrow(req, err, `no runner could be used on ${req.serverName}: ${messageOf(err)}`);
    }
  }

  private fallbackOrThrow(req: ModeRequest, err: unknown, reason: string): { mode: 'direct-ssh'; fallbackReason: string } {
    // direct-ssh would fail the same way: the same error, at once.
    if (isPermanentConnectFailure(err)) throw err;
    const s = this.deps.settings.current();
    if (req.requestedMode === 'auto' && s.runner.fallbackToDirect && this.deps.settings.flag('ssh_runner_fallback')) {
      return { mode: 'direct-ssh', fallbackReason: reason };
    }
    if (req.requestedMode !== 'auto') throw new AppError('RUNNER_UNAVAILABLE', reason, { cause: err });
    throw new AppError('RUNNER_UNAVAILABLE', `${reason}; falling back to direct-ssh is turned off (fallbackToDirect / ssh_runner_fallback)`, { cause: err });
  }

  private announce(req: ModeRequest, stage: DecisionRecord['stage'], mode: RunMode | null, fallbackReason: string | null, error: string | null): void {
    const record: DecisionRecord = { jobId: req.jobId, trigger: req.trigger, requestedMode: req.requestedMode, mode, fallbackReason, error, stage };
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch {
        // a listener's failure must not change how a job runs
      }
    }
  }
}
