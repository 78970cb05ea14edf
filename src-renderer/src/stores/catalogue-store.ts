/**
 * Catalogue store: export to a YAML file, and the import flow (choose a file, preview creates / updates / conflicts
 * and every problem, then apply all or nothing).
 */
import { create } from 'zustand';
import type { CataloguePreview } from '../../../src-shared/contract/catalogue';
import { errorMessage, invoke, RpcError } from '../rpc/client';

interface CatalogueStore {
  fileName: string | null;
  text: string | null;
  preview: CataloguePreview | null;
  busy: boolean;
  error: string | null;
  applied: CataloguePreview | null;
  exportFile: () => Promise<{ yaml: string; fileName: string } | null>;
  choose: (fileName: string, text: string) => Promise<void>;
  apply: () => Promise<void>;
  reset: () => void;
}

export const useCatalogueStore = create<CatalogueStore>((set, get) => ({
  fileName: null,
  text: null,
  preview: null,
  busy: false,
  error: null,
  applied: null,
  exportFile: async () => {
    set({ busy: true, error: null });
    try {
      const out = await invoke('catalogue/export');
      set({ busy: false });
      return out;
    } catch (err) {
      set({ busy: false, error: errorMessage(err) });
      return null;
    }
  },
  choose: async (fileName, text) => {
    set({ fileName, text, preview: null, applied: null, busy: true, error: null });
    try {
      set({ preview: await invoke('catalogue/previewImport', { yaml: text }), busy: false });
    } catch (err) {
      set({ busy: false, error: errorMessage(err) });
    }
  },
  apply: async () => {
    const { text } = get();
    if (text === null) return;
    set({ busy: true, error: null });
    try {
      const applied = await invoke('catalogue/applyImport', { yaml: text });
      set({ applied, preview: null, text: null, busy: false });
    } catch (err) {
      const preview = err instanceof RpcError ? (err.details?.preview as CataloguePreview | undefined) : undefined;
      set({ busy: false, error: errorMessage(err), ...(preview ? { preview } : {}) });
    }
  },
  reset: () => set({ fileName: null, text: null, preview: null, applied: null, error: null }),
}));
