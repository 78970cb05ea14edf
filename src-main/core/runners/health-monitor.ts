/**
 * HealthMonitor: every settings.runner.healthCheckInterval seconds, runs `health --json` on each active runner over
 * the pooled connection, maps the figures to healthy / degraded / unhealthy with the settings' thresholds
 * (classifyHealth, pure), records them and pushes state changes. It never deploys or changes a runner itself; what to
 * do after a check (an automatic upgrade) is the caller's onChecked hook.
 */
import { performance } from 'node:perf_hooks';
import type { RunnerHealthState, RunnerHealthView } from '../../../src-shared/contract/runners';
import type { RunnerSettings } from '../../../src-shared/contract/settings';
import type { RunnerHealthReport } from '../../../src-shared/protocol/runner-info';
import type { Clock } from '../clock';
import { nowIso } from '../db/ids';
import { messageOf } from '../errors';
import type { EventBus } from '../event-bus';
import type { Metrics } from '../metrics/metrics';
import type { SettingsService } from '../settings/settings-service';
import type { RunnerDeployer } from './runner-deployer';
import { guardedRunnerOf, type DeploymentRecord, type RunnerDeployments } from './runner-deployments';
import { FULL_HASH_INTERVAL_MS } from './runner-integrity';
import { isAppError } from '../errors';

/** A health check that has not answered in this long counts as unhealthy. */
const HEALTH_TIMEOUT_MS = 15_000;
/** Servers checked at the same time. */
const PARALLEL_CHECKS = 8;

export type HealthThresholds = RunnerSettings['health'];

/** Pure: the state a report means under these thresholds, and why (null when healthy). */
export function classifyHealth(report: RunnerHealthReport, t: HealthThresholds): { state: RunnerHealthState; reason: string | null } {
  const unhealthy: string[] = [];
  const degraded: string[] = [];
  const pct = (n: number) => `${Math.round(n * 10) / 10}%`;
  // Strictly above: a threshold of 100% means "never" for CPU and memory.
  if (report.cpuUsage > t.cpuUnhealthyPercent) unhealthy.push(`CPU ${pct(report.cpuUsage)} (unhealthy above ${t.cpuUnhealthyPercent}%)`);
  else if (report.cpuUsage > t.cpuDegradedPercent) degraded.push(`CPU ${pct(report.cpuUsage)} (degraded above ${t.cpuDegradedPercent}%)`);
  if (report.memoryUsage > t.memoryUnhealthyPercent) unhealthy.push(`memory ${pct(report.memoryUsage)} (unhealthy above ${t.memoryUnhealthyPercent}%)`);
  else if (report.memoryUsage > t.memoryDegradedPercent) degraded.push(`memory ${pct(report.memoryUsage)} (degraded above ${t.memoryDegradedPercent}%)`);
  if (report.diskSpace < t.diskUnhealthyFreeMb) unhealthy.push(`disk ${Math.round(report.diskSpace)} MB free (unhealthy below ${t.diskUnhealthyFreeMb} MB)`);
  else if (report.diskSpace < t.diskDegradedFreeMb) degraded.push(`disk ${Math.round(report.diskSpace)} MB free (degraded below ${t.diskDegradedFreeMb} MB)`);
  if (unhealthy.length) return { state: 'unhealthy', reason: [...unhealthy, ...degraded].join('; ') };
  if (degraded.length) return { state: 'degraded', reason: degraded.join('; ') };
  return { state: 'healthy', reason: null };
}

export interface HealthMonitorDeps {
  deployments: RunnerDeployments;
  deployer: Pick<RunnerDeployer, 'health'>;
  settings: SettingsService;
  bus: EventBus;
  metrics: Metrics;
  clock: Clock;
  /** Called after each scheduled check of an active deployment (RunnerService: automatic upgrades). */
  onChecked?(record: DeploymentRecord): Promise<void>;
  /** The periodic full sha256 of the runner file (RunnerService.periodicFullCheck); settles a mismatch itself. */
  periodicFullCheck?(record: DeploymentRecord): Promise<void>;
  /**
   * The integrity guard refused to run the runner file: settle it (full hash; tampered, redeploy or not). Returns
   * what happened, for the health reason; null when the file was the deployed one after all.
   */
  onIntegrityMismatch?(record: DeploymentRecord, error: unknown): Promise<string | null>;
}

export class HealthMonitor {
  private timer: { cancel(): void } | undefined;
  private running = false;
  private cycle: Promise<void> | undefined;

  constructor(private readonly deps: HealthMonitorDeps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    await this.cycle?.catch(() => undefined);
  }

