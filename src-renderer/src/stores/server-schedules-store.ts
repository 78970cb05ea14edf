/**
 * Server-schedules store: the server-held schedules (where each fires, each server's copy, next fire and last
 * collected fire), loaded on demand and again whenever the main process says they changed; "collect now" syncs every
 * server (or one) and reloads.
 */
import { create } from 'zustand';
import type { ServerScheduleView } from '../../../src-shared/contract/server-schedules';
import { errorMessage, invoke, onEvent } from '../rpc/client';

interface ServerSchedulesStore {
  items: ServerScheduleView[];
  loaded: boolean;
  busy: boolean;
  error: string | null;
  load: () => Promise<void>;
  collect: (serverId?: string) => Promise<number>;
  /** Reloads on every 'serverSchedules/changed' (and 'jobs/changed' of a collected job) until the returned stop. */
  follow: () => () => void;
}

export const useServerSchedulesStore = create<ServerSchedulesStore>((set, get) => ({
  items: [],
  loaded: false,
  busy: false,
  error: null,
  load: async () => {
    try {
      set({ items: await invoke('serverSchedules/list'), loaded: true, error: null });
    } catch (err) {
      set({ error: errorMessage(err), loaded: true });
    }
  },
  collect: async (serverId) => {
    set({ busy: true });
    try {
      const results = await invoke('serverSchedules/collect', serverId ? { serverId } : undefined);
      await get().load();
      return results.reduce((n, r) => n + r.collected, 0);
    } catch (err) {
      set({ error: errorMessage(err) });
      return 0;
    } finally {
      set({ busy: false });
    }
  },
  follow: () => {
    void get().load();
    return onEvent('serverSchedules/changed', () => void get().load());
  },
}));
