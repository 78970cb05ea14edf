/**
 * RunnerService: the runner lifecycle per server. Deploy, upgrade (with automatic rollback when the new version fails
 * its handshake or first health check), manual rollback, removal, health checks, and the questions the executors ask
 * (getCompatibleRunner / ensureRunner). It records every outcome in runner_deployments with a reason a person can act
 * on, and serialises the operations of one server so two callers never deploy to it at once. It never talks to a
 * server except through RunnerDeployer and HealthMonitor.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { recordAudit } from '../audit-log';
import type {
  RunnerArtifactsView,
  RunnerCompatibility,
  RunnerDeploymentStatus,
  RunnerDeploymentView,
  RunnerHealthView,
  RunnerRequirements,
  RunnerUpgradeResult,
  RunnerDeployManyItem,
} from '../../../src-shared/contract/runners';
import type { Clock } from '../clock';
import type { AppDatabase } from '../db/database';
import { nowIso } from '../db/ids';
import { AppError, isAppError } from '../errors';
import type { EventBus } from '../event-bus';
import type { Metrics } from '../metrics/metrics';
import type { SettingsService } from '../settings/settings-service';
import type { SshPool } from '../ssh/ssh-pool';
import type { ArtifactStore } from './artifact-store';
import { HealthMonitor } from './health-monitor';
import { RunnerDeployer, runnerCommand, stepOf, type DeployStep, type InstallResult } from './runner-deployer';
import { RunnerDeployments, guardedRunnerOf, type DeploymentRecord } from './runner-deployments';
import { compareVersions, hasUsableNode, isAtLeast } from './runner-version';
import { describeFingerprint, type FileCheck, type GuardedRuntime, type RunnerFingerprint } from './runner-integrity';
import { RUNNER_MIN_NODE_MAJOR } from '../../../src-shared/protocol/runner-info';
import { messageOf } from '../errors';
import { runnerAutoDeployAllowed } from '../execution/mode-policy';
import { APP_RUNNER_RANGE, type RunnerRange } from '../../../src-shared/protocol/runner-range';
import type { RunnerVersionStatus } from '../../../src-shared/contract/runners';
import { describeFollowStep, followStep, rangeProblem } from './runner-version-policy';
import type { JobHosts } from './job-hosts';

/** How long the cheap and full integrity checks may take on one server. */
const INTEGRITY_CHECK_TIMEOUT_MS = 30_000;

export interface RunnerServiceDeps {
  db: AppDatabase;
  settings: SettingsService;
  bus: EventBus;
  metrics: Metrics;
  clock: Clock;
  ssh: SshPool;
  artifacts: ArtifactStore;
  /** The runner range this app speaks (APP_RUNNER_RANGE unless a test simulates another app build). */
  range?: RunnerRange;
  /** The job hosts (job-hosts.ts): a server's are forgotten when its runners are removed. */
  jobHosts?: Pick<JobHosts, 'forgetServer'>;
}

/** History events that record an upgrade's outcome on the deployment that is active after it. */
const UPGRADE_OUTCOME_EVENTS = new Set(['upgrade-ok', 'upgrade-rolled-back', 'upgrade-failed']);

/** What the executors get: where the runner is and how to start it. */
export interface CompatibleRunner {
  deploymentId: string;
  serverId: string;
  version: string;
  kind: 'sea' | 'js';
  /** Absolute path on the server. */
  path: string;
  /** Shell words that start it: append the runner's arguments (`run ...`, `attach ...`). */
  command: string;
  capabilities: string[];
  protocolVersion: number | null;
  /** The file's fingerprint at deploy; every use runs integrityGuard() first (null only for old deployments). */
  fingerprint: RunnerFingerprint | null;
  /** With a runtime: the code bundle's signed sha256, which integrityGuard() hashes in full before every use. */
  sha256: string | null;
  /** The runtime the bundle runs under (a server without Node); its fingerprint is checked before every use. */
  runtime: GuardedRuntime | null;
}

/** What fullCheckDeployment found: the runner file, its runtime (if any), and the server's node (undefined: not asked). */
type DeploymentFullCheck = { full: FileCheck; runtimeFull: FileCheck | null; node: string | null | undefined };

/** Where a runner file was found not to be the deployed one: the reason and notice say so. */
export type IntegrityCheckpoint = 'job start' | 're-attach' | 'cancel' | 'health check' | 'deploy' | 'first use';

interface Operation {
  serverId: string;
  serverName: string;
  signal: AbortSignal;
  deadline: number;
  progress(step: DeployStep | 'rollback' | 'done' | 'failed', message: string): void;
}

export class RunnerService {
  readonly deployments: RunnerDeployments;
  readonly deployer: RunnerDeployer;
  readonly health: HealthMonitor;
  /** Per-server chain of operations: deploy / upgrade / rollback / remove run one at a time per server. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private scanned: Promise<unknown> | undefined;
  readonly range: RunnerRange;
  private unsubscribeSettings: (() => void) | undefined;

  constructor(private readonly deps: RunnerServiceDeps) {
    this.range = deps.range ?? APP_RUNNER_RANGE;
    this.deployments = new RunnerDeployments(deps.db, deps.clock);
    this.deployer = new RunnerDeployer({ ssh: deps.ssh, artifacts: deps.artifacts, clock: deps.clock });
    this.health = new HealthMonitor({
      deployments: this.deployments,
      deployer: this.deployer,
      settings: deps.settings,
      bus: deps.bus,
      metrics: deps.metrics,
      clock: deps.clock,
      onChecked: (record) => this.autoUpgrade(record),
      periodicFullCheck: (record) => this.periodicFullCheck(record),
      onIntegrityMismatch: async (record) => {
        const runner = toCompatible(record);
        try {
          const after = await this.settleIntegrity(runner, 'health check');
          if (after.deploymentId === record.id) return null;
          const reason = (await this.deployments.get(record.id))?.metadata.reason ?? 'the runner file had been replaced';
          return `${reason}; redeployed (deployment ${after.deploymentId})`;
        } catch (err) {
          return messageOf(err);
        }
      },
    });
  }

  start(): void {
    this.health.start();
    // The eager policy: after an app update, every reachable runner behind it follows now (and again whenever the
    // policy is turned to eager); the others follow at their next use or health check.
    const sweep = () => void this.followAppVersion().catch((err: unknown) => console.warn(`[runners] eager follow failed: ${messageOf(err)}`));
    let policy = this.deps.settings.current().runner.updatePolicy;
    this.unsubscribeSettings = this.deps.bus.subscribe((name) => {
      if (name !== 'settings/changed') return;
      const now = this.deps.settings.current().runner.updatePolicy;
      if (now === 'eager' && policy !== 'eager') sweep();
      policy = now;
    });
    sweep();
  }

  async stop(): Promise<void> {
    this.unsubscribeSettings?.();
    await this.health.stop();
  }

  // ---- queries --------------------------------------------------------------------------------------------------

  /**
   * Imports and registers the bundled artifacts once (hashing them takes a moment, so not at start-up); `rescan`
   * looks again (after a runner build, or a changed RUNNER_ARTIFACT_PATH).
   */
  ready(rescan = false): Promise<unknown> {
    if (rescan || !this.scanned) {
      const scan = this.deps.artifacts.scan();
      this.scanned = scan;
      scan.catch(() => {
        if (this.scanned === scan) this.scanned = undefined;
      });
    }
    return this.scanned!;
  }

