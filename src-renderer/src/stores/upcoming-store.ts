/** Upcoming store: the next fires of every enabled schedule (schedule/upcoming) for the Upcoming view, on demand. */
import { create } from 'zustand';
import type { UpcomingFire } from '../../../src-shared/contract/schedule';
import { errorMessage, invoke } from '../rpc/client';

interface UpcomingStore {
  days: number;
  fires: UpcomingFire[];
  truncated: boolean;
  workstationTimeZone: string | null;
  loading: boolean;
  error: string | null;
  setDays: (days: number) => void;
  load: () => Promise<void>;
}

export const useUpcomingStore = create<UpcomingStore>((set, get) => ({
  days: 7,
  fires: [],
  truncated: false,
  workstationTimeZone: null,
  loading: false,
  error: null,
  setDays: (days) => {
    set({ days });
    void get().load();
  },
  load: async () => {
    set({ loading: true });
    try {
      const r = await invoke('schedule/upcoming', { days: get().days, limit: 1000 });
      set({ fires: r.fires, truncated: r.truncated, workstationTimeZone: r.workstationTimeZone, loading: false, error: null });
    } catch (err) {
      set({ loading: false, error: errorMessage(err) });
    }
  },
}));
