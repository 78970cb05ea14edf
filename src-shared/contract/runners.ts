/**
 * Runners: the artifacts this workstation can deploy, the deployments on each server (with their history and health),
 * and the deploy / upgrade / roll back / remove actions. Views carry facts (versions, checksums, reasons), never a
 * credential or a path on this workstation that a server could not see anyway.
 */
import { z } from 'zod';
import { call, errorCodeSchema, NoInput, Ok } from './define';
import { RunnerRequirements } from './events';
import { RunnerKind } from '../protocol/runner-info';

export { RunnerRequirements };

/** 'tampered': the file on the server was found replaced or altered after it was deployed (reason says how). */
export const RunnerDeploymentStatus = z.enum(['active', 'failed', 'updating', 'superseded', 'removed', 'tampered']);
export type RunnerDeploymentStatus = z.infer<typeof RunnerDeploymentStatus>;

export const RunnerHealthState = z.enum(['healthy', 'degraded', 'unhealthy', 'unknown']);
export type RunnerHealthState = z.infer<typeof RunnerHealthState>;

export const RunnerArtifactView = z.object({
  id: z.string(),
  version: z.string(),
  os: z.string(),
  arch: z.string(),
  kind: RunnerKind,
  /** Bytes of the executable (uncompressed) and of the gzip file that is uploaded. */
  size: z.number().int(),
  compressedSize: z.number().int(),
  sha256: z.string(),
  keyId: z.string(),
  /** Listed artifacts passed signature verification on load; refused ones are in `rejected`. */
  signature: z.literal('verified'),
  capabilities: z.array(z.string()),
  createdAt: z.string(),
});
export type RunnerArtifactView = z.infer<typeof RunnerArtifactView>;

export const RunnerArtifactsView = z.object({
  artifacts: z.array(RunnerArtifactView),
  rejected: z.array(z.object({ manifestPath: z.string(), code: errorCodeSchema(), message: z.string() })),
});
export type RunnerArtifactsView = z.infer<typeof RunnerArtifactsView>;

export const RunnerHealthView = z.object({
  state: RunnerHealthState,
  /** Why the state is what it is ("disk 120 MB free, below 256 MB"); null when healthy. */
  reason: z.string().nullable(),
  checkedAt: z.string(),
  durationMs: z.number(),
  cpuUsage: z.number().nullable(),
  memoryUsage: z.number().nullable(),
  diskSpaceMb: z.number().nullable(),
  queued: z.number().int().nullable(),
  running: z.number().int().nullable(),
});
export type RunnerHealthView = z.infer<typeof RunnerHealthView>;

export const RunnerHistoryEntry = z.object({ at: z.string(), event: z.string(), message: z.string() });
export type RunnerHistoryEntry = z.infer<typeof RunnerHistoryEntry>;

export const RunnerDeploymentView = z.object({
  id: z.string(),
  serverId: z.string().nullable(),
  serverName: z.string().nullable(),
  version: z.string(),
  status: RunnerDeploymentStatus,
  deployedAt: z.string(),
  lastHealthCheck: z.string().nullable(),
  kind: RunnerKind.nullable(),
  os: z.string().nullable(),
  arch: z.string().nullable(),
  /** Where the runner lives on the server, e.g. /home/deploy/.cronium/runners/1.0.0/cronium-runner. */
  path: z.string().nullable(),
  sha256: z.string().nullable(),
  capabilities: z.array(z.string()),
  /** For a failed or rolled-back deployment: what went wrong and what to do. */
  reason: z.string().nullable(),
  /** Bytes sent by the last install (0 when the server already had this version verified). */
  transferredBytes: z.number().int(),
  health: RunnerHealthView.nullable(),
  history: z.array(RunnerHistoryEntry),
});
export type RunnerDeploymentView = z.infer<typeof RunnerDeploymentView>;

export const RunnerCompatibility = z.object({
  serverId: z.string(),
  compatible: z.boolean(),
  version: z.string().nullable(),
  reason: z.string().nullable(),
});
export type RunnerCompatibility = z.infer<typeof RunnerCompatibility>;