  async artifacts(): Promise<RunnerArtifactsView> {
    await this.ready();
    const list = await this.deps.artifacts.list();
    return {
      artifacts: list.map((a) => ({
        id: a.id,
        version: a.version,
        os: a.os,
        arch: a.arch,
        kind: a.kind,
        size: a.size,
        compressedSize: a.compressedSize,
        sha256: a.sha256,
        keyId: a.keyId,
        signature: 'verified' as const,
        capabilities: a.capabilities,
        createdAt: a.createdAt,
      })),
      rejected: this.deps.artifacts.rejected(),
    };
  }

  async listDeployments(serverId?: string): Promise<RunnerDeploymentView[]> {
    return this.deployments.views(await this.deployments.list(serverId));
  }

  /**
   * The server's active deployment if it meets the requirements (minimum version, capabilities), else null.
   * Read-only: no server is contacted. "Verified" means its last install or rollback passed the handshake.
   */
  async getCompatibleRunner(serverId: string, requirements?: RunnerRequirements | null): Promise<CompatibleRunner | null> {
    const active = await this.deployments.active(serverId);
    if (!active || this.incompatibility(active, requirements)) return null;
    return toCompatible(active);
  }

  async compatibility(serverIds: string[], requirements: RunnerRequirements | null): Promise<RunnerCompatibility[]> {
    const out: RunnerCompatibility[] = [];
    for (const serverId of serverIds) {
      const active = await this.deployments.active(serverId);
      if (!active) {
        out.push({ serverId, compatible: false, version: null, reason: 'no runner is deployed on this server yet' });
        continue;
      }
      const why = this.incompatibility(active, requirements);
      out.push({ serverId, compatible: why === null, version: active.version, reason: why });
    }
    return out;
  }

  /**
   * A compatible runner for the server, deploying (or, under the 'on-next-use' / 'eager' update policy, upgrading a
   * runner behind the app) first when the settings allow it. A runner outside the app's range is never returned.
   * Throws RUNNER_NOT_DEPLOYED / RUNNER_OUT_OF_RANGE saying what to do.
   */
  async ensureRunner(serverId: string, requirements?: RunnerRequirements | null, opts: { mayDeploy?: boolean } = {}): Promise<CompatibleRunner> {
    const settings = this.deps.settings.current().runner;
    // The version strategy first: a runner behind this app follows the update policy before it is used.
    await this.followPolicyBeforeUse(serverId);
    let compatible = await this.getCompatibleRunner(serverId, requirements);
    // Recorded before fingerprints existed: hash it once and record one, so every later use is checked cheaply.
    if (compatible && (!compatible.fingerprint || (compatible.runtime && !compatible.runtime.fingerprint))) compatible = await this.settleIntegrity(compatible, 'first use');
    if (compatible) return compatible;
    const server = await this.deployments.requireServer(serverId);
    const active = await this.deployments.active(serverId);
    // The mode policy's answer when it asked (every execution path does); a direct caller gets the same rule.
    const autoDeploy = opts.mayDeploy ?? runnerAutoDeployAllowed(this.deps.settings);
    if (!autoDeploy) {
      const tampered = active ? null : (await this.deployments.list(serverId))[0];
      if (tampered?.status === 'tampered') {
        throw new AppError(
          'RUNNER_TAMPERED',
          `${server.name} cannot run this in runner mode: ${tampered.metadata.reason ?? 'its runner was found altered'}. Automatic deployment is off: deploy the runner again from the Runners pane.`,
          { details: { serverId } },
        );
      }
      const what = active ? `its runner ${active.version} does not meet the requirements (${this.incompatibility(active, requirements)})` : 'no runner is deployed there';
      throw new AppError(
        'RUNNER_NOT_DEPLOYED',
        `${server.name} cannot run this in runner mode: ${what}, and automatic deployment is off. Deploy a runner from the Runners pane, ` +
          'turn on "auto deploy" in Settings, or use direct-ssh for this event.',
        { details: { serverId } },
      );
    }
    // Deploy the default version unless the requirements ask for something newer: then the newest artifact that fits.
    const min = requirements?.minVersion;
    const version = min && compareVersions(min, settings.defaultVersion) > 0 ? undefined : settings.defaultVersion;
    if (active) {
      await this.upgradeInternal(serverId, version, requirements ?? null);
    } else {
      await this.deployInternal(serverId, version, requirements ?? null);
    }
    const now = await this.getCompatibleRunner(serverId, requirements);
    if (!now) {
      const after = await this.deployments.active(serverId);
      throw new AppError(
        'RUNNER_NOT_DEPLOYED',
        `${server.name}: the runner deployed there (${after?.version ?? 'none'}) still does not meet the requirements` +
          `${after ? ` (${this.incompatibility(after, requirements)})` : ''}. Build or install a runner that has them, or use direct-ssh.`,
        { details: { serverId } },
      );
    }
    return now;
  }

