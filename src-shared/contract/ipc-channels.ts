/**
 * The two Electron IPC channel names, in a module with no imports so the sandboxed preload stays a few hundred bytes
 * (wire.ts re-exports them for everyone else). Only the preload and src-main/electron/ipc-transport.ts use them.
 */
export const IPC_INVOKE_CHANNEL = 'cronium:invoke';
export const IPC_EVENT_CHANNEL = 'cronium:event';
