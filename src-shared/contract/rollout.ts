/**
 * Rollout: the change list's migration phases as product features. The rollout status (phase 2's default mode for
 * new events, phase 5's deprecation of direct-ssh), the phase 3 migration wizard (check the events still in direct-ssh,
 * switch those the user consents to, test-run one in runner mode first, undo a batch), and app updates (the desktop
 * build's electron-updater; serve mode reports that updates apply to the desktop build only).
 */
import { z } from 'zod';
import { call, NoInput } from './define';
import { JobView } from './jobs';

export const MigrationTargetMode = z.enum(['auto', 'runner-ssh']);
export type MigrationTargetMode = z.infer<typeof MigrationTargetMode>;

/** What the policy says about rollout phases right now (ModePolicy is the one reader of the settings behind it). */
export const RolloutStatus = z.object({
  runnerEnabled: z.boolean(),
  /** Phase 2: the execution mode a new event starts with. */
  newEventMode: z.enum(['auto', 'direct-ssh', 'runner-ssh']),
  /** Phase 5: events in direct-ssh show a warning linking to the migration wizard. */
  directSshDeprecated: z.boolean(),
  /** Phase 5: a manual run of a direct-ssh event needs an explicit choice. */
  directSshFallbackOnly: z.boolean(),
});
export type RolloutStatus = z.infer<typeof RolloutStatus>;

/** One server as the wizard probed it: what runner mode needs there, and what it found. */
export const MigrationTargetView = z.object({
  serverId: z.string(),
  serverName: z.string(),
  reachable: z.boolean(),
  os: z.string().nullable(),
  arch: z.string().nullable(),
  freeMb: z.number().nullable(),
  /** MB the runner needs there (0 when a fitting runner is already deployed). */
  neededMb: z.number().nullable(),
  tcpForwarding: z.boolean().nullable(),
  unixSocketForwarding: z.boolean().nullable(),
  runnerVersion: z.string().nullable(),
  /** What would stop runner mode here (each a sentence with what to do); empty when none. */
  blockers: z.array(z.string()),
  notes: z.array(z.string()),
});
export type MigrationTargetView = z.infer<typeof MigrationTargetView>;

export const MigrationCandidateView = z.object({
  eventId: z.string(),
  name: z.string(),
  scriptType: z.string(),
  version: z.number().int(),
  currentMode: z.string(),
  serverIds: z.array(z.string()),
  /** Helpers the script calls (cronium_get_variable, cronium.output, ...). */
  helpers: z.array(z.string()),
  /** What changes for this event in runner mode. */
  changes: z.array(z.string()),
  /** Why it cannot move yet (its servers' blockers and its script's); empty when it can. */
  blockers: z.array(z.string()),
  ready: z.boolean(),
});
export type MigrationCandidateView = z.infer<typeof MigrationCandidateView>;

export const MigrationScanView = z.object({
  scanId: z.string(),
  checkedAt: z.string(),
  /** Blocks every event (runner mode turned off); null otherwise. */
  globalBlocker: z.string().nullable(),
  targets: z.array(MigrationTargetView),
  events: z.array(MigrationCandidateView),
});
export type MigrationScanView = z.infer<typeof MigrationScanView>;

export const MigrationApplyResult = z.object({
  batchId: z.string().nullable(),
  switched: z.array(z.object({ eventId: z.string(), name: z.string(), from: z.string(), to: z.string() })),
  skipped: z.array(z.object({ eventId: z.string(), name: z.string(), reason: z.string() })),
});
export type MigrationApplyResult = z.infer<typeof MigrationApplyResult>;

export const MigrationUndoResult = z.object({
  restored: z.array(z.object({ eventId: z.string(), name: z.string(), mode: z.string() })),
  skipped: z.array(z.object({ eventId: z.string(), name: z.string(), reason: z.string() })),
});
export type MigrationUndoResult = z.infer<typeof MigrationUndoResult>;

export const MigrationBatchView = z.object({ batchId: z.string(), migratedAt: z.string(), total: z.number().int(), active: z.number().int() });
export type MigrationBatchView = z.infer<typeof MigrationBatchView>;

export const AppUpdateState = z.object({
  /** 'unsupported' in serve mode and in an unpackaged build: updates apply to the packaged desktop build only. */
  state: z.enum(['unsupported', 'idle', 'checking', 'available', 'not-available', 'downloading', 'downloaded', 'error']),
  currentVersion: z.string(),
  availableVersion: z.string().nullable(),
  /** 0-100 while downloading. */
  percent: z.number().nullable(),
  message: z.string().nullable(),
  channel: z.enum(['stable', 'beta']),
  feedUrl: z.string(),
});
export type AppUpdateState = z.infer<typeof AppUpdateState>;

export const rolloutCalls = {
  'rollout/status': call(NoInput, RolloutStatus),
  /** Probes the targets of every event still in direct-ssh (or the ones given) and says per event what would change. */
  'rollout/scan': call(z.object({ eventIds: z.array(z.string().min(1)).max(1000).optional() }).optional(), MigrationScanView),
  /** Switches the consented events of a scan; blocked or edited-since events are skipped with their reason. */
  'rollout/apply': call(
    z.object({ scanId: z.string().min(1), eventIds: z.array(z.string().min(1)).min(1).max(1000), mode: MigrationTargetMode.default('auto') }),
    MigrationApplyResult,
  ),
  /** One run of the event in runner-ssh mode on its servers, without changing the event. */
  'rollout/testRun': call(z.object({ eventId: z.string().min(1) }), z.object({ jobs: z.array(JobView) })),
  'rollout/undo': call(z.object({ batchId: z.string().min(1) }), MigrationUndoResult),
  'rollout/batches': call(NoInput, z.array(MigrationBatchView)),
  'updates/state': call(NoInput, AppUpdateState),
  'updates/check': call(NoInput, AppUpdateState),
  'updates/download': call(NoInput, AppUpdateState),
  /** Quits and installs the downloaded update (desktop build only). */
  'updates/install': call(NoInput, AppUpdateState),
};

export const rolloutEvents = {
  'updates/changed': AppUpdateState,
};
