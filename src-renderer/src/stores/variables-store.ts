/** Variables store: the list the Variables pane shows, loaded on demand (helpers change it as jobs run). */
import { create } from 'zustand';
import type { VariableView } from '../../../src-shared/contract/variables';
import { errorMessage, invoke } from '../rpc/client';

interface VariablesStore {
  items: VariableView[];
  loading: boolean;
  error: string | null;
  load: () => Promise<void>;
  /** The log of the job that set a variable (null when it has none). */
  logOfJob: (jobId: string) => Promise<string | null>;
}

export const useVariablesStore = create<VariablesStore>((set) => ({
  items: [],
  loading: false,
  error: null,
  load: async () => {
    set({ loading: true });
    try {
      const { items } = await invoke('variables/list');
      set({ items, loading: false, error: null });
    } catch (err) {
      set({ loading: false, error: errorMessage(err) });
    }
  },
  logOfJob: async (jobId) => (await invoke('jobs/get', { id: jobId })).logId,
}));
