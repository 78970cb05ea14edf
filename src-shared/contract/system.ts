/** System calls: what the app is, where its data lives, whether its keychain is usable. */
import { z } from 'zod';
import { call, NoInput } from './define';

export const SystemInfo = z.object({
  appVersion: z.string(),
  mode: z.enum(['electron', 'serve']),
  dataDir: z.string(),
  listenerPort: z.number().int(),
  keychain: z.object({ available: z.boolean(), message: z.string().optional() }),
});
export type SystemInfo = z.infer<typeof SystemInfo>;

const Count = z.number().int().nonnegative();

/** The Dashboard's numbers, counted from the database when asked (never cached): jobs, runner deployments, servers, events. */
export const SystemStats = z.object({
  jobs: z.object({
    /** DISPATCHING or RUNNING now. */
    running: Count,
    queued: Count,
    /** Jobs that finished in the last 24 hours, by final state. */
    last24h: z.object({ success: Count, failure: Count, timeout: Count, cancelled: Count, partial: Count }),
  }),
  runners: z.object({
    deployments: z.object({ active: Count, failed: Count, updating: Count }),
    /** Health of the active deployments as last checked; 'unknown' until a check has run. */
    health: z.object({ healthy: Count, degraded: Count, unhealthy: Count, unknown: Count }),
  }),
  servers: Count,
  events: Count,
  /** Enabled events with a schedule. */
  scheduledEvents: Count,
});
export type SystemStats = z.infer<typeof SystemStats>;

export const systemCalls = {
  'system/info': call(NoInput, SystemInfo),
  'system/ping': call(NoInput, z.object({ at: z.string() })),
  'system/stats': call(NoInput, SystemStats),
};

export const systemEvents = {
  /** A notice the user should see (toast), e.g. a keychain that became unavailable. */
  'system/notice': z.object({ level: z.enum(['info', 'warning', 'error']), message: z.string() }),
  /** The shell asks the UI to show a log (a notification or a tray result was clicked): open the Logs pane on it. */
  'system/openLog': z.object({ logId: z.string() }),
};