  /** One check of one deployment, recorded; an unreachable server or a failing runner is 'unhealthy' with the reason. */
  async check(deploymentId: string): Promise<RunnerHealthView> {
    const record = await this.deps.deployments.require(deploymentId);
    const serverName = (await this.deps.deployments.serverName(record.serverId)) ?? 'a deleted server';
    const started = performance.now();
    let view: RunnerHealthView;
    const meta = record.metadata;
    try {
      if (!record.serverId || !meta.kind || !meta.path) {
        throw new Error(`deployment ${record.id} has no runner path recorded (status ${record.status}); deploy the runner again`);
      }
      // Integrity first: a full sha256 now and then, the cheap fingerprint guard on every check (inside health's exec).
      const lastFull = meta.verifiedAt ? Date.parse(meta.verifiedAt) : 0;
      if (meta.fingerprint && this.deps.periodicFullCheck && this.deps.clock.now() - lastFull > FULL_HASH_INTERVAL_MS) {
        await this.deps.periodicFullCheck(record);
        const after = await this.deps.deployments.require(record.id);
        if (after.status === 'tampered') throw new Error(after.metadata.reason ?? 'the runner file was found altered');
      }
      let report;
      try {
        report = await this.deps.deployer.health(record.serverId, serverName, meta.kind, guardedRunnerOf(meta), HEALTH_TIMEOUT_MS);
      } catch (err) {
        if (!isAppError(err) || err.code !== 'RUNNER_INTEGRITY_MISMATCH' || !this.deps.onIntegrityMismatch) throw err;
        const outcome = await this.deps.onIntegrityMismatch(record, err);
        const after = await this.deps.deployments.require(record.id);
        // Tampered, or failed because the server's node is gone (then redeployed under a runtime when allowed).
        if (after.status !== 'active') throw new Error(outcome ?? after.metadata.reason ?? 'the runner file was found altered');
        report = await this.deps.deployer.health(record.serverId, serverName, meta.kind, guardedRunnerOf(after.metadata), HEALTH_TIMEOUT_MS);
      }
      const { state, reason } = classifyHealth(report, this.deps.settings.current().runner.health);
      view = {
        state,
        reason,
        checkedAt: nowIso(this.deps.clock.now()),
        durationMs: Math.round(performance.now() - started),
        cpuUsage: report.cpuUsage,
        memoryUsage: report.memoryUsage,
        diskSpaceMb: report.diskSpace,
        queued: report.executionQueue.queued,
        running: report.executionQueue.running,
      };
    } catch (err) {
      const why = messageOf(err);
      view = {
        state: 'unhealthy',
        reason: `health check failed: ${why}`,
        checkedAt: nowIso(this.deps.clock.now()),
        durationMs: Math.round(performance.now() - started),
        cpuUsage: null,
        memoryUsage: null,
        diskSpaceMb: null,
        queued: null,
        running: null,
      };
    }
    this.deps.metrics.runnerHealthCheckDuration.observe(view.durationMs / 1000);

    const from: RunnerHealthState = meta.health?.state ?? 'unknown';
    const changed = from !== view.state;
    this.deps.deployments.update(record.id, {
      lastHealthCheck: view.checkedAt,
      metadata: { health: view },
      ...(changed ? { history: { event: `health:${view.state}`, message: view.reason ?? `runner is ${view.state}`, at: view.checkedAt } } : {}),
    });
    if (changed) {
      this.deps.bus.emit('runners/healthChanged', { serverId: record.serverId, serverName, deploymentId: record.id, from, to: view.state, reason: view.reason });
    }
    this.deps.bus.emit('runners/changed', { serverId: record.serverId, deploymentId: record.id });
    return view;
  }

  /** Checks every active deployment not seen within the interval, once (bounded parallelism), then hands each to onChecked. */
  async checkAll(): Promise<void> {
    const active = await this.deps.deployments.allActive();
    // A runner deployed (its handshake ran then) or checked within the last interval waits for the next cycle: a
    // deploy to many servers is not checked again while it is still running (a second of slack for timer jitter).
    const now = this.deps.clock.now();
    const intervalMs = this.deps.settings.current().runner.healthCheckInterval * 1000;
    const lastSeen = (r: DeploymentRecord) => Math.max(Date.parse(r.deployedAt) || 0, Date.parse(r.lastHealthCheck ?? '') || 0);
    // A last check in the future (the clock was set back) does not hold checks off until the clock catches up.
    const queue = active.filter((r) => now < lastSeen(r) || now - lastSeen(r) >= intervalMs - 1000);
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        try {
          await this.check(next.id);
          const fresh = await this.deps.deployments.get(next.id);
          if (fresh && fresh.status === 'active') await this.deps.onChecked?.(fresh);
        } catch (err) {
          console.warn(`[runners] health check of deployment ${next.id} failed: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_CHECKS, queue.length) }, worker));
  }

  private schedule(): void {
    if (!this.running) return;
    // Read every cycle, so a changed interval applies from the next check on.
    const seconds = this.deps.settings.current().runner.healthCheckInterval;
    this.timer = this.deps.clock.setTimeout(() => {
      this.cycle = this.checkAll().finally(() => {
        this.cycle = undefined;
        this.schedule();
      });
    }, seconds * 1000);
  }
}
