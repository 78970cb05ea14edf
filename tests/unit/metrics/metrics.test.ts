/**
 * The metrics registry: every metric name of the change list is exposed, recordings show up in the text exposition,
 * and two registries (two cores in one process) stay independent.
 */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src-main/core/metrics/metrics';

const CHANGE_LIST_NAMES = [
  'runner_deployments_total',
  'runner_deployments_failed',
  'runner_health_check_duration',
  'runner_artifact_cache_hits',
  'runner_artifact_cache_misses',
  'runner_payload_generation_duration',
  'ssh_runner_execution_duration',
  'ssh_runner_connection_failures',
  'streaming_log_latency',
  'partial_log_recovery_count',
];

describe('metrics', () => {
  describe('when the exposition is scraped', () => {
    it('declares every metric of the change list, plus process metrics', async () => {
      const text = await createMetrics().text();
      for (const name of CHANGE_LIST_NAMES) expect(text).toMatch(new RegExp(`^# TYPE ${name} (counter|histogram)$`, 'm'));
      expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
    });
  });

  describe('when services record what happened', () => {
    it('shows labelled counts and histogram observations', async () => {
      const metrics = createMetrics();
      metrics.runnerDeploymentsTotal.inc({ server: 'db-1' });
      metrics.runnerDeploymentsTotal.inc({ server: 'db-1' });
      metrics.runnerDeploymentsFailed.inc({ server: 'web-2' });
      metrics.sshRunnerConnectionFailures.inc({ reason: 'host_key' });
      metrics.streamingLogLatency.observe(0.002);
      metrics.partialLogRecoveryCount.inc();
      const text = await metrics.text();
      expect(text).toContain('runner_deployments_total{server="db-1"} 2');
      expect(text).toContain('runner_deployments_failed{server="web-2"} 1');
      expect(text).toContain('ssh_runner_connection_failures{reason="host_key"} 1');
      expect(text).toContain('streaming_log_latency_bucket{le="0.001"} 0');
      expect(text).toContain('streaming_log_latency_bucket{le="0.0025"} 1');
      expect(text).toContain('partial_log_recovery_count 1');
    });

    it('keeps two registries apart', async () => {
      const a = createMetrics();
      const b = createMetrics();
      a.runnerArtifactCacheHits.inc(3);
      expect(await a.text()).toContain('runner_artifact_cache_hits 3');
      expect(await b.text()).toContain('runner_artifact_cache_hits 0');
    });
  });
});