  // ---- actions --------------------------------------------------------------------------------------------------

  /** Deploys `version` (default: settings.runner.defaultVersion). Re-deploying the active version transfers nothing. */
  deployRunner(serverId: string, version?: string): Promise<RunnerDeploymentView> {
    return this.serial(serverId, async () => this.deployments.view(await this.deployRunnerNow(serverId, version))).then((view) =>
      this.audit('runner.deploy', serverId, { version: view.version, serverName: view.serverName }).then(() => view),
    );
  }

  upgrade(serverId: string, version: string): Promise<RunnerUpgradeResult> {
    return this.serial(serverId, () => this.upgradeNow(serverId, version, null)).then((result) =>
      this.audit('runner.upgrade', serverId, { version, rolledBack: result.rolledBack, serverName: result.deployment.serverName }).then(() => result),
    );
  }

  /** One audit line for a runner action a person asked for (the subject is the server). */
  private async audit(action: string, serverId: string, detail: Record<string, unknown>): Promise<void> {
    await recordAudit(this.deps.db, { at: this.deps.clock.now(), actor: 'user', action, subject: serverId, detail }).catch((err: unknown) =>
      console.error(`[runners] could not record ${action} in the audit log:`, err),
    );
  }

  /** Re-activates the previous version (the most recent superseded one), reinstalling it if it is gone or altered. */
  rollback(serverId: string): Promise<RunnerDeploymentView> {
    return this.serial(serverId, async () => {
      const op = await this.operation(serverId);
      try {
        const current = await this.deployments.active(serverId);
        const previous = (await this.deployments.list(serverId)).find(
          (d) => d.status === 'superseded' && (!current || d.version !== current.version),
        );
        if (!previous) {
          throw new AppError('RUNNER_NO_PREVIOUS_VERSION', `${op.serverName} has no previous runner version to roll back to; deploy a specific version instead.`);
        }
        const restored = await this.restore(op, previous, current, `rolled back by request from ${current?.version ?? 'no active runner'}`);
        op.progress('done', `${op.serverName} runs runner ${restored.version} again`);
        await this.audit('runner.rollback', serverId, { version: restored.version, from: current?.version ?? null, serverName: op.serverName });
        return this.deployments.view(restored);
      } finally {
        op.finish();
      }
    });
  }

  /** Deletes every runner version from the server and marks its deployments removed. */
  remove(serverId: string): Promise<void> {
    return this.serial(serverId, async () => {
      const op = await this.operation(serverId);
      try {
        op.progress('remove', `Removing runners from ${op.serverName}`);
        await this.deployer.removeAll(serverId, op.serverName, op.signal, op.deadline);
        this.deps.jobHosts?.forgetServer(serverId);
        for (const d of await this.deployments.list(serverId)) {
          if (d.status === 'removed' || d.status === 'failed') continue;
          this.deployments.update(d.id, { status: 'removed', history: { event: 'removed', message: `runner removed from ${op.serverName}` } });
        }
        op.progress('done', `Runners removed from ${op.serverName}`);
        await this.audit('runner.remove', serverId, { serverName: op.serverName });
        this.changed(serverId, null);
      } finally {
        op.finish();
      }
    });
  }

  checkRunnerHealth(deploymentId: string): Promise<RunnerHealthView> {
    return this.health.check(deploymentId);
  }

