/**
 * Logs stores: useLogsStore is the Logs pane's filtered, paged list (newest first, kept current by 'logs/changed');
 * createLogSession(logId) is one open log viewer: its header, its lines in a bounded window fetched page by page,
 * the live 'logs/lines' pushes while it is open, follow-tail, search, copy and download. A session unsubscribes when
 * closed and never holds more than its window's pages of lines.
 */
import { create } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { LogLine, LogStatus, LogView } from '../../../src-shared/contract/logs';
import { errorMessage, invoke, onEvent } from '../rpc/client';
import { stripAnsi } from '../logs/ansi';
import { LogLineWindow } from '../logs/line-window';

export interface LogFilterForm {
  status?: LogStatus;
  eventId?: string;
  serverId?: string;
  /** ISO instants bounding when the log was created. */
  from?: string;
  to?: string;
}

export const LOGS_PAGE_SIZE = 50;

interface LogsListStore {
  filter: LogFilterForm;
  offset: number;
  items: LogView[];
  total: number;
  loading: boolean;
  error: string | null;
  load: () => Promise<void>;
  setFilter: (patch: Partial<LogFilterForm>) => void;
  setOffset: (offset: number) => void;
}

let stopListListening: (() => void) | undefined;
let reloadTimer: ReturnType<typeof setTimeout> | undefined;

export const useLogsStore = create<LogsListStore>((set, get) => ({
  filter: {},
  offset: 0,
  items: [],
  total: 0,
  loading: false,
  error: null,

  load: async () => {
    stopListListening ??= onEvent('logs/changed', ({ log }) => {
      const { items, offset } = get();
      if (items.some((l) => l.id === log.id)) {
        set({ items: items.map((l) => (l.id === log.id ? log : l)) });
      } else if (offset === 0) {
        // A new log: reload the first page once the burst of pushes (one per job started) settles.
        clearTimeout(reloadTimer);
        reloadTimer = setTimeout(() => void get().load(), 250);
      }
    });
    const { filter, offset } = get();
    set({ loading: true });
    try {
      const page = await invoke('logs/list', { ...filter, limit: LOGS_PAGE_SIZE, offset });
      set({ items: page.items, total: page.total, loading: false, error: null });
    } catch (err) {
      set({ loading: false, error: errorMessage(err) });
    }
  },

  setFilter: (patch) => {
    const filter = { ...get().filter, ...patch };
    for (const key of Object.keys(filter) as Array<keyof LogFilterForm>) if (!filter[key]) delete filter[key];
    set({ filter, offset: 0 });
    void get().load();
  },

  setOffset: (offset) => {
    set({ offset: Math.max(0, offset) });
    void get().load();
  },
}));

// ---------------------------------------------------------------------------------------------------------------
// One open log

export const LIVE_LOG_STATUSES: readonly LogStatus[] = ['PENDING', 'RUNNING', 'STREAMING'];
const PAGE = 1000;
const DOWNLOAD_PAGE = 20000;

export interface LogSearchState {
  query: string;
  seqs: number[];
  /** Index into seqs of the current match, -1 before the first "next". */
  current: number;
  truncated: boolean;
  busy: boolean;
  error: string | null;
}

export interface LogSessionState {
  logId: string;
  log: LogView | null;
  error: string | null;
  /** Rows the viewer shows (the highest known sequence number). */
  count: number;
  /** Goes up whenever lines arrive, so the viewer re-renders its visible rows. */
  revision: number;
  following: boolean;
  search: LogSearchState;
  lineAt: (seq: number) => LogLine | undefined;
  /** Called by the viewer with the visible range: keeps it in memory and fetches what it lacks. */
  ensureRange: (fromSeq: number, toSeq: number) => void;
  setFollowing: (following: boolean) => void;
  runSearch: (query: string) => Promise<void>;
  /** Moves to the next (+1) or previous (-1) match and returns its seq. */
  stepMatch: (direction: 1 | -1) => number | null;
  clearSearch: () => void;
  /** The plain text (ANSI stripped) of the given lines that are in memory. */
  textOf: (fromSeq: number, toSeq: number) => string;
  /** The whole log as plain text, read page by page; for copy-all and download. */
  fullText: () => Promise<string>;
  /** Re-reads header and lines after a reconnection (pushes may have been missed while the link was down). */
  refresh: () => Promise<void>;
  close: () => void;
}

export type LogSession = StoreApi<LogSessionState>;

const emptySearch: LogSearchState = { query: '', seqs: [], current: -1, truncated: false, busy: false, error: null };

