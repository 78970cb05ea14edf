/**
 * The Settings form's fields: each one's dotted path in Settings (the same path the main process reports in
 * AppError.fields and SettingsView.overrides), its label, kind and help. The store converts form text with these kinds;
 * the pane lays them out. Adding a setting to the contract means adding one line here.
 */
import type { Settings } from '../../../src-shared/contract/settings';

export type FieldKind = 'int' | 'number' | 'text' | 'toggle' | 'select';

export interface SettingsField {
  path: string;
  label: string;
  kind: FieldKind;
  help?: string;
  unit?: string;
  options?: { value: string; label: string }[];
}

export interface SettingsSection {
  id: string;
  title: string;
  description: string;
  fields: SettingsField[];
}

export const SETTINGS_SECTIONS: SettingsSection[] = [
  {
    id: 'flags',
    title: 'SSH runner features',
    description:
      'The feature flags and the runner settings that gate the same thing, side by side: a feature is on only when every switch for it is on (the summary above says what is in effect). Changes apply to the next job.',
    fields: [
      { path: 'flags.ssh_runner_enabled', label: 'SSH runner', kind: 'toggle', help: 'Feature flag ssh_runner_enabled: allow events to run through a runner deployed on the server.' },
      { path: 'runner.enabled', label: 'Runner enabled', kind: 'toggle', help: 'Runner setting, gates the same feature: runner mode needs this and the SSH runner flag.' },
      { path: 'flags.ssh_runner_fallback', label: 'Fallback to direct SSH', kind: 'toggle', help: 'Feature flag ssh_runner_fallback: when the runner cannot be used, run the job over a plain SSH exec.' },
      { path: 'runner.fallbackToDirect', label: 'Fall back to direct SSH when the runner fails', kind: 'toggle', help: 'Runner setting, gates the same fallback: it happens only when this and the flag are on.' },
      { path: 'flags.ssh_runner_auto_deploy', label: 'Automatic runner deployment', kind: 'toggle', help: 'Feature flag ssh_runner_auto_deploy: deploy a compatible runner when a job needs one (needs runner mode).' },
      { path: 'flags.ssh_runner_streaming_logs', label: 'Streaming logs', kind: 'toggle', help: 'Feature flag ssh_runner_streaming_logs: stream runner output live through the SSH tunnel.' },
    ],
  },
  {
    id: 'runner',
    title: 'Runner',
    description: 'How runners are chosen, deployed, kept healthy and cleaned up.',
    fields: [
      {
        path: 'runner.defaultExecutionMode',
        label: 'Default execution mode',
        kind: 'select',
        options: [
          { value: 'auto', label: 'Auto (runner, falling back to direct SSH)' },
          { value: 'direct-ssh', label: 'Direct SSH' },
          { value: 'runner-ssh', label: 'Runner over SSH' },
        ],
      },
      { path: 'runner.defaultVersion', label: 'Default runner version', kind: 'text', help: 'A version like 1.2.3.' },
      {
        path: 'runner.updatePolicy',
        label: 'Update policy',
        kind: 'select',
        help: 'How runners follow this app after an update. A runner outside the range this app speaks is never used.',
        options: [
          { value: 'on-next-use', label: 'On next use (upgrade before its next job)' },
          { value: 'eager', label: 'Eagerly, on all reachable servers' },
          { value: 'manual', label: 'Manual (upgrade from the Runners pane)' },
        ],
      },
      { path: 'runner.artifactCachePath', label: 'Artifact folder', kind: 'text', help: 'Empty = the runner-artifacts folder inside the data folder.' },
      { path: 'runner.deploymentTimeout', label: 'Deployment timeout', kind: 'int', unit: 'seconds' },
      { path: 'runner.healthCheckInterval', label: 'Health check interval', kind: 'int', unit: 'seconds' },
      { path: 'runner.deployParallelism', label: 'Parallel deploys', kind: 'int', unit: 'servers', help: 'Servers a bulk deploy works on at the same time.' },
      { path: 'runner.jobHost', label: 'Job host', kind: 'toggle', help: 'Start runner jobs through one resident runner process per server (no exec or Node start per job). Off: every job starts its own runner.' },
      { path: 'runner.unreachableNoticeSeconds', label: 'Unreachable job notice after', kind: 'int', unit: 'seconds', help: 'Notify when a runner job has been unreachable this long.' },
      { path: 'runner.cacheTtlDays', label: 'Payload cache TTL', kind: 'int', unit: 'days', help: 'Payloads unused this long are removed here and on servers.' },
      { path: 'runner.downloadTimeout', label: 'Download timeout', kind: 'int', unit: 'seconds' },
      { path: 'runner.maxPayloadBytes', label: 'Maximum payload size', kind: 'int', unit: 'bytes' },
    ],
  },
  {
    id: 'rollout',
    title: 'Rollout',
    description: 'The move from direct SSH to runner mode. Existing events move in the Migration pane, with your consent.',
    fields: [
      { path: 'rollout.newEventsUseRunner', label: 'New events default to runner mode', kind: 'toggle', help: 'While the SSH runner is on, a new event starts in runner mode (auto).' },
      { path: 'rollout.directSshDeprecated', label: 'Direct SSH is deprecated', kind: 'toggle', help: 'Events still in direct SSH show a warning with a link to the Migration pane.' },
      { path: 'rollout.directSshFallbackOnly', label: 'Direct SSH only as fallback', kind: 'toggle', help: 'Running a direct-SSH event by hand asks you to choose "run direct-ssh anyway".' },
    ],
  },
  {
    id: 'updates',
    title: 'App updates',
    description: 'Updates of the desktop app. Serve mode shows them but they apply to the desktop build only.',
    fields: [
      {
        path: 'updates.channel',
        label: 'Update channel',
        kind: 'select',
        options: [
          { value: 'stable', label: 'Stable' },
          { value: 'beta', label: 'Beta (pre-releases)' },
        ],
      },
      { path: 'updates.feedUrl', label: 'Update feed URL', kind: 'text', help: "Empty = the feed the build was published with; or your organisation's own (generic) update server." },
    ],
  },
  {
    id: 'health',
    title: 'Runner health thresholds',
    description: 'When a runner counts as degraded or unhealthy.',
    fields: [
      { path: 'runner.health.cpuDegradedPercent', label: 'CPU degraded at', kind: 'number', unit: '%' },
      { path: 'runner.health.cpuUnhealthyPercent', label: 'CPU unhealthy at', kind: 'number', unit: '%' },
      { path: 'runner.health.memoryDegradedPercent', label: 'Memory degraded at', kind: 'number', unit: '%' },
      { path: 'runner.health.memoryUnhealthyPercent', label: 'Memory unhealthy at', kind: 'number', unit: '%' },
      { path: 'runner.health.diskDegradedFreeMb', label: 'Disk degraded below', kind: 'int', unit: 'MB free' },
      { path: 'runner.health.diskUnhealthyFreeMb', label: 'Disk unhealthy below', kind: 'int', unit: 'MB free' },
    ],
  },
  {
    id: 'streaming',
    title: 'Log streaming',
    description: 'How runner output is batched and how long a silent job may stay unattended.',
    fields: [
      { path: 'streaming.bufferSize', label: 'Stream buffer size', kind: 'int', unit: 'bytes' },
      { path: 'streaming.timeoutSeconds', label: 'Stream timeout', kind: 'int', unit: 'seconds' },
    ],
  },
  {
    id: 'listener',
    title: 'Local listener',
    description: 'The port on 127.0.0.1 that runners reach through their SSH tunnel.',
    fields: [{ path: 'listener.port', label: 'Listener port', kind: 'int', help: '0 = any free port. Takes effect at the next start.' }],
  },
  {
    id: 'notifications',
    title: 'Notifications',
    description:
      'What Cronium tells you about, in the notification centre and as browser or desktop notifications. During quiet hours the centre still records everything, without a notification.',
    fields: [
      { path: 'notifications.onFailure', label: 'Notify when a job fails', kind: 'toggle', help: 'A job failed or timed out.' },
      { path: 'notifications.onRecovered', label: 'Notify when a job recovers', kind: 'toggle', help: 'A job succeeded after the previous run of the same event on the same server had failed.' },
      { path: 'notifications.onSuccess', label: 'Notify when a job succeeds', kind: 'toggle' },
      { path: 'notifications.onRunnerUnhealthy', label: 'Notify when a runner becomes unhealthy', kind: 'toggle', help: 'Degraded or unhealthy, with the reason.' },
      { path: 'notifications.onLinkLost', label: 'Notify when the link to a runner job is lost', kind: 'toggle', help: 'After the time set in Runner (unreachable notice).' },
      { path: 'notifications.onScheduleMissed', label: 'Notify when a scheduled run is missed', kind: 'toggle', help: 'Skipped because the app was closed or asleep, or the previous run was still going.' },
      { path: 'notifications.quietHours.enabled', label: 'Quiet hours', kind: 'toggle', help: 'No notifications between the times below (the centre still records them).' },
      { path: 'notifications.quietHours.start', label: 'Quiet from', kind: 'text', help: 'HH:MM in this workstation’s time zone, e.g. 22:00.' },
      { path: 'notifications.quietHours.end', label: 'Quiet until', kind: 'text', help: 'HH:MM; an end before the start spans midnight, e.g. 07:00.' },
      { path: 'notifications.groupWindowSeconds', label: 'Group notifications within', kind: 'int', unit: 's', help: 'Notifications of one kind within this window are shown as one ("40 jobs failed").' },
    ],
  },
];

export const SETTINGS_FIELDS: SettingsField[] = SETTINGS_SECTIONS.flatMap((s) => s.fields);

/** What the form holds per field: text for text and number inputs (so half-typed input is never lost), booleans for toggles. */
export type FormValue = string | boolean;

export function readPath(settings: Settings, path: string): unknown {
  let value: unknown = settings;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

export function writePath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

export function toFormValue(field: SettingsField, value: unknown): FormValue {
  if (field.kind === 'toggle') return value === true;
  return value === undefined || value === null ? '' : String(value);
}

/** Form text -> the typed value, or an error message for the field. */
export function fromFormValue(field: SettingsField, value: FormValue): { value: unknown } | { error: string } {
  if (field.kind === 'toggle') return { value: value === true };
  const text = String(value).trim();
  if (field.kind === 'int' || field.kind === 'number') {
    if (text === '') return { error: 'required' };
    const n = Number(text);
    if (!Number.isFinite(n)) return { error: 'must be a number' };
    if (field.kind === 'int' && !Number.isInteger(n)) return { error: 'must be a whole number' };
    return { value: n };
  }
  return { value: field.kind === 'text' ? String(value) : text };
}
