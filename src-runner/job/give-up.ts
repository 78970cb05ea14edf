/**
 * The supervisor's give-up rule: how long a runner keeps trying to reach the app while nobody is attached. It stops
 * once its job is collected (the app acknowledged the exit, or another runner process delivered it, or the job folder
 * is gone) or once the job's own retention is over (its timeout plus a grace: by then the app has settled the job
 * without it), whichever comes first, and never later than the linger times (10 min after the exit, 30 min waiting
 * for the environment). A running script is never left. Pure: the supervisor owns the timers.
 */

/** An exited job nobody collects is kept reachable this long (then only its spool remains, for `attach`). */
export const EXITED_LINGER_MS = 10 * 60_000;
/** A job still waiting for its environment gives up after this long. */
export const STARTING_LINGER_MS = 30 * 60_000;
/**
 * After its timeout the app ends an unreachable job within its cancel grace plus 15 s (TIMEOUT, "could not be
 * reached"): past this grace nobody will come for it over the stream any more.
 */
export const RETENTION_GRACE_MS = 60_000;

export interface GiveUpInput {
  state: 'starting' | 'running' | 'exited';
  /** Epoch ms the job started (the supervisor's start). */
  startedAt: number;
  now: number;
  /** The job's timeout from its payload manifest, when known. */
  timeoutSeconds?: number | null;
  /** CRONIUM_RUNNER_LINGER_MS: overrides the linger times (tests, operators). */
  lingerOverrideMs?: number | null;
}

/** Milliseconds from `now` until the runner stops trying; null while the script runs (it is never left). */
export function giveUpDelayMs(input: GiveUpInput): number | null {
  if (input.state === 'running') return null;
  const linger = input.lingerOverrideMs && input.lingerOverrideMs > 0 ? input.lingerOverrideMs : input.state === 'exited' ? EXITED_LINGER_MS : STARTING_LINGER_MS;
  if (!input.timeoutSeconds || input.timeoutSeconds <= 0) return linger;
  const retentionLeft = input.startedAt + input.timeoutSeconds * 1000 + RETENTION_GRACE_MS - input.now;
  return Math.max(0, Math.min(linger, retentionLeft));
}

/** What the job folder says about collection: state.json gone (folder removed) or marked delivered. */
export function isCollected(record: { delivered?: boolean } | null, folderExists: boolean): boolean {
  return !folderExists || record?.delivered === true;
}
