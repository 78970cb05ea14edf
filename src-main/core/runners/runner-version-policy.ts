/**
 * The runner version strategy (docs/architecture.md "Runner versions"): whether a deployed runner is inside the range
 * this app speaks, and what the update policy does next about it (upgrade at its next use, upgrade now, or wait for a
 * person). Pure functions: RunnerService.ensureRunner (the one provisioning path), the eager follow after an app
 * update and the Runners pane all ask here, so the three can never disagree. Nothing here talks to a server.
 */
import { describeRunnerRange, type RunnerRange } from '../../../src-shared/protocol/runner-range';
import type { RunnerUpdatePolicy } from '../../../src-shared/contract/settings';
import { compareVersions, parseVersion } from './runner-version';

export interface RunnerFacts {
  version: string;
  /** The protocol the runner reported at its handshake; null for deployments recorded before it was kept. */
  protocolVersion: number | null;
}

/** Why the runner is outside the range (it is then never used for a job), or null when it is inside. */
export function rangeProblem(runner: RunnerFacts, range: RunnerRange): string | null {
  try {
    parseVersion(runner.version);
  } catch {
    return `runner "${runner.version}" has no readable version, so it is outside this app's range (${describeRunnerRange(range)})`;
  }
  if (compareVersions(runner.version, range.minVersion) < 0) {
    return `runner ${runner.version} is older than this app's range (${describeRunnerRange(range)})`;
  }
  const p = runner.protocolVersion;
  if (p !== null && (p < range.protocol.min || p > range.protocol.max)) {
    return `runner ${runner.version} speaks protocol ${p}, outside this app's range (${describeRunnerRange(range)})`;
  }
  return null;
}

export type FollowStep =
  /** Nothing to do: the runner is the target version or newer, and inside the range. */
  | { kind: 'current' }
  /** Upgrade to `to`: at the runner's next use ('on-next-use'), or now and at next use ('eager'). */
  | { kind: 'upgrade'; to: string; when: 'next-use' | 'now'; outOfRange: string | null }
  /** The policy is manual: a person upgrades it. With `outOfRange` set, the runner is not used until then. */
  | { kind: 'manual'; to: string; outOfRange: string | null };

/**
 * What the update policy does about one deployed runner, given the version this app deploys (`target`,
 * settings.runner.defaultVersion). A runner newer than the target is left alone (a person chose it) unless it is
 * outside the range.
 */
export function followStep(args: { policy: RunnerUpdatePolicy; range: RunnerRange; target: string; runner: RunnerFacts }): FollowStep {
  const outOfRange = rangeProblem(args.runner, args.range);
  const behind = outOfRange !== null || compareVersions(args.target, args.runner.version) > 0;
  if (!behind) return { kind: 'current' };
  if (args.policy === 'manual') return { kind: 'manual', to: args.target, outOfRange };
  return { kind: 'upgrade', to: args.target, when: args.policy === 'eager' ? 'now' : 'next-use', outOfRange };
}

/** The Runners pane's "next step" column. */
export function describeFollowStep(step: FollowStep): string {
  switch (step.kind) {
    case 'current':
      return 'up to date';
    case 'upgrade':
      return step.when === 'now'
        ? `upgrading to ${step.to} on all reachable servers (eager policy)`
        : `upgrades to ${step.to} before its next job${step.outOfRange ? ' (outside the app\'s range: not used until then)' : ''}`;
    case 'manual':
      return step.outOfRange
        ? `outside the app's range: not used until you upgrade it to ${step.to} (manual policy)`
        : `${step.to} is available: upgrade it when you choose (manual policy)`;
  }
}
