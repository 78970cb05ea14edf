/**
 * Metrics: one prom-client Registry of the app's own (never the global registry, so two cores in one test process
 * do not collide) with the default process metrics and exactly the change list's metric names.
 * Services record through the typed fields; only the listener's /metrics route reads the registry.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  runnerDeploymentsTotal: Counter<'server'>;
  runnerDeploymentsFailed: Counter<'server'>;
  /** Seconds. */
  runnerHealthCheckDuration: Histogram;
  runnerArtifactCacheHits: Counter;
  runnerArtifactCacheMisses: Counter;
  /** Seconds. */
  runnerPayloadGenerationDuration: Histogram;
  /** Seconds, per job run through runner-ssh. */
  sshRunnerExecutionDuration: Histogram;
  /** reason: e.g. 'timeout', 'auth', 'host_key', 'refused', 'tunnel'. */
  sshRunnerConnectionFailures: Counter<'reason'>;
  /** Seconds from a line's runner timestamp to its arrival in the app. */
  streamingLogLatency: Histogram;
  partialLogRecoveryCount: Counter;
  /** The Prometheus text exposition. */
  text(): Promise<string>;
  contentType: string;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const metrics: Metrics = {
    registry,
    runnerDeploymentsTotal: new Counter({
      name: 'runner_deployments_total',
      help: 'Runner deployments attempted, per server.',
      labelNames: ['server'] as const,
      registers,
    }),
    runnerDeploymentsFailed: new Counter({
      name: 'runner_deployments_failed',
      help: 'Runner deployments that failed (and were rolled back or left failed), per server.',
      labelNames: ['server'] as const,
      registers,
    }),
    runnerHealthCheckDuration: new Histogram({
      name: 'runner_health_check_duration',
      help: 'Time taken by one runner health check, in seconds.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    runnerArtifactCacheHits: new Counter({
      name: 'runner_artifact_cache_hits',
      help: 'Runner artifacts found already imported and verified in the local artifact cache.',
      registers,
    }),
    runnerArtifactCacheMisses: new Counter({
      name: 'runner_artifact_cache_misses',
      help: 'Runner artifacts imported and verified anew into the local artifact cache.',
      registers,
    }),
    runnerPayloadGenerationDuration: new Histogram({
      name: 'runner_payload_generation_duration',
      help: 'Time taken to build an execution payload, in seconds.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    sshRunnerExecutionDuration: new Histogram({
      name: 'ssh_runner_execution_duration',
      help: 'Wall time of jobs run through the SSH runner, in seconds.',
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers,
    }),
    sshRunnerConnectionFailures: new Counter({
      name: 'ssh_runner_connection_failures',
      help: 'SSH connections to servers that failed, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    streamingLogLatency: new Histogram({
      name: 'streaming_log_latency',
      help: 'Delay from a log line written on the server to its arrival in the app, in seconds.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    partialLogRecoveryCount: new Counter({
      name: 'partial_log_recovery_count',
      help: 'PARTIAL logs completed by replay after a runner was re-attached.',
      registers,
    }),
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
  return metrics;
}
