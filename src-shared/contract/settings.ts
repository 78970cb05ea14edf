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

export const RunnerUpdatePolicy = z.enum(['on-next-use', 'eager', 'manual']);
export type RunnerUpdatePolicy = z.infer<typeof RunnerUpdatePolicy>;

/**
 * The change list's rollout phases as settings (docs/architecture.md "Rollout"): phase 2 (new events default to
 * runner mode) and phase 5 (direct-ssh deprecated; optionally direct-ssh only as a fallback). Read by ModePolicy.
 */
export const RolloutSettings = z.object({
  /** Phase 2: a new event starts in runner mode (auto) while runner mode is on; off: it starts in direct-ssh. */
  newEventsUseRunner: z.boolean(),
  /** Phase 5: events still in direct-ssh show a warning linking to the migration wizard. */
  directSshDeprecated: z.boolean(),
  /** Phase 5: direct-ssh only as a fallback: a manual run of a direct-ssh event needs an explicit choice. */
  directSshFallbackOnly: z.boolean(),
});
export type RolloutSettings = z.infer<typeof RolloutSettings>;

/** App updates of the desktop build (electron-updater); serve mode shows them but cannot apply them. */
export const UpdateSettings = z.object({
  channel: z.enum(['stable', 'beta']),
  /**
   * A generic electron-updater feed (an organisation's own server); '' = the feed the build was published with. HTTPS
   * only: the feed also carries the update's sha512, so over plain HTTP anyone on the network could serve a forged
   * build (Linux builds have no code-signature check). Plain HTTP is accepted for a feed on this machine (loopback).
   */
  feedUrl: z.union([
    z.literal(''),
    z.url({ protocol: /^https$/ }).max(2048),
    z.url({ protocol: /^http$/, hostname: /^(127\.0\.0\.1|localhost|\[::1\])$/ }).max(2048),
  ], { error: 'must be an https:// address (plain http only for a feed on this machine)' }),
});
export type UpdateSettings = z.infer<typeof UpdateSettings>;

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
  /**
   * How deployed runners follow this app's version (docs/architecture.md "Runner versions"): 'on-next-use' upgrades a
   * runner before its next job, 'eager' upgrades every reachable server at once (start-up, policy change, health
   * checks), 'manual' leaves it to a person. 'automatic' (stored by earlier builds) reads as 'on-next-use'.
   */
  updatePolicy: z.preprocess((v) => (v === 'automatic' ? 'on-next-use' : v), RunnerUpdatePolicy),
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
  /**
   * Job host (docs/architecture.md "Job host"): after a runner job on a server, the app launches one resident runner
   * process there that starts the next jobs without an exec or a Node start each. Off: never launched nor used.
   */
  jobHost: z.boolean().default(true),
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

/**
 * Log retention (issue 18): whole log blocks older than retentionDays are removed, then the oldest until the logs fit
 * in maxTotalMb (stored, compressed size); 0 = no limit. perEvent replaces either limit for one event's logs (its logs
 * then count toward its own total, not the global one).
 */
const RetentionDays = z.number().int().min(0).max(36500);
const RetentionMb = z.number().int().min(0).max(100_000_000);
export const LogRetentionSettings = z.object({
  retentionDays: RetentionDays,
  maxTotalMb: RetentionMb,
  perEvent: z.record(z.string().min(1), z.object({ retentionDays: RetentionDays.optional(), maxTotalMb: RetentionMb.optional() })),
});
export type LogRetentionSettings = z.infer<typeof LogRetentionSettings>;

export const Settings = z.object({
  runner: RunnerSettings,
  logs: LogRetentionSettings,
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
  /**
   * Which kinds raise an alert (browser or native notification) and enter the notification centre, the quiet hours
   * (centre only, no alert) and the window in which alerts of one kind are grouped into one ("40 jobs failed").
   * No zod defaults here: a patch parsed with them would reset fields it does not name; defaults.ts fills them in.
   */
  notifications: z.object({
    /** Job failed or timed out. */
    onFailure: z.boolean(),
    onSuccess: z.boolean(),
    /** A job succeeded after the previous run of the same event on the same server had failed. */
    onRecovered: z.boolean(),
    onRunnerUnhealthy: z.boolean(),
    onLinkLost: z.boolean(),
    onScheduleMissed: z.boolean(),
    quietHours: z
      .object({
        enabled: z.boolean(),
        /** HH:MM in the workstation's zone; an end before the start spans midnight. */
        start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time like 22:00'),
        end: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time like 07:00'),
      }),
    /** Alerts of one kind arriving within this many seconds of the first are shown as one. */
    groupWindowSeconds: z.number().int().min(1).max(600),
  }),
  rollout: RolloutSettings,
  updates: UpdateSettings,
  flags: z.record(FeatureFlag, z.boolean()),
});
export type Settings = z.infer<typeof Settings>;

/** A deep partial for updates: only the fields given change. */
export const SettingsPatch = z.object({
  runner: RunnerSettings.partial().extend({ health: RunnerSettings.shape.health.partial().optional() }).optional(),
  streaming: Settings.shape.streaming.partial().optional(),
  logs: LogRetentionSettings.partial().optional(),
  listener: Settings.shape.listener.partial().optional(),
  notifications: Settings.shape.notifications.partial().extend({ quietHours: Settings.shape.notifications.shape.quietHours.partial().optional() }).optional(),
  rollout: RolloutSettings.partial().optional(),
  updates: UpdateSettings.partial().optional(),
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
