/**
 * The resident runner's contract (issue 15, server-held schedules): the signed schedule manifest the app installs in
 * ~/.cronium/resident/, what `cronium-runner resident status` prints (the fires the app collects), and the fire key
 * shared by the app's scheduler and the server. Pure schemas and string helpers; both sides import them.
 */
import { z } from 'zod';
import { MisfirePolicy, OverlapPolicy, ScheduleSpec } from '../contract/schedule';

export const RESIDENT_MANIFEST_FORMAT = 1;

/** One schedule the resident runner fires (an event held by the server). */
export const ResidentSchedule = z.object({
  /** The event id: also the owner id of the fire key. */
  id: z.string().min(1).max(128),
  name: z.string().max(200),
  /** The event's version when installed (shown as stale when the app's copy is newer). */
  version: z.number().int().min(0),
  spec: ScheduleSpec,
  /** IANA zone resolved by the app (never null on the server: the server's own zone is not the user's). */
  timeZone: z.string().min(1).max(64),
  misfirePolicy: MisfirePolicy,
  misfireWindowSeconds: z.number().int().min(1),
  overlapPolicy: OverlapPolicy,
  /** Content key of the event's payload, already in ~/.cronium/payloads/<checksum>/. */
  payload: z.string().regex(/^[0-9a-f]{64}$/),
  timeoutSeconds: z.number().int().min(1),
  /** Where catching up starts when the schedule has no fire recorded yet (UTC ISO). */
  activeSince: z.string(),
});
export type ResidentSchedule = z.infer<typeof ResidentSchedule>;

export const ResidentManifest = z.object({
  formatVersion: z.literal(RESIDENT_MANIFEST_FORMAT),
  issuedAt: z.string(),
  /** The app's id of this server: part of every job id, so one fire key on two servers names two jobs. */
  serverId: z.string().min(1).max(128),
  schedules: z.array(ResidentSchedule).max(10_000),
});
export type ResidentManifest = z.infer<typeof ResidentManifest>;

/** manifest.sig: an ed25519 signature (the payload signing key) over residentSignedString(sha256 of manifest.json). */
export const ResidentManifestSignature = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  keyId: z.string().min(1).max(100),
  signature: z.string().min(1).max(200),
});
export type ResidentManifestSignature = z.infer<typeof ResidentManifestSignature>;

export function residentSignedString(sha256: string): string {
  return `cronium-resident-manifest:v1:${sha256}`;
}

/** What the app sends on stdin to `resident install`: the manifest's exact bytes, its signature, the key to check it. */
export const ResidentInstallRequest = z.object({
  manifest: z.string().max(16 * 1024 * 1024),
  signature: ResidentManifestSignature,
  publicKeyPem: z.string().max(4096),
});
export type ResidentInstallRequest = z.infer<typeof ResidentInstallRequest>;

/** The fire key: `event:<id>:<scheduledFor ISO>`, the app scheduler's idempotency key (fire-store.ts) spelled the same. */
export function residentFireKey(scheduleId: string, scheduledForMs: number): string {
  return `event:${scheduleId}:${new Date(scheduledForMs).toISOString()}`;
}

/**
 * The job id of a server fire: derived from the server id and the fire key (the hash of residentJobSeed), so a fire
 * key names one job folder per server, the server never runs it twice, and the app knows the job when it meets it
 * again. UUID-shaped (8-4-4-4-12 hex from the hash).
 */
export function residentJobSeed(serverId: string, fireKey: string): string {
  return `${serverId}\n${fireKey}`;
}

