/**
 * Server-held schedules (issue 15): per server-held event, where it fires (its servers), each server's installed copy
 * (stale until the server takes the current version), its next fire and last collected fire, how the resident runner
 * runs there (systemd or background process, and why), the clock skew, and errors. Calls to list them and to sync and
 * collect now; an event when any of it changes.
 */
import { z } from 'zod';
import { call } from './define';

export const ServerScheduleCopyView = z.object({
  serverId: z.string(),
  serverName: z.string(),
  /** Event version installed on this server (null: not yet). */
  installedVersion: z.number().int().nullable(),
  /** The server's copy differs from the event (edited, paused, removed) and waits until the server is reachable. */
  stale: z.boolean(),
  nextFire: z.string().nullable(),
  lastCollectedFire: z.string().nullable(),
  startMode: z.enum(['systemd', 'process', 'none']).nullable(),
  running: z.boolean(),
  /** Why systemd is not used (no systemd, lingering off), shown with the background-process fallback. */
  systemdNote: z.string().nullable(),
  /** The one command an administrator runs to let the resident runner live as a systemd --user service. */
  lingerCommand: z.string().nullable(),
  /** The server's clock minus this computer's, measured at the last contact (ms). */
  skewMs: z.number().int().nullable(),
  /** The server refused its manifest (bad signature): nothing fires there until it is installed again. */
  manifestError: z.string().nullable(),
  lastError: z.string().nullable(),
  lastContactAt: z.string().nullable(),
});
export type ServerScheduleCopyView = z.infer<typeof ServerScheduleCopyView>;

export const ServerScheduleView = z.object({
  eventId: z.string(),
  eventName: z.string(),
  enabled: z.boolean(),
  version: z.number().int(),
  servers: z.array(ServerScheduleCopyView),
});
export type ServerScheduleView = z.infer<typeof ServerScheduleView>;

export const SyncResultView = z.object({
  serverId: z.string(),
  installed: z.number().int(),
  collected: z.number().int(),
  skewMs: z.number().int().nullable(),
  started: z.boolean(),
});

export const serverSchedulesCalls = {
  'serverSchedules/list': call(z.void().optional(), z.array(ServerScheduleView)),
  /** Syncs and collects now (every server, or one). */
  'serverSchedules/collect': call(z.object({ serverId: z.string().min(1).optional() }).optional(), z.array(SyncResultView)),
};

export const serverSchedulesEvents = {
  'serverSchedules/changed': z.object({ serverId: z.string() }),
};
