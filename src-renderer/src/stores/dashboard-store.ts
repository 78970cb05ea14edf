/**
 * Dashboard store: what the app is and how it is doing (system/info: version, mode, data folder, listener port,
 * keychain state). Loads on demand and again after a reconnection; never caches across app starts.
 */
import { create } from 'zustand';
import type { SystemInfo } from '../../../src-shared/contract/system';
import { errorMessage, invoke } from '../rpc/client';

interface DashboardStore {
  info: SystemInfo | null;
  loading: boolean;
  error: string | null;
  load: () => Promise<void>;
}

export const useDashboardStore = create<DashboardStore>((set) => ({
  info: null,
  loading: false,
  error: null,
  load: async () => {
    set({ loading: true });
    try {
      const info = await invoke('system/info');
      set({ info, error: null, loading: false });
    } catch (err) {
      set({ error: errorMessage(err), loading: false });
    }
  },
}));
