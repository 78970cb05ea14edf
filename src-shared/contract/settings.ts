/**
 * Settings and feature flags: RunnerSettings and the four feature flags of the change list, plus the app's own
 * preferences. Stored in the database; the change list's environment variables override them (reported in
 * `overrides` so the Settings pane can show which fields are pinned by the environment).
 */
import { z } from 'zod';
import { call, NoInput } from './define';

export const ExecutionMode = z.enum(['auto', 'direct-ssh', 'runner-ssh', 'container']);
export type ExecutionMode = z.infer<typeof ExecutionMode>;
/** Modes a user may choose today ('container' is named by the change list but is a later step). */
export const SelectableExecutionMode = z.enum(['auto', 'direct-ssh', 'runner-ssh']);

export const FeatureFlag = z.enum([
  'ssh_runner_enabled',
  'ssh_runner_streaming_logs',
  'ssh_runner_auto_deploy',
  'ssh_runner_fallback',
]);
export type FeatureFlag = z.infer<typeof FeatureFlag>;

const Semver = z.string().regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'must be a version like 1.2.3');

export const RunnerSettings = z.object({
  enabled: z.boolean(),
  defaultExecutionMode: SelectableExecutionMode,
  /** RUNNER_ARTIFACT_PATH: where runner artifacts are kept on this workstation ('' = <dataDir>/runner-artifacts). */
  artifactCachePath: z.string().max(1024),
  /** Seconds a whole deployment may take. */
  deploymentTimeout: z.number().int().min(5).max(3600),
  /** RUNNER_HEALTH_CHECK_INTERVAL, seconds. */
  healthCheckInterval: z.number().int().min(5).max(86400),
  fallbackToDirect: z.boolean(),
  /** RUNNER_DEFAULT_VERSION */
  defaultVersion: Semver,
  updatePolicy: z.enum(['automatic', 'manual']),
  /** RUNNER_CACHE_TTL_DAYS: payloads unused this long are removed locally and on servers. */
  cacheTtlDays: z.number().int().min(1).max(3650),
  /** HELPER_DOWNLOAD_TIMEOUT, seconds. */
  downloadTimeout: z.number().int().min(1).max(3600),
  /** Maximum payload size in bytes. */
  maxPayloadBytes: z.number().int().min(1024).max(1024 * 1024 * 1024),
  /** Servers a bulk runner deploy works on at the same time. */
  deployParallelism: z.number().int().min(1).max(64).default(8),
  /** A runner job unreachable this many seconds (link lost, not re-attached) raises a notification. */
  unreachableNoticeSeconds: z.number().int().min(5).max(86400).default(60),
  health: z.object({
    cpuDegradedPercent: z.number().min(1).max(100),
    cpuUnhealthyPercent: z.number().min(1).max(100),
    memoryDegradedPercent: z.number().min(1).max(100),
    memoryUnhealthyPercent: z.number().min(1).max(100),
    diskDegradedFreeMb: z.number().int().min(0),
    diskUnhealthyFreeMb: z.number().int().min(0),
  }),
});
export type RunnerSettings = z.infer<typeof RunnerSettings>;

export const Settings = z.object({
  runner: RunnerSettings,
  streaming: z.object({
    /** LOG_STREAM_BUFFER_SIZE, bytes per batch. */
    bufferSize: z.number().int().min(1024).max(16 * 1024 * 1024),
    /** LOG_STREAM_TIMEOUT, seconds a silent runner job may stay unattended before it is reported. */
    timeoutSeconds: z.number().int().min(5).max(86400),
  }),
  listener: z.object({
    /** HELPER_API_PORT; 0 = any free port. Takes effect at the next start. */
    port: z.number().int().min(0).max(65535),
  }),
  notifications: z.object({
    onFailure: z.boolean(),
    onSuccess: z.boolean(),
  }),
  flags: z.record(FeatureFlag, z.boolean()),
});
export type Settings = z.infer<typeof Settings>;

/** A deep partial for updates: only the fields given change. */
export const SettingsPatch = z.object({
  runner: RunnerSettings.partial().extend({ health: RunnerSettings.shape.health.partial().optional() }).optional(),
  streaming: Settings.shape.streaming.partial().optional(),
  listener: Settings.shape.listener.partial().optional(),
  notifications: Settings.shape.notifications.partial().optional(),
  flags: z.partialRecord(FeatureFlag, z.boolean()).optional(),
});
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export const SettingsView = z.object({
  settings: Settings,
  /** Dotted setting path -> the environment variable that pins it, e.g. { "runner.cacheTtlDays": "RUNNER_CACHE_TTL_DAYS" }. */
  overrides: z.record(z.string(), z.string()),
});
export type SettingsView = z.infer<typeof SettingsView>;

export const settingsCalls = {
  'settings/get': call(NoInput, SettingsView),
  'settings/update': call(SettingsPatch, SettingsView),
};

export const settingsEvents = {
  'settings/changed': SettingsView,
};
