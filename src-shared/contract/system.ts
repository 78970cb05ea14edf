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

export const systemCalls = {
  'system/info': call(NoInput, SystemInfo),
  'system/ping': call(NoInput, z.object({ at: z.string() })),
};

export const systemEvents = {
  /** A notice the user should see (toast), e.g. a keychain that became unavailable. */
  'system/notice': z.object({ level: z.enum(['info', 'warning', 'error']), message: z.string() }),
  /** The shell asks the UI to show a log (a notification or a tray result was clicked): open the Logs pane on it. */
  'system/openLog': z.object({ logId: z.string() }),
};
