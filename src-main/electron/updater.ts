/**
 * Updater: checks the publish feed (electron-builder.yml) for a new release and lets electron-updater download it and
 * notify the user. Idle when the app is not packaged (no feed, no signature to check). It must never crash or block
 * the app: every failure is logged and the app goes on.
 */
export interface UpdaterOptions {
  isPackaged: boolean;
  /** How often to look again after the first check. */
  intervalMs?: number;
}

export interface UpdaterHandle {
  state: 'idle' | 'active';
  stop(): void;
}

const SIX_HOURS_MS = 6 * 60 * 60 * 1000;

const updaterLog = {
  info: (...args: unknown[]) => console.info('[updater]', ...args),
  warn: (...args: unknown[]) => console.warn('[updater]', ...args),
  error: (...args: unknown[]) => console.error('[updater]', ...args),
  debug: () => undefined,
};

export async function startUpdater(options: UpdaterOptions): Promise<UpdaterHandle> {
  if (!options.isPackaged) {
    updaterLog.info('idle: the app is not packaged, so there is no release feed to check');
    return { state: 'idle', stop: () => undefined };
  }
  try {
    // Loaded only when packaged: electron-updater reads app-update.yml, which exists only inside a packaged app.
    const { autoUpdater } = await import('electron-updater');
    autoUpdater.logger = updaterLog;
    autoUpdater.on('error', (err: unknown) => updaterLog.error('update failed:', err));
    const check = () => {
      autoUpdater.checkForUpdatesAndNotify().catch((err: unknown) => updaterLog.error('update check failed:', err));
    };
    check();
    const timer = setInterval(check, options.intervalMs ?? SIX_HOURS_MS);
    timer.unref?.();
    return { state: 'active', stop: () => clearInterval(timer) };
  } catch (err) {
    updaterLog.error('could not start; updates are off for this session:', err);
    return { state: 'idle', stop: () => undefined };
  }
}