const ServerRef = z.object({ serverId: z.string().min(1) });
const Version = z.string().regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'must be a version like 1.2.3');

export const RunnerUpgradeResult = z.object({
  deployment: RunnerDeploymentView,
  /** True when the new version failed and the previous one was re-activated. */
  rolledBack: z.boolean(),
  reason: z.string().nullable(),
});
export type RunnerUpgradeResult = z.infer<typeof RunnerUpgradeResult>;

/** One server's outcome in a bulk deploy. */
export const RunnerDeployManyItem = z.object({
  serverId: z.string(),
  ok: z.boolean(),
  deployment: RunnerDeploymentView.nullable(),
  error: z.string().nullable(),
  durationMs: z.number(),
});
export type RunnerDeployManyItem = z.infer<typeof RunnerDeployManyItem>;

/** The version strategy per server (docs/architecture.md "Runner versions"), for the Runners pane. */
export const RunnerVersionStatus = z.object({
  /** The runner range this app speaks: protocol versions and the oldest runner release it uses. */
  range: z.object({ protocolMin: z.number().int(), protocolMax: z.number().int(), minVersion: z.string() }),
  /** The version runners follow (settings.runner.defaultVersion). */
  targetVersion: z.string(),
  policy: z.enum(['on-next-use', 'eager', 'manual']),
  servers: z.array(
    z.object({
      serverId: z.string(),
      serverName: z.string().nullable(),
      version: z.string().nullable(),
      protocolVersion: z.number().int().nullable(),
      /** Why the runner is outside the range (then it is never used), or null. */
      outOfRange: z.string().nullable(),
      /** What the update policy does next, in words ("upgrades to 1.0.0 before its next job"). */
      nextStep: z.string(),
      lastUpgrade: z.object({ at: z.string(), outcome: z.enum(['upgraded', 'rolled-back', 'failed']), message: z.string() }).nullable(),
    }),
  ),
});
export type RunnerVersionStatus = z.infer<typeof RunnerVersionStatus>;

export const runnersCalls = {
  /** Per server: runner version, whether it is in the app's range, the update policy's next step, the last upgrade. */
  'runners/versionStatus': call(NoInput, RunnerVersionStatus),
  'runners/artifacts': call(NoInput, RunnerArtifactsView),
  /** Every deployment (newest first), of one server or of all: the rows are the deployment history. */
  'runners/deployments': call(z.object({ serverId: z.string().min(1).optional() }).optional(), z.array(RunnerDeploymentView)),
  'runners/deploy': call(ServerRef.extend({ version: Version.optional() }), RunnerDeploymentView),
  /** Deploys to many servers, settings.runner.deployParallelism at a time; progress per server as 'runners/progress'. */
  'runners/deployMany': call(z.object({ serverIds: z.array(z.string().min(1)).min(1).max(500), version: Version.optional() }), z.array(RunnerDeployManyItem)),
  'runners/upgrade': call(ServerRef.extend({ version: Version }), RunnerUpgradeResult),
  'runners/rollback': call(ServerRef, RunnerDeploymentView),
  'runners/remove': call(ServerRef, Ok),
  'runners/checkHealth': call(z.object({ deploymentId: z.string().min(1) }), RunnerHealthView),
  'runners/compatibility': call(
    z.object({ serverIds: z.array(z.string().min(1)).max(500), requirements: RunnerRequirements.nullable() }),
    z.array(RunnerCompatibility),
  ),
};

export const runnersEvents = {
  /** A deployment of this server changed (status, health, history): reload it. */
  'runners/changed': z.object({ serverId: z.string().nullable(), deploymentId: z.string().nullable() }),
  /** A step of a deploy / upgrade / rollback / remove in progress. */
  'runners/progress': z.object({ serverId: z.string(), step: z.string(), message: z.string() }),
  'runners/healthChanged': z.object({
    serverId: z.string().nullable(),
    serverName: z.string().nullable(),
    deploymentId: z.string(),
    from: RunnerHealthState,
    to: RunnerHealthState,
    reason: z.string().nullable(),
  }),
};