  /** For status reports from outside (the listener route): records the status and a history line. */
  async updateRunnerStatus(deploymentId: string, status: RunnerDeploymentStatus, message?: string): Promise<RunnerDeploymentView> {
    const record = await this.deployments.require(deploymentId);
    if (status === 'active' && record.serverId) {
      const current = await this.deployments.active(record.serverId);
      if (current && current.id !== deploymentId) {
        this.deployments.update(current.id, { status: 'superseded', history: { event: 'superseded', message: `superseded by ${record.version} (status report)` } });
      }
    }
    const updated = this.deployments.update(deploymentId, {
      status,
      ...(status === 'failed' && message ? { metadata: { reason: message } } : {}),
      history: { event: `status:${status}`, message: message ?? `status set to ${status}` },
    });
    this.changed(updated.serverId, updated.id);
    return this.deployments.view(updated);
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  private deployInternal(serverId: string, version: string | undefined, req: RunnerRequirements | null): Promise<DeploymentRecord> {
    return this.serial(serverId, () => this.deployRunnerNow(serverId, version, req));
  }

  private upgradeInternal(serverId: string, version: string | undefined, req: RunnerRequirements | null): Promise<RunnerUpgradeResult> {
    return this.serial(serverId, () => this.upgradeNow(serverId, version, req));
  }

  private async deployRunnerNow(serverId: string, version?: string, req: RunnerRequirements | null = null): Promise<DeploymentRecord> {
    const active = await this.deployments.active(serverId);
    const wanted = version ?? (req?.minVersion ? undefined : this.deps.settings.current().runner.defaultVersion);
    if (active && wanted !== undefined && active.version !== wanted) {
      // A different version onto a server that has one is an upgrade (or downgrade): same safety net.
      const result = await this.upgradeNow(serverId, wanted, req);
      if (result.rolledBack) throw new AppError('RUNNER_DEPLOY_FAILED', result.reason ?? 'the deployment failed and was rolled back');
      return this.deployments.require(result.deployment.id);
    }
    const op = await this.operation(serverId);
    try {
      const unchanged = active && (wanted === undefined || active.version === wanted) ? await this.unchanged(op, active) : null;
      if (unchanged) return unchanged;
      return await this.installAndRecord(op, wanted, req, await this.deployments.active(serverId));
    } finally {
      op.finish();
    }
  }

  /**
   * A re-deploy of the active version: one cheap check (the recorded fingerprint) instead of a probe and a re-hash.
   * Null when a full install is needed (no fingerprint yet, or the file was replaced: then it is settled first).
   */
  private async unchanged(op: Operation, active: DeploymentRecord): Promise<DeploymentRecord | null> {
    const m = active.metadata;
    if (!m.fingerprint || !m.path || !m.kind) return null;
    op.progress('verify', `Checking runner ${active.version} on ${op.serverName}`);
    const check = await this.deployer.checkFingerprint(op.serverId, op.serverName, guardedRunnerOf(m), Math.max(1000, Math.min(INTEGRITY_CHECK_TIMEOUT_MS, op.deadline - this.deps.clock.now())));
    if (!check.ok) {
      // Settled inline (same server operation): same bytes renew the fingerprint, others mark it tampered.
      const after = await this.settleIntegrity(toCompatible(active), 'deploy', { redeploy: false }).catch(() => null);
      if (!after) return null;
    }
    const updated = this.deployments.update(active.id, { metadata: { transferredBytes: 0 }, history: { event: 'checked', message: `re-deploy of ${active.version}: the file is unchanged since it was deployed (size, inode, ctime); nothing transferred` } });
    op.progress('done', `${op.serverName} runs runner ${active.version} (unchanged, nothing transferred)`);
    this.changed(op.serverId, active.id);
    return updated;
  }

  /**
   * Deploys to many servers, settings.runner.deployParallelism at a time (each server's own operations stay
   * serialised). Progress goes out per server as 'runners/progress'; one server failing does not stop the others.
   */
  async deployMany(serverIds: string[], version?: string): Promise<RunnerDeployManyItem[]> {
    await this.ready();
    const limit = Math.max(1, this.deps.settings.current().runner.deployParallelism);
    const unique = [...new Set(serverIds)];
    const results = new Array<RunnerDeployManyItem>(unique.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < unique.length; i = next++) {
        const serverId = unique[i];
        const started = this.deps.clock.now();
        try {
          const deployment = await this.deployRunner(serverId, version);
          results[i] = { serverId, ok: true, deployment, error: null, durationMs: this.deps.clock.now() - started };
        } catch (err) {
          this.deps.bus.emit('runners/progress', { serverId, step: 'failed', message: messageOf(err) });
          results[i] = { serverId, ok: false, deployment: null, error: messageOf(err), durationMs: this.deps.clock.now() - started };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, unique.length) }, worker));
    return results;
  }

  /**
   * A runner file failed its cheap check (the guard refused to run it). Settles it with a full sha256 on the server:
   * the same bytes renew the recorded fingerprint and the runner is used as before; other bytes (or no file, or a
   * symlink) mark the deployment tampered with the reason, notify, and then redeploy when auto deploy is on
   * (returning the new runner) or throw RUNNER_TAMPERED. Never runs the file it is checking.
   */
  settleIntegrity(runner: CompatibleRunner, where: IntegrityCheckpoint, opts: { redeploy?: boolean } = {}, checked?: DeploymentFullCheck): Promise<CompatibleRunner> {
    return this.serial(runner.serverId, async () => {
      const record = await this.deployments.get(runner.deploymentId);
      // Someone settled it meanwhile (another job on the same server): use what is active now.
      const runtimeFp = (r: { runtime?: { fingerprint: string | null } | null } | null | undefined) => r?.runtime?.fingerprint ?? null;
      if (!record || record.status !== 'active' || (record.metadata.fingerprint ?? null) !== runner.fingerprint || runtimeFp(record.metadata) !== runtimeFp(runner)) {
        const now = await this.getCompatibleRunner(runner.serverId);
        if (now && now.fingerprint && (now.deploymentId !== runner.deploymentId || now.fingerprint !== runner.fingerprint || runtimeFp(now) !== runtimeFp(runner))) return now;
      }
      const current = record ?? (await this.deployments.require(runner.deploymentId));
      const serverName = (await this.deployments.serverName(runner.serverId)) ?? 'the server';
      // One exec hashes the file and the runtime (and reads the server's node for a bundle run under it).
      const { full, runtimeFull, node } = checked ?? (await this.fullCheckDeployment(current, serverName));
      const at = nowIso(this.deps.clock.now());
      const autoDeploy = opts.redeploy !== false && runnerAutoDeployAllowed(this.deps.settings);
      if (node !== undefined && !hasUsableNode(node)) return this.nodeGone(current, serverName, node, where, autoDeploy, opts.redeploy === false);
      const recordedRuntime = current.metadata.runtime;
      const intact = (f: FileCheck, sha: string | null | undefined) => f.kind === 'file' && !!f.sha256 && f.sha256 === sha && !!f.fingerprint;
      const runtimeIntact = !recordedRuntime || (runtimeFull !== null && intact(runtimeFull, recordedRuntime.sha256));
      if (intact(full, current.metadata.sha256) && runtimeIntact) {
        const was = current.metadata.fingerprint;
        const runtimeWas = recordedRuntime?.fingerprint ?? null;
        const runtimeNow = runtimeFull?.fingerprint ?? null;
        const runtimeNote = recordedRuntime && runtimeWas !== runtimeNow ? `; runtime ${recordedRuntime.path}: sha256 is the signed one, fingerprint renewed` : '';
        const updated = this.deployments.update(current.id, {
          metadata: { fingerprint: full.fingerprint, verifiedAt: at, ...(recordedRuntime ? { runtime: { ...recordedRuntime, fingerprint: runtimeNow } } : {}) },
          history: {
            event: 'verified',
            message:
              (was
                ? `${where}: the runner file's details changed (${describeFingerprint(was)} -> ${describeFingerprint(full.fingerprint)}) but its sha256 is the signed one; fingerprint renewed`
                : `${where}: sha256 checked on the server; fingerprint recorded`) + runtimeNote,
            at,
          },
        });
        this.changed(runner.serverId, current.id);
        return toCompatible(updated);
      }
      const describe = (f: FileCheck, sha: string | null | undefined) =>
        f.kind === 'missing' ? 'the file is gone'
          : f.kind === 'symlink' ? 'a symbolic link is in its place'
            : f.sha256 ? `its sha256 is ${f.sha256.slice(0, 12)}…, not the signed ${String(sha).slice(0, 12)}…`
              : 'it could not be hashed';
      const bad = !runtimeIntact && recordedRuntime && runtimeFull
        ? { what: `the runtime of runner ${current.version} at ${recordedRuntime.path}`, found: describe(runtimeFull, recordedRuntime.sha256) }
        : { what: `runner ${current.version} at ${runner.path}`, found: describe(full, current.metadata.sha256) };
      const reason = `${bad.what} on ${serverName} was replaced or altered after it was deployed (${bad.found}; found at ${where}); it was not run`;
      this.markUnusable(current, runner.serverId, serverName, 'tampered', reason, at);
      if (!autoDeploy) {
        const next = opts.redeploy === false ? 'The deploy in progress replaces it.' : 'Deploy it again from the Runners pane.';
        this.deps.bus.emit('system/notice', { level: 'error', message: `Runner on ${serverName} was tampered with: ${reason}. ${next}` });
        throw new AppError('RUNNER_TAMPERED', `${reason}. Automatic deployment is off: deploy the runner again from the Runners pane.`, { details: { serverId: runner.serverId, deploymentId: current.id } });
      }
      this.deps.bus.emit('system/notice', { level: 'error', message: `Runner on ${serverName} was tampered with: ${reason}. Redeploying it.` });
      const redeployed = await this.deployRunnerNow(runner.serverId, current.version);
      return toCompatible(redeployed);
    });
  }

  /**
   * A js bundle deployed to run under the server's node, whose node is now gone or older than RUNNER_MIN_NODE_MAJOR:
   * the deployment is failed (nothing was run) and, when auto deploy allows, deployed again, which then brings the
   * runtime (runtime + the same bundle, which is not sent again). Otherwise RUNNER_NOT_DEPLOYED says what to do.
   */
  private async nodeGone(current: DeploymentRecord, serverName: string, node: string | null, where: IntegrityCheckpoint, autoDeploy: boolean, inDeploy: boolean): Promise<CompatibleRunner> {
    const serverId = current.serverId!;
    const found = node ? `Node ${node}, older than ${RUNNER_MIN_NODE_MAJOR}` : 'no node on its PATH any more';
    const reason = `runner ${current.version} on ${serverName} runs under the server's own node, and the server now has ${found} (found at ${where}); it was not run`;
    this.markUnusable(current, serverId, serverName, 'failed', reason, nowIso(this.deps.clock.now()));
    if (!autoDeploy) {
      const what = `deploy the runner again from the Runners pane (it then brings its own Node runtime), or install Node ${RUNNER_MIN_NODE_MAJOR}+ on the server`;
      if (!inDeploy) this.deps.bus.emit('system/notice', { level: 'warning', message: `Runner on ${serverName} cannot start: ${reason}. To fix it, ${what}.` });
      throw new AppError('RUNNER_NOT_DEPLOYED', `${reason}. Automatic deployment is off: ${what}.`, { details: { serverId, deploymentId: current.id } });
    }
    this.deps.bus.emit('system/notice', { level: 'warning', message: `Runner on ${serverName} cannot start: ${reason}. Redeploying it with its own Node runtime.` });
    return toCompatible(await this.deployRunnerNow(serverId, current.version));
  }

  /** Marks a deployment that must not be used (tampered, or failed) unhealthy with the reason, and says so. */
  private markUnusable(current: DeploymentRecord, serverId: string, serverName: string, status: 'tampered' | 'failed', reason: string, at: string): void {
    const fromHealth = current.metadata.health?.state ?? 'unknown';
    this.deployments.update(current.id, {
      status,
      metadata: { reason, health: { state: 'unhealthy', reason, checkedAt: at, durationMs: 0, cpuUsage: null, memoryUsage: null, diskSpaceMb: null, queued: null, running: null } },
      history: { event: status, message: reason, at },
    });
    this.deps.bus.emit('runners/healthChanged', { serverId, serverName, deploymentId: current.id, from: fromHealth, to: 'unhealthy', reason });
    this.changed(serverId, current.id);
  }

  /** The full check of a deployment, one exec: its file, its runtime, and the server's node for a bundle run under it. */
  private async fullCheckDeployment(record: DeploymentRecord, serverName: string): Promise<DeploymentFullCheck> {
    const m = record.metadata;
    const paths = [m.path ?? '', ...(m.runtime ? [m.runtime.path] : [])];
    const out = await this.deployer.fullCheck(record.serverId!, serverName, paths, INTEGRITY_CHECK_TIMEOUT_MS, { node: m.kind === 'js' && !m.runtime });
    return { full: out.files[0]!, runtimeFull: m.runtime ? out.files[1]! : null, node: out.node };
  }

  /** The periodic full check (health checks, once FULL_HASH_INTERVAL_MS has passed): a difference is settled with the same hashes. */
  private async periodicFullCheck(record: DeploymentRecord): Promise<void> {
    if (!record.serverId || !record.metadata.path) return;
    const serverName = (await this.deployments.serverName(record.serverId)) ?? 'the server';
    const checked = await this.fullCheckDeployment(record, serverName);
    const { full, runtimeFull, node } = checked;
    const rt = record.metadata.runtime;
    const runtimeOk = !rt || (runtimeFull?.kind === 'file' && runtimeFull.sha256 === rt.sha256 && runtimeFull.fingerprint === rt.fingerprint);
    const nodeOk = node === undefined || hasUsableNode(node);
    if (full.kind === 'file' && full.sha256 === record.metadata.sha256 && full.fingerprint === record.metadata.fingerprint && runtimeOk && nodeOk) {
      this.deployments.update(record.id, { metadata: { verifiedAt: nowIso(this.deps.clock.now()) } });
      return;
    }
    await this.settleIntegrity(toCompatible(record), 'health check', {}, checked);
  }

  private async upgradeNow(serverId: string, version: string | undefined, req: RunnerRequirements | null): Promise<RunnerUpgradeResult> {
    const op = await this.operation(serverId);
    try {
      const previous = await this.deployments.active(serverId);
      if (!previous) {
        const record = await this.installAndRecord(op, version, req, null);
        return { deployment: await this.deployments.view(record), rolledBack: false, reason: null };
      }
      try {
        const installed = await this.installAndRecord(op, version, req, previous, { firstHealthCheck: true });
        const record = installed.version === previous.version
          ? installed
          : this.deployments.update(installed.id, { history: { event: 'upgrade-ok', message: `upgraded from ${previous.version} to ${installed.version}` } });
        return { deployment: await this.deployments.view(record), rolledBack: false, reason: null };
      } catch (err) {
        const reason = isAppError(err) ? err.message : String(err);
        op.progress('rollback', `Upgrade of ${op.serverName} failed; rolling back to ${previous.version}`);
        const restored = await this.restore(op, previous, null, `rolled back: ${reason}`).catch((rollbackErr: unknown) => {
          this.deployments.update(previous.id, { history: { event: 'upgrade-failed', message: `upgrade to ${version ?? 'a newer version'} failed (${reason}) and so did the rollback` } });
          throw rollbackErr;
        });
        this.deployments.update(restored.id, { history: { event: 'upgrade-rolled-back', message: `upgrade to ${version ?? 'a newer version'} failed and was rolled back to ${restored.version}: ${reason}` } });
        const message = `Runner upgrade on ${op.serverName} to ${version ?? 'a newer version'} failed and was rolled back to ${restored.version}: ${reason}`;
        this.deps.bus.emit('system/notice', { level: 'warning', message });
        op.progress('done', message);
        return { deployment: await this.deployments.view(restored), rolledBack: true, reason };
      }
    } finally {
      op.finish();
    }
  }

  /**
   * Installs and records the outcome. With a previous active deployment of another version, the new row is
   * 'updating' until the handshake (and, for upgrades, the first health check) pass; then the previous one is
   * superseded. A failure marks the new row failed with its reason and rethrows.
   */
  private async installAndRecord(
    op: Operation,
    version: string | undefined,
    req: RunnerRequirements | null,
    previous: DeploymentRecord | null,
    opts: { firstHealthCheck?: boolean } = {},
  ): Promise<DeploymentRecord> {
    const { serverId, serverName } = op;
    await this.ready();
    this.deps.metrics.runnerDeploymentsTotal.inc({ server: serverId });
    const at = nowIso(this.deps.clock.now());
    const sameVersion = previous && version !== undefined && previous.version === version;
    // Re-deploying the active version updates its row; anything else gets a row of its own.
    const row = sameVersion
      ? this.deployments.update(previous.id, { history: { event: 'redeploy', message: `re-deploy of ${version} requested`, at } })
      : await this.deployments.create(serverId, version ?? 'pending', 'updating', { previousDeploymentId: previous?.id ?? null, history: [{ at, event: 'deploy', message: `deploying ${version ?? 'the newest fitting version'} to ${serverName}` }] }, at);
    this.changed(serverId, row.id);

    let result: InstallResult;
    try {
      result = await this.deployer.install({
        serverId,
        serverName,
        ...(version ? { version } : {}),
        ...(req?.minVersion ? { minVersion: req.minVersion } : {}),
        ...(req?.capabilities?.length ? { capabilities: req.capabilities } : {}),
        signal: op.signal,
        deadline: op.deadline,
        onProgress: (step, message) => op.progress(step, message),
        known: knownFiles(previous),
      });
      if (opts.firstHealthCheck) {
        op.progress('health', `First health check of ${result.artifact.version} on ${serverName}`);
        await this.deployer.health(serverId, serverName, result.artifact.kind, guardedRunnerOf({ path: result.path, kind: result.artifact.kind, fingerprint: null, sha256: result.artifact.sha256, runtime: runtimeMeta(result) }), Math.max(1000, op.deadline - this.deps.clock.now()));
      }
    } catch (err) {
      const reason = isAppError(err) ? err.message : `unexpected failure: ${String(err)}`;
      this.deps.metrics.runnerDeploymentsFailed.inc({ server: serverId });
      if (sameVersion) {
        // The version that was active no longer passes: it is failed now, with the reason.
        this.deployments.update(row.id, { status: 'failed', metadata: { reason, failedStep: stepOf(err) }, history: { event: 'failed', message: reason } });
      } else {
        this.deployments.update(row.id, {
          status: 'failed',
          metadata: { reason, failedStep: stepOf(err) },
          history: { event: 'failed', message: reason },
        });
        if (row.version === 'pending') this.deployments.setVersion(row.id, version ?? 'unknown');
      }
      op.progress('failed', reason);
      this.changed(serverId, row.id);
      throw err;
    }

    const { artifact, info } = result;
    const transferred = result.transferredBytes;
    const what =
      result.previousFile === 'verified' && transferred === 0
        ? `${artifact.version} already present with the signed checksum; nothing transferred; handshake ok`
        : result.previousFile === 'mismatch'
          ? `the runner file on the server did not match the signed checksum; replaced (${transferred} bytes sent); handshake ok`
          : `installed ${artifact.version} (${artifact.kind}${result.runtime ? ` under runtime node ${result.runtime.nodeVersion}${result.runtime.transferredBytes ? ', runtime sent' : ', runtime already there'}` : ''}, ${transferred} bytes sent); handshake ok`;
    const metadata = {
      artifactId: artifact.id,
      kind: artifact.kind,
      os: result.probe.os,
      arch: result.probe.arch,
      path: result.path,
      sha256: artifact.sha256,
      capabilities: info.capabilities,
      protocolVersion: info.protocolVersion,
      reason: null,
      failedStep: null,
      transferredBytes: transferred,
      fingerprint: result.fingerprint,
      runtime: runtimeMeta(result),
      // Hashed now unless the probe recognised the recorded fingerprint (then the earlier hash still stands).
      verifiedAt: previous && previous.metadata.fingerprint && previous.metadata.fingerprint === result.fingerprint && transferred === 0 ? (previous.metadata.verifiedAt ?? at) : nowIso(this.deps.clock.now()),
      durations: { ...result.durations, totalMs: this.deps.clock.now() - Date.parse(at) },
    };
    const activated = this.deployments.inTransaction(() => {
      if (row.version === 'pending' || row.version !== artifact.version) this.deployments.setVersion(row.id, artifact.version);
      const updated = this.deployments.update(row.id, { status: 'active', metadata, deployedAt: sameVersion ? undefined : nowIso(this.deps.clock.now()), history: { event: 'active', message: what } });
      if (previous && previous.id !== row.id) {
        this.deployments.update(previous.id, { status: 'superseded', history: { event: 'superseded', message: `superseded by ${artifact.version}` } });
      }
      return { ...updated, version: artifact.version };
    });
    op.progress('done', `${serverName} runs runner ${artifact.version}${transferred === 0 ? ' (nothing transferred)' : ''}`);
    this.changed(serverId, activated.id);
    return activated;
  }

  /**
   * Makes `target` (an earlier deployment) active again: reinstalls its version (no bytes when it is still intact),
   * handshakes, supersedes `current` (if any) and records why.
   */
  private async restore(op: Operation, target: DeploymentRecord, current: DeploymentRecord | null, why: string): Promise<DeploymentRecord> {
    op.progress('rollback', `Restoring runner ${target.version} on ${op.serverName}`);
    await this.ready();
    // A rollback after a timed-out upgrade still gets time of its own.
    const seconds = this.deps.settings.current().runner.deploymentTimeout;
    const controller = new AbortController();
    const timer = this.deps.clock.setTimeout(() => controller.abort(), seconds * 1000);
    try {
      const result = await this.deployer.install({
        serverId: op.serverId,
        serverName: op.serverName,
        version: target.version,
        signal: controller.signal,
        deadline: this.deps.clock.now() + seconds * 1000,
        onProgress: (step, message) => op.progress(step, message),
        known: knownFiles(target),
      });
      return this.deployments.inTransaction(() => {
        if (current && current.id !== target.id) {
          this.deployments.update(current.id, { status: 'superseded', history: { event: 'superseded', message: `${why}; ${target.version} re-activated` } });
        }
        const updated = this.deployments.update(target.id, {
          status: 'active',
          metadata: { path: result.path, sha256: result.artifact.sha256, kind: result.artifact.kind, transferredBytes: result.transferredBytes, reason: why, fingerprint: result.fingerprint, runtime: runtimeMeta(result), verifiedAt: nowIso(this.deps.clock.now()) },
          history: { event: 'rolled-back', message: why },
        });
        this.changed(op.serverId, target.id);
        return updated;
      });
    } catch (err) {
      const reason = isAppError(err) ? err.message : String(err);
      this.deployments.update(target.id, { status: 'failed', metadata: { reason: `rollback failed: ${reason}` }, history: { event: 'failed', message: `rollback failed: ${reason}` } });
      this.changed(op.serverId, target.id);
      throw new AppError('RUNNER_ROLLBACK_FAILED', `Rolling ${op.serverName} back to runner ${target.version} failed: ${reason}. The server has no working runner; deploy one from the Runners pane.`, { cause: err });
    } finally {
      timer.cancel();
    }
  }

  /** After a scheduled health check: with the eager policy, a runner behind the app is upgraded at once. */
  private async autoUpgrade(record: DeploymentRecord): Promise<void> {
    const settings = this.deps.settings.current().runner;
    if (settings.updatePolicy !== 'eager' || !record.serverId) return;
    const step = followStep({ policy: 'eager', range: this.range, target: settings.defaultVersion, runner: { version: record.version, protocolVersion: record.metadata.protocolVersion } });
    if (step.kind !== 'upgrade') return;
    await this.upgrade(record.serverId, step.to).catch((err) => {
      console.warn(`[runners] eager upgrade of ${record.serverId} failed: ${(err as Error).message}`);
    });
  }

  /**
   * Before a runner is used (ensureRunner): 'on-next-use' and 'eager' upgrade a runner behind the app (upgrade with
   * rollback); 'manual' leaves it, and a runner outside the range is then refused with what to do. A rolled-back
   * upgrade of a runner outside the range is refused too (the old one may not be used).
   */
  private async followPolicyBeforeUse(serverId: string): Promise<void> {
    const active = await this.deployments.active(serverId);
    if (!active || !active.metadata.path) return;
    const settings = this.deps.settings.current().runner;
    const step = followStep({ policy: settings.updatePolicy, range: this.range, target: settings.defaultVersion, runner: { version: active.version, protocolVersion: active.metadata.protocolVersion } });
    if (step.kind === 'current') return;
    const serverName = (await this.deployments.serverName(serverId)) ?? 'the server';
    if (step.kind === 'manual') {
      if (!step.outOfRange) return;
      throw new AppError(
        'RUNNER_OUT_OF_RANGE',
        `${serverName} cannot run this in runner mode: ${step.outOfRange}. The runner update policy is manual, so it was left as it is: upgrade it to ${step.to} from the Runners pane, or choose "on next use" in Settings.`,
        { details: { serverId, version: active.version } },
      );
    }
    const result = await this.upgrade(serverId, step.to);
    if (result.rolledBack && step.outOfRange) {
      throw new AppError('RUNNER_OUT_OF_RANGE', `${serverName} cannot run this in runner mode: ${step.outOfRange}, and the upgrade to ${step.to} failed and was rolled back: ${result.reason ?? 'see the Runners pane'}.`, {
        details: { serverId, version: active.version },
      });
    }
  }

  /**
   * The eager policy's sweep (start-up, the policy turned to eager): every server whose active runner is behind the
   * app is upgraded, deployParallelism at a time; an unreachable server is skipped and tried again at its next use
   * or health check. Returns the servers it upgraded (or tried to).
   */
  async followAppVersion(): Promise<string[]> {
    const settings = this.deps.settings.current().runner;
    if (settings.updatePolicy !== 'eager') return [];
    const behind: string[] = [];
    for (const d of await this.deployments.list()) {
      if (d.status !== 'active' || !d.serverId) continue;
      const step = followStep({ policy: 'eager', range: this.range, target: settings.defaultVersion, runner: { version: d.version, protocolVersion: d.metadata.protocolVersion } });
      if (step.kind === 'upgrade') behind.push(d.serverId);
    }
    const limit = Math.max(1, settings.deployParallelism);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < behind.length; i = next++) {
        await this.upgrade(behind[i], settings.defaultVersion).catch((err) => {
          console.warn(`[runners] eager upgrade of ${behind[i]} failed: ${messageOf(err)}`);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, behind.length) }, worker));
    return behind;
  }

  /** Per server with a runner: its version, whether it is in range, the policy's next step and the last upgrade's outcome. */
  async versionStatus(): Promise<RunnerVersionStatus> {
    const settings = this.deps.settings.current().runner;
    const all = await this.deployments.list();
    const servers = new Map<string, DeploymentRecord[]>();
    for (const d of all) {
      if (!d.serverId) continue;
      servers.set(d.serverId, [...(servers.get(d.serverId) ?? []), d]);
    }
    const rows: RunnerVersionStatus['servers'] = [];
    for (const [serverId, list] of servers) {
      const active = list.find((d) => d.status === 'active') ?? null;
      const outcomes = list.flatMap((d) => d.metadata.history.filter((h) => UPGRADE_OUTCOME_EVENTS.has(h.event)));
      outcomes.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
      const last = outcomes[0] ?? null;
      const facts = active ? { version: active.version, protocolVersion: active.metadata.protocolVersion } : null;
      const step = facts ? followStep({ policy: settings.updatePolicy, range: this.range, target: settings.defaultVersion, runner: facts }) : null;
      rows.push({
        serverId,
        serverName: (await this.deployments.serverName(serverId)) ?? null,
        version: active?.version ?? null,
        protocolVersion: active?.metadata.protocolVersion ?? null,
        outOfRange: facts ? rangeProblem(facts, this.range) : null,
        nextStep: step ? describeFollowStep(step) : 'no active runner: deployed at its first runner job when auto deploy is on',
        lastUpgrade: last ? { at: last.at, outcome: last.event === 'upgrade-ok' ? 'upgraded' : last.event === 'upgrade-rolled-back' ? 'rolled-back' : 'failed', message: last.message } : null,
      });
    }
    rows.sort((a, b) => (a.serverName ?? '').localeCompare(b.serverName ?? ''));
    return {
      range: { protocolMin: this.range.protocol.min, protocolMax: this.range.protocol.max, minVersion: this.range.minVersion },
      targetVersion: settings.defaultVersion,
      policy: settings.updatePolicy,
      servers: rows,
    };
  }

  private incompatibility(d: DeploymentRecord, req?: RunnerRequirements | null): string | null {
    if (!d.metadata.path || !d.metadata.kind) return 'its deployment has no runner path recorded';
    const outside = rangeProblem({ version: d.version, protocolVersion: d.metadata.protocolVersion }, this.range);
    if (outside) return outside;
    if (req?.minVersion && !isAtLeast(d.version, req.minVersion)) return `runner ${d.version} is older than the required ${req.minVersion}`;
    const missing = (req?.capabilities ?? []).filter((c) => !d.metadata.capabilities.includes(c));
    if (missing.length) return `runner ${d.version} lacks ${missing.join(', ')}`;
    return null;
  }

  private async operation(serverId: string): Promise<Operation & { finish(): void }> {
    const server = await this.deployments.requireServer(serverId);
    const seconds = this.deps.settings.current().runner.deploymentTimeout;
    const controller = new AbortController();
    const timer = this.deps.clock.setTimeout(() => controller.abort(), seconds * 1000);
    return {
      serverId,
      serverName: server.name,
      signal: controller.signal,
      deadline: this.deps.clock.now() + seconds * 1000,
      progress: (step, message) => this.deps.bus.emit('runners/progress', { serverId, step, message }),
      finish: () => timer.cancel(),
    };
  }

  private changed(serverId: string | null, deploymentId: string | null): void {
    this.deps.bus.emit('runners/changed', { serverId, deploymentId });
  }

  /** Runs `work` after every earlier operation of this server; calls made from inside an operation run inline. */
  private serial<T>(serverId: string, work: () => Promise<T>): Promise<T> {
    const inside = operationContext.getStore();
    if (inside?.has(serverId)) return work();
    const previous = this.queues.get(serverId) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => operationContext.run(new Set([...(inside ?? []), serverId]), work));
    this.queues.set(serverId, next);
    void next
      .finally(() => {
        if (this.queues.get(serverId) === next) this.queues.delete(serverId);
      })
      .catch(() => undefined);
    return next;
  }
}

