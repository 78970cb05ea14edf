/**
 * What a runner says about itself: its version, protocol version and capabilities, and the shape of the JSON its
 * `version` and `health --json` commands print. Shared by the runner (which prints it) and the app (which parses it).
 * Pure data and schemas only: nothing here may touch Node, the file system or the app.
 */
import { z } from 'zod';

/** The runner version this source tree builds. RunnerSettings.defaultVersion (RUNNER_DEFAULT_VERSION) defaults to it. */
export const RUNNER_VERSION = '1.0.0';
/** Bumped when the app <-> runner wire protocol changes incompatibly. */
export const RUNNER_PROTOCOL_VERSION = 1;
/**
 * What this runner can do; the app asks for these through runner requirements ({ capabilities: [...] }).
 * spool: every output line is kept on disk with a sequence number; helpers: answers helper calls over the socket;
 * replay: re-sends from a sequence after re-attaching; cancel: ends the job's process group; health: `health --json`;
 * channel-auth-v1: proves the per-job key on every connection (channel-auth.ts); the app refuses runners without it.
 * log-columns-v1: sends log batches column-wise (runner-wire encodeLogColumns / checkLogColumns) once the app's welcome asks for it.
 */
export const RUNNER_CAPABILITIES = ['spool', 'helpers', 'replay', 'cancel', 'health', 'channel-auth-v1', 'log-columns-v1'] as const;

/** 'sea': a single executable carrying its own Node; 'js': one CommonJS file run by the server's Node >= 18. */
export const RunnerKind = z.enum(['sea', 'js']);
export type RunnerKind = z.infer<typeof RunnerKind>;

/** The oldest Node a JS-only runner artifact runs under. */
export const RUNNER_MIN_NODE_MAJOR = 18;

/** Printed by `cronium-runner version` as one JSON line on stdout. */
export const RunnerVersionInfo = z.object({
  version: z.string().min(1).max(64),
  protocolVersion: z.number().int().positive(),
  os: z.string().min(1).max(32),
  arch: z.string().min(1).max(32),
  capabilities: z.array(z.string().max(64)).max(64),
  kind: RunnerKind,
});
export type RunnerVersionInfo = z.infer<typeof RunnerVersionInfo>;

/** Printed by `cronium-runner health --json` as one JSON line on stdout. */
export const RunnerHealthReport = z.object({
  /** Percent of all CPUs busy, sampled over about 200 ms (or the 1-minute load average per CPU where /proc is absent). */
  cpuUsage: z.number().min(0),
  /** Percent of physical memory in use (MemAvailable-based where /proc/meminfo exists). */
  memoryUsage: z.number().min(0).max(100),
  /** Free MB on the file system holding the runner's folder (~/.cronium). */
  diskSpace: z.number().min(0),
  executionQueue: z.object({ queued: z.number().int().min(0), running: z.number().int().min(0) }),
  /** Seconds the server has been up. */
  uptime: z.number().min(0),
});
export type RunnerHealthReport = z.infer<typeof RunnerHealthReport>;

/** Exit code for a command line the runner does not understand (usage printed on stderr). */
export const RUNNER_EXIT_USAGE = 2;
/** The exit code of the app's integrity guard (runner-integrity.ts) when it refused to run the runner; no runner code uses it. */
export const INTEGRITY_EXIT_CODE = 97;
