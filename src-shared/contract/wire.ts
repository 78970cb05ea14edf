/**
 * How the contract travels over a message transport (serve-mode WebSocket, in-memory pair in tests).
 * Electron IPC carries the same InvokeResult through ipcMain.handle and the same event frames through webContents.send.
 */
import { z } from 'zod';
import { AppErrorSchema } from './define';

export const ClientFrame = z.object({
  t: z.literal('invoke'),
  id: z.number().int().nonnegative(),
  name: z.string().max(200),
  input: z.unknown().optional(),
});
export type ClientFrame = z.infer<typeof ClientFrame>;

export const ServerFrame = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('result'),
    id: z.number().int(),
    result: z.union([
      z.object({ ok: z.literal(true), value: z.unknown() }),
      z.object({ ok: z.literal(false), error: AppErrorSchema }),
    ]),
  }),
  z.object({ t: z.literal('event'), name: z.string(), payload: z.unknown() }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;

/** Frames larger than this are refused by the serve-mode transport. */
export const MAX_CLIENT_FRAME_BYTES = 4 * 1024 * 1024;
/** The channel names used over Electron IPC. */
export { IPC_INVOKE_CHANNEL, IPC_EVENT_CHANNEL } from './ipc-channels';
