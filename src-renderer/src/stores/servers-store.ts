/**
 * Servers store: the Servers pane's list (with its tag filter), the save / delete / test / trust actions and the last
 * connection test per server. Credentials typed by the user pass through save() to 'servers/save' and are never kept
 * here afterwards; field errors from AppError.fields are returned to the form, which keeps what the user typed.
 */
import { create } from 'zustand';
import type { ConnectionTestResult, ServerInput, ServerView, SshConfigPreview, SshConfigSource } from '../../../src-shared/contract/servers';
import { errorMessage, invoke, onEvent, RpcError } from '../rpc/client';
import { toast } from './toast-store';
import { ErrorCode } from '../../../src-shared/errors';

export type SaveOutcome<T> = { ok: true; value: T } | { ok: false; message: string; fields: Record<string, string> };

/** Turns a failed call into what a form shows: a message above it and messages at its fields. */
export function failureOf(err: unknown): { ok: false; message: string; fields: Record<string, string> } {
  const fields = err instanceof RpcError && err.fields ? err.fields : {};
  return { ok: false, message: errorMessage(err), fields };
}

interface ServersStore {
  servers: ServerView[];
  loaded: boolean;
  loading: boolean;
  error: string | null;
  tagFilter: string | null;
  /** The last "Test connection" result per server id, for the details view. */
  tests: Record<string, ConnectionTestResult | undefined>;
  testing: Record<string, boolean | undefined>;
  load: () => Promise<void>;
  setTagFilter: (tag: string | null) => void;
  save: (input: ServerInput) => Promise<SaveOutcome<ServerView>>;
  remove: (id: string) => Promise<boolean>;
  test: (id: string) => Promise<ConnectionTestResult | null>;
  /** Pins the fingerprint the user saw; `replace` is the explicit re-trust of a changed key. */
  trust: (id: string, fingerprint: string, replace: boolean) => Promise<boolean>;
  /** Import from ~/.ssh/config: the preview (nothing saved), then the import of what it showed. */
  importPreview: (source: SshConfigSource) => Promise<SaveOutcome<SshConfigPreview>>;
  importApply: (source: SshConfigSource) => Promise<SaveOutcome<{ created: string[]; updated: string[] }>>;
}

let stopListening: (() => void) | undefined;

function upsert(list: ServerView[], server: ServerView): ServerView[] {
  const i = list.findIndex((s) => s.id === server.id);
  const next = i === -1 ? [...list, server] : list.map((s) => (s.id === server.id ? server : s));
  return next.sort((a, b) => a.name.localeCompare(b.name));
}

export const useServersStore = create<ServersStore>((set, get) => ({
  servers: [],
  loaded: false,
  loading: false,
  error: null,
  tagFilter: null,
  tests: {},
  testing: {},

  load: async () => {
    stopListening ??= onEvent('servers/changed', ({ server, deletedId }) => {
      if (server) set((s) => ({ servers: upsert(s.servers, server) }));
      if (deletedId) set((s) => ({ servers: s.servers.filter((x) => x.id !== deletedId) }));
    });
    set({ loading: true });
    try {
      const servers = await invoke('servers/list');
      set({ servers: [...servers].sort((a, b) => a.name.localeCompare(b.name)), loaded: true, loading: false, error: null });
    } catch (err) {
      set({ loading: false, error: errorMessage(err) });
    }
  },

  setTagFilter: (tag) => set({ tagFilter: tag }),

  save: async (input) => {
    try {
      const saved = await invoke('servers/save', input);
      set((s) => ({ servers: upsert(s.servers, saved) }));
      toast.success(input.id ? `Server ${saved.name} saved.` : `Server ${saved.name} added.`);
      return { ok: true, value: saved };
    } catch (err) {
      return failureOf(err);
    }
  },

  remove: async (id) => {
    const name = get().servers.find((s) => s.id === id)?.name ?? 'server';
    try {
      await invoke('servers/delete', { id });
      set((s) => ({ servers: s.servers.filter((x) => x.id !== id) }));
      toast.success(`Server ${name} deleted.`);
      return true;
    } catch (err) {
      toast.error(err);
      return false;
    }
  },

  test: async (id) => {
    set((s) => ({ testing: { ...s.testing, [id]: true } }));
    try {
      const result = await invoke('servers/test', { id });
      set((s) => ({ tests: { ...s.tests, [id]: result } }));
      // The server view carries the recorded last connection; reload it so details show the new result and latency.
      const fresh = await invoke('servers/get', { id }).catch(() => null);
      if (fresh) set((s) => ({ servers: upsert(s.servers, fresh) }));
      return result;
    } catch (err) {
      const result: ConnectionTestResult = {
        status: 'error',
        code: err instanceof RpcError ? err.code : ErrorCode.UNKNOWN,
        message: errorMessage(err),
      };
      set((s) => ({ tests: { ...s.tests, [id]: result } }));
      return result;
    } finally {
      set((s) => ({ testing: { ...s.testing, [id]: false } }));
    }
  },

  importPreview: async (source) => {
    try {
      return { ok: true, value: await invoke('servers/importPreview', source) };
    } catch (err) {
      return failureOf(err);
    }
  },

  importApply: async (source) => {
    try {
      const result = await invoke('servers/importApply', source);
      await get().load();
      toast.success(`Imported from the SSH config: ${result.created.length} created, ${result.updated.length} updated.`);
      return { ok: true, value: result };
    } catch (err) {
      return failureOf(err);
    }
  },

  trust: async (id, fingerprint, replace) => {
    try {
      const server = await invoke('servers/trustHostKey', { id, fingerprint, replace });
      set((s) => ({ servers: upsert(s.servers, server) }));
      toast.success(`Host key trusted and pinned for ${server.name}.`);
      return true;
    } catch (err) {
      toast.error(err);
      return false;
    }
  },
}));

/** Every tag used by any server, sorted, for the filter chips and the tag input's suggestions. */
export function allTags(servers: ServerView[]): string[] {
  return [...new Set(servers.flatMap((s) => s.tags))].sort((a, b) => a.localeCompare(b));
}