export function createLogSession(logId: string, opts: { pageSize?: number; maxPages?: number } = {}): LogSession {
  const window = new LogLineWindow(opts.pageSize ?? PAGE, opts.maxPages ?? 100);
  const stops: Array<() => void> = [];
  let closed = false;
  let searchRun = 0;

  const store = createStore<LogSessionState>((set, get) => {
    const bump = () => set((s) => ({ count: window.count, revision: s.revision + 1 }));

    const fetchPage = async (page: number) => {
      window.markRequested(page);
      try {
        const res = await invoke('logs/lines', { id: logId, afterSeq: page * window.pageSize, limit: window.pageSize });
        if (closed) return;
        window.putPage(page, res.lines, res.lastSequence);
        bump();
      } catch (err) {
        window.requestFailed(page);
        if (!closed) set({ error: errorMessage(err) });
      }
    };

    const loadHeader = async () => {
      const log = await invoke('logs/get', { id: logId });
      if (closed) return;
      window.setCount(log.lastSequence);
      set({ log, error: null });
      bump();
    };

    return {
      logId,
      log: null,
      error: null,
      count: 0,
      revision: 0,
      following: true,
      search: emptySearch,
      lineAt: (seq) => window.get(seq),

      ensureRange: (fromSeq, toSeq) => {
        window.touch(fromSeq, toSeq);
        for (const page of window.missingPages(fromSeq, toSeq)) void fetchPage(page);
      },

      setFollowing: (following) => {
        if (get().following !== following) set({ following });
      },

      runSearch: async (query) => {
        const run = ++searchRun;
        if (!query.trim()) {
          set({ search: emptySearch });
          return;
        }
        set({ search: { ...emptySearch, query, busy: true } });
        try {
          const res = await invoke('logs/search', { id: logId, query, limit: 10000 });
          if (run === searchRun && !closed) set({ search: { query, seqs: res.seqs, current: -1, truncated: res.truncated, busy: false, error: null } });
        } catch (err) {
          if (run === searchRun && !closed) set({ search: { ...emptySearch, query, error: errorMessage(err) } });
        }
      },

      stepMatch: (direction) => {
        const { search } = get();
        if (search.seqs.length === 0) return null;
        const n = search.seqs.length;
        const current = search.current === -1 ? (direction === 1 ? 0 : n - 1) : (search.current + direction + n) % n;
        set({ search: { ...search, current }, following: false });
        return search.seqs[current]!;
      },

      clearSearch: () => {
        searchRun++;
        set({ search: emptySearch });
      },

      textOf: (fromSeq, toSeq) => {
        const out: string[] = [];
        for (let seq = Math.max(1, fromSeq); seq <= Math.min(toSeq, window.count); seq++) {
          const line = window.get(seq);
          if (line) out.push(stripAnsi(line.text));
        }
        return out.join('\n');
      },

      fullText: async () => {
        const parts: string[] = [];
        let after = 0;
        for (;;) {
          const res = await invoke('logs/lines', { id: logId, afterSeq: after, limit: DOWNLOAD_PAGE });
          for (const line of res.lines) parts.push(stripAnsi(line.text));
          if (res.lines.length === 0) break;
          after = res.lines[res.lines.length - 1]!.seq;
          if (after >= res.lastSequence) break;
        }
        return parts.length === 0 ? '' : `${parts.join('\n')}\n`;
      },

      refresh: async () => {
        try {
          await invoke('logs/subscribe', { id: logId });
          await loadHeader();
          // Anything pushed while the link was down is fetched as the tail page is re-read.
          const tail = window.pageOf(Math.max(1, window.count));
          window.requestFailed(tail);
          await fetchPage(tail);
        } catch (err) {
          if (!closed) set({ error: errorMessage(err) });
        }
      },

      close: () => {
        if (closed) return;
        closed = true;
        for (const stop of stops) stop();
        void invoke('logs/unsubscribe', { id: logId }).catch(() => {});
      },
    };
  });

  // Listen before subscribing and before the first read, so no line falls between the read and the first push.
  stops.push(
    onEvent('logs/lines', ({ logId: id, lines }) => {
      if (id !== logId || closed) return;
      if (window.append(lines).length > 0) store.setState((s) => ({ count: window.count, revision: s.revision + 1 }));
    }),
    onEvent('logs/changed', ({ log }) => {
      if (log.id !== logId || closed) return;
      window.setCount(log.lastSequence);
      store.setState((s) => ({ log, count: window.count, revision: s.revision + 1 }));
    }),
  );
  void (async () => {
    try {
      await invoke('logs/subscribe', { id: logId });
      // Closed while the subscribe was in flight: close() sent its unsubscribe first, so send another.
      if (closed) return void invoke('logs/unsubscribe', { id: logId }).catch(() => {});
      const log = await invoke('logs/get', { id: logId });
      if (closed) return;
      window.setCount(log.lastSequence);
      store.setState((s) => ({ log, count: window.count, revision: s.revision + 1 }));
    } catch (err) {
      if (!closed) store.setState({ error: errorMessage(err) });
    }
  })();
  return store;
}
