/** Audit store: the Audit pane's page of audit-log entries for the chosen filters, loaded on demand. */
import { create } from 'zustand';
import type { AuditEntryView, AuditObjectKind } from '../../../src-shared/contract/audit';
import { errorMessage, invoke } from '../rpc/client';

export interface AuditFilters {
  objectKind: AuditObjectKind | '';
  actor: 'user' | 'scheduler' | 'system' | '';
  search: string;
}

interface AuditStore {
  entries: AuditEntryView[];
  hasMore: boolean;
  filters: AuditFilters;
  loading: boolean;
  error: string | null;
  setFilters: (patch: Partial<AuditFilters>) => void;
  load: () => Promise<void>;
  loadMore: () => Promise<void>;
}

const PAGE = 200;

function query(filters: AuditFilters, beforeId?: number) {
  return {
    limit: PAGE,
    ...(filters.objectKind ? { objectKind: filters.objectKind } : {}),
    ...(filters.actor ? { actor: filters.actor } : {}),
    ...(filters.search.trim() ? { search: filters.search.trim() } : {}),
    ...(beforeId !== undefined ? { beforeId } : {}),
  };
}

export const useAuditStore = create<AuditStore>((set, get) => ({
  entries: [],
  hasMore: false,
  filters: { objectKind: '', actor: '', search: '' },
  loading: false,
  error: null,
  setFilters: (patch) => {
    set((s) => ({ filters: { ...s.filters, ...patch } }));
    void get().load();
  },
  load: async () => {
    set({ loading: true });
    try {
      const { entries, hasMore } = await invoke('audit/list', query(get().filters));
      set({ entries, hasMore, loading: false, error: null });
    } catch (err) {
      set({ loading: false, error: errorMessage(err) });
    }
  },
  loadMore: async () => {
    const last = get().entries.at(-1);
    if (!last) return;
    set({ loading: true });
    try {
      const { entries, hasMore } = await invoke('audit/list', query(get().filters, last.id));
      set((s) => ({ entries: [...s.entries, ...entries], hasMore, loading: false, error: null }));
    } catch (err) {
      set({ loading: false, error: errorMessage(err) });
    }
  },
}));
