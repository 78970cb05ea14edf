/**
 * The runner range this app build speaks: the wire protocol versions it understands and the oldest runner release it
 * will use. A runner outside the range is never used for a job (runner-version-policy.ts says so, and what happens
 * next under the update policy). Pure data: the app and its tests import it; the runner never needs it.
 */
import { RUNNER_PROTOCOL_VERSION } from './runner-info';

export interface RunnerRange {
  /** Wire protocol versions (runner-info.ts RUNNER_PROTOCOL_VERSION) this app speaks, inclusive. */
  protocol: { min: number; max: number };
  /** The oldest runner release this app uses (semver); older ones predate fixes the app relies on. */
  minVersion: string;
}

/** Bump minVersion when a runner fix must reach every server; widen protocol when the app learns a new protocol. */
export const APP_RUNNER_RANGE: RunnerRange = {
  protocol: { min: RUNNER_PROTOCOL_VERSION, max: RUNNER_PROTOCOL_VERSION },
  minVersion: '1.0.0',
};

/** "protocol 1, version >= 1.0.0" or "protocol 1-2, version >= 1.0.0", for messages and the Runners pane. */
export function describeRunnerRange(range: RunnerRange): string {
  const p = range.protocol.min === range.protocol.max ? `${range.protocol.min}` : `${range.protocol.min}-${range.protocol.max}`;
  return `protocol ${p}, version >= ${range.minVersion}`;
}
