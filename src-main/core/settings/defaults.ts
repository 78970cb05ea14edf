/**
 * The settings every fresh install starts with: RunnerSettings and the four feature flags of the change list,
 * streaming, listener and notification preferences. Values must pass the contract's Settings schema (a unit test checks).
 */
import type { FeatureFlag, Settings } from '../../../src-shared/contract/settings';
import { RUNNER_VERSION } from '../../../src-shared/protocol/runner-info';

/** The runner version this app build deploys unless RUNNER_DEFAULT_VERSION or the settings say otherwise. */
export const RUNNER_DEFAULT_VERSION = RUNNER_VERSION;

export const DEFAULT_FLAGS: Record<FeatureFlag, boolean> = {
  ssh_runner_enabled: true,
  ssh_runner_streaming_logs: true,
  ssh_runner_auto_deploy: true,
  ssh_runner_fallback: true,
};

export function defaultSettings(): Settings {
  return {
    runner: {
      enabled: true,
      defaultExecutionMode: 'auto',
      // '' = <dataDir>/runner-artifacts, resolved by the artifact store
      artifactCachePath: '',
      deploymentTimeout: 120,
      healthCheckInterval: 60,
      fallbackToDirect: true,
      defaultVersion: RUNNER_DEFAULT_VERSION,
      updatePolicy: 'manual',
      cacheTtlDays: 90,
      downloadTimeout: 30,
      maxPayloadBytes: 10 * 1024 * 1024,
      deployParallelism: 8,
      unreachableNoticeSeconds: 60,
      jobHost: true,
      health: {
        cpuDegradedPercent: 80,
        cpuUnhealthyPercent: 95,
        memoryDegradedPercent: 85,
        memoryUnhealthyPercent: 95,
        diskDegradedFreeMb: 1024,
        diskUnhealthyFreeMb: 256,
      },
    },
    streaming: { bufferSize: 65536, timeoutSeconds: 300 },
    // Keep every log until the administrator sets a limit.
    logs: { retentionDays: 0, maxTotalMb: 0, perEvent: {} },
    listener: { port: 0 },
    notifications: {
      onFailure: true,
      onSuccess: false,
      onRecovered: true,
      onRunnerUnhealthy: true,
      onLinkLost: true,
      onScheduleMissed: true,
      quietHours: { enabled: false, start: '22:00', end: '07:00' },
      groupWindowSeconds: 5,
    },
    // Phase 2 on (it only matters while runner mode is on); phase 5 is the administrator's call.
    rollout: { newEventsUseRunner: true, directSshDeprecated: false, directSshFallbackOnly: false },
    updates: { channel: 'stable', feedUrl: '' },
    flags: { ...DEFAULT_FLAGS },
  };
}