export function residentJobIdFromHash(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** One line of fires.jsonl: a fire the resident runner started, skipped or could not start. */
export const ResidentFire = z.object({
  fireKey: z.string(),
  scheduleId: z.string(),
  version: z.number().int(),
  scheduledFor: z.string(),
  firedAt: z.string(),
  outcome: z.enum(['fired', 'skipped_overlap', 'skipped_misfire', 'failed']),
  jobId: z.string().optional(),
  /** Why it was skipped or failed (disk full, payload missing, ...). */
  reason: z.string().optional(),
  /** catch_up: a missed time run by the misfire policy after the resident runner was down. */
  trigger: z.enum(['schedule', 'catch_up']),
});
export type ResidentFire = z.infer<typeof ResidentFire>;

export const ResidentStartMode = z.enum(['systemd', 'process', 'none']);
export type ResidentStartMode = z.infer<typeof ResidentStartMode>;

/**
 * The collection cursor: the fire key of the last record the app collected, in this environment variable of
 * `resident status|install|ensure` (an environment variable, so a runner from before it ignores it). Only records
 * after that one are printed; when it is not in the record any more (trimmed), all are.
 */
export const RESIDENT_AFTER_ENV = 'CRONIUM_RESIDENT_AFTER';

/** Printed (one JSON line) by `resident status` / `resident ensure`. */
export const ResidentStatus = z.object({
  running: z.boolean(),
  pid: z.number().int().nullable(),
  mode: ResidentStartMode,
  /** Why systemd is not used (no systemd, no lingering), shown with the fallback. */
  systemdNote: z.string().nullable(),
  /** `loginctl enable-linger <user>` when systemd is there without lingering. */
  lingerCommand: z.string().nullable(),
  /** sha256 of the installed manifest.json (null: none installed). */
  manifestSha256: z.string().nullable(),
  /** Set when the installed manifest was refused (bad signature, unreadable): nothing fires until it is replaced. */
  manifestError: z.string().nullable(),
  /** The server's clock when it answered (epoch ms). */
  now: z.number(),
  /** Whether the resident runner restarted since it was last asked (it was killed or the server rebooted). */
  restarts: z.number().int(),
  next: z.array(z.object({ scheduleId: z.string(), nextFire: z.string().nullable() })),
  fires: z.array(ResidentFire),
});
export type ResidentStatus = z.infer<typeof ResidentStatus>;

/** The systemd --user unit name of the resident runner. */
export const RESIDENT_UNIT = 'cronium-resident.service';

/**
 * Removing the resident runner as a shell snippet, for the app's runner removal: it must work even when the runner file
 * is gone or broken. Disables and removes the systemd unit, kills the pid in the lock file (only while it is still
 * that process: same start time), deletes the resident folder (manifest, fire records) and the folders of
 * server-fired jobs (the app collects them first). `cronium-runner resident uninstall` does the same from inside the
 * runner.
 */
export const RESIDENT_REMOVAL_SHELL = [
  `u="$HOME/.config/systemd/user/${RESIDENT_UNIT}"`,
  `if [ -f "$u" ]; then systemctl --user disable --now ${RESIDENT_UNIT} >/dev/null 2>&1; rm -f "$u"; systemctl --user daemon-reload >/dev/null 2>&1; fi`,
  `r="\${CRONIUM_RUNNER_HOME:-$HOME/.cronium}/resident"`,
  // The pid is signalled only while it is still the same process (its recorded start time; see resident-files.ts).
  `if [ -f "$r/resident.pid" ]; then p=$(sed -n 's/^{"pid":\\([0-9]*\\).*/\\1/p' "$r/resident.pid"); s=$(sed -n 's/.*"procStart":"\\([^"]*\\)".*/\\1/p' "$r/resident.pid")`,
  `c=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f20); [ -d /proc/self ] || c=$(ps -o lstart= -p "$p" 2>/dev/null | sed 's/^ *//;s/ *$//')`,
  `[ -n "$p" ] && { [ -z "$s" ] || [ "$s" = "$c" ]; } && kill "$p" 2>/dev/null; fi`,
  `rm -rf "$r"`,
  `for d in "\${CRONIUM_RUNNER_HOME:-$HOME/.cronium}"/jobs/*/; do [ -f "$d/fire.json" ] && rm -rf "$d"; done`,
  'true',
].join('; ');