/**
 * The servers whose operation the current async flow is part of: ensureRunner -> upgrade re-enters the queue of the
 * server it already holds, and must run inline instead of waiting behind itself.
 */
const operationContext = new AsyncLocalStorage<Set<string>>();

function toCompatible(d: DeploymentRecord): CompatibleRunner {
  const guarded = guardedRunnerOf(d.metadata);
  const kind = d.metadata.kind!;
  return {
    ...guarded,
    kind,
    deploymentId: d.id,
    serverId: d.serverId!,
    version: d.version,
    command: runnerCommand(kind, guarded.path, guarded.runtime?.path),
    capabilities: d.metadata.capabilities,
    protocolVersion: d.metadata.protocolVersion,
  };
}

function runtimeMeta(result: InstallResult): DeploymentRecord['metadata']['runtime'] {
  const r = result.runtime;
  return r ? { path: r.path, sha256: r.sha256, fingerprint: r.fingerprint, nodeVersion: r.nodeVersion } : null;
}

/** The runner file a deployment recorded (path -> fingerprint, sha256), so a probe need not hash it again. */
function knownFiles(d: DeploymentRecord | null): Map<string, { fingerprint: RunnerFingerprint; sha256: string }> {
  const m = d?.metadata;
  const known = new Map<string, { fingerprint: RunnerFingerprint; sha256: string }>();
  if (m?.path && m.fingerprint && m.sha256) known.set(m.path, { fingerprint: m.fingerprint, sha256: m.sha256 });
  // The shared runtime: a probe that sees its recorded fingerprint need not hash 80+ MB again.
  if (m?.runtime?.fingerprint) known.set(m.runtime.path, { fingerprint: m.runtime.fingerprint, sha256: m.runtime.sha256 });
  return known;
}
