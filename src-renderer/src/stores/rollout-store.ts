/**
 * Rollout store: the rollout status (phase 2's new-event mode, phase 5's deprecation), the migration wizard's state
 * (the last check, which events the user ticked, the last batch for undo, test-run jobs), the runner version status
 * for the Runners pane, and the app update state. Every change goes through the router; nothing switches an event
 * unless apply() is called with the ticked events.
 */
import { create } from 'zustand';
import type { AppUpdateState, MigrationApplyResult, MigrationBatchView, MigrationScanView, MigrationTargetMode, MigrationUndoResult, RolloutStatus } from '../../../src-shared/contract/rollout';
import type { RunnerVersionStatus } from '../../../src-shared/contract/runners';
import type { JobView } from '../../../src-shared/contract/jobs';
import { errorMessage, invoke, onEvent } from '../rpc/client';
import { toast } from './toast-store';

interface RolloutStore {
  status: RolloutStatus | null;
  scan: MigrationScanView | null;
  scanning: boolean;
  /** Event ids the user consented to. */
  selected: Record<string, boolean>;
  mode: MigrationTargetMode;
  applying: boolean;
  lastApply: MigrationApplyResult | null;
  lastUndo: MigrationUndoResult | null;
  batches: MigrationBatchView[];
  testRuns: Record<string, JobView[] | 'running' | undefined>;
  versions: RunnerVersionStatus | null;
  update: AppUpdateState | null;
  loadStatus: () => Promise<void>;
  runScan: () => Promise<void>;
  toggle: (eventId: string, on: boolean) => void;
  selectAllReady: () => void;
  setMode: (mode: MigrationTargetMode) => void;
  apply: () => Promise<void>;
  undo: (batchId: string) => Promise<void>;
  loadBatches: () => Promise<void>;
  testRun: (eventId: string) => Promise<void>;
  loadVersions: () => Promise<void>;
  loadUpdate: () => Promise<void>;
  updateAction: (action: 'check' | 'download' | 'install') => Promise<void>;
}

let listening = false;

export const useRolloutStore = create<RolloutStore>((set, get) => {
  const listen = () => {
    if (listening) return;
    listening = true;
    onEvent('updates/changed', (update) => set({ update }));
    onEvent('settings/changed', () => void get().loadStatus());
    onEvent('runners/changed', () => {
      if (get().versions) void get().loadVersions();
    });
  };
  return {
    status: null,
    scan: null,
    scanning: false,
    selected: {},
    mode: 'auto',
    applying: false,
    lastApply: null,
    lastUndo: null,
    batches: [],
    testRuns: {},
    versions: null,
    update: null,
    loadStatus: async () => {
      listen();
      try {
        set({ status: await invoke('rollout/status') });
      } catch (err) {
        toast.error(errorMessage(err));
      }
    },
    runScan: async () => {
      set({ scanning: true, lastApply: null, lastUndo: null });
      try {
        const scan = await invoke('rollout/scan', {});
        set({ scan, selected: {} });
      } catch (err) {
        toast.error(errorMessage(err));
      } finally {
        set({ scanning: false });
      }
    },
    toggle: (eventId, on) => set((s) => ({ selected: { ...s.selected, [eventId]: on } })),
    selectAllReady: () => set((s) => ({ selected: Object.fromEntries((s.scan?.events ?? []).filter((e) => e.ready).map((e) => [e.eventId, true])) })),
    setMode: (mode) => set({ mode }),
    apply: async () => {
      const { scan, selected, mode } = get();
      const eventIds = Object.entries(selected).filter(([, on]) => on).map(([id]) => id);
      if (!scan || eventIds.length === 0) return;
      set({ applying: true });
      try {
        const result = await invoke('rollout/apply', { scanId: scan.scanId, eventIds, mode });
        set({ lastApply: result, selected: {} });
        if (result.switched.length) toast.success(`${result.switched.length} event${result.switched.length === 1 ? '' : 's'} moved to ${mode}`);
        await get().loadBatches();
        // The scan is stale now (switched events left direct-ssh): check again so the list says what is left.
        const rescan = await invoke('rollout/scan', {});
        set({ scan: rescan });
      } catch (err) {
        toast.error(errorMessage(err));
      } finally {
        set({ applying: false });
      }
    },
    undo: async (batchId) => {
      try {
        const result = await invoke('rollout/undo', { batchId });
        set({ lastUndo: result, lastApply: null });
        toast.success(`${result.restored.length} event${result.restored.length === 1 ? '' : 's'} put back to their previous mode`);
        await get().loadBatches();
        set({ scan: await invoke('rollout/scan', {}) });
      } catch (err) {
        toast.error(errorMessage(err));
      }
    },
    loadBatches: async () => {
      try {
        set({ batches: await invoke('rollout/batches') });
      } catch (err) {
        toast.error(errorMessage(err));
      }
    },
    testRun: async (eventId) => {
      set((s) => ({ testRuns: { ...s.testRuns, [eventId]: 'running' } }));
      try {
        const { jobs } = await invoke('rollout/testRun', { eventId });
        set((s) => ({ testRuns: { ...s.testRuns, [eventId]: jobs } }));
      } catch (err) {
        set((s) => ({ testRuns: { ...s.testRuns, [eventId]: undefined } }));
        toast.error(errorMessage(err));
      }
    },
    loadVersions: async () => {
      listen();
      try {
        set({ versions: await invoke('runners/versionStatus') });
      } catch (err) {
        toast.error(errorMessage(err));
      }
    },
    loadUpdate: async () => {
      listen();
      try {
        set({ update: await invoke('updates/state') });
      } catch (err) {
        toast.error(errorMessage(err));
      }
    },
    updateAction: async (action) => {
      try {
        const name = action === 'check' ? 'updates/check' : action === 'download' ? 'updates/download' : 'updates/install';
        const state = await invoke(name);
        set({ update: state });
        if (state.message && state.state !== 'unsupported') toast.info(state.message);
      } catch (err) {
        toast.error(errorMessage(err));
      }
    },
  };
});
