/**
 * Alerts store: the Alerts pane's rules and delivery history. Reloads the history when the main process says a
 * delivery changed. Channel secrets are only ever sent (on save), never received.
 */
import { create } from 'zustand';
import type { AlertDeliveryView, AlertRuleInput, AlertRuleView } from '../../../src-shared/contract/alerts';
import { errorMessage, invoke, onEvent, RpcError } from '../rpc/client';

export type SubjectChoices = Record<'event' | 'workflow' | 'runner', Array<{ id: string; name: string }>>;

interface AlertsStore {
  rules: AlertRuleView[];
  /** What a rule can watch: events, workflows, and servers (for their runner). */
  subjects: SubjectChoices;
  history: AlertDeliveryView[];
  loading: boolean;
  error: string | null;
  load: () => Promise<void>;
  loadHistory: () => Promise<void>;
  /** Saves a rule; returns the server's field errors (all at once) or null on success. */
  save: (input: AlertRuleInput) => Promise<{ fields: Record<string, string>; message: string } | null>;
  remove: (id: string) => Promise<void>;
  test: (id: string) => Promise<void>;
  /** Follows delivery changes; returns the function that stops. */
  follow: () => () => void;
}

export const useAlertsStore = create<AlertsStore>((set, get) => ({
  rules: [],
  subjects: { event: [], workflow: [], runner: [] },
  history: [],
  loading: false,
  error: null,
  load: async () => {
    set({ loading: true });
    try {
      const [rules, history, events, workflows, servers] = await Promise.all([
        invoke('alerts/listRules'),
        invoke('alerts/history', { limit: 100 }),
        invoke('events/list'),
        invoke('workflows/list'),
        invoke('servers/list'),
      ]);
      const pick = (items: Array<{ id: string; name: string }>) => items.map(({ id, name }) => ({ id, name }));
      set({ rules, history, subjects: { event: pick(events), workflow: pick(workflows), runner: pick(servers) }, loading: false, error: null });
    } catch (err) {
      set({ loading: false, error: errorMessage(err) });
    }
  },
  loadHistory: async () => {
    try {
      set({ history: await invoke('alerts/history', { limit: 100 }) });
    } catch (err) {
      set({ error: errorMessage(err) });
    }
  },
  save: async (input) => {
    try {
      await invoke('alerts/saveRule', input);
      await get().load();
      return null;
    } catch (err) {
      return { fields: err instanceof RpcError ? (err.fields ?? {}) : {}, message: errorMessage(err) };
    }
  },
  remove: async (id) => {
    await invoke('alerts/deleteRule', { id });
    await get().load();
  },
  test: async (id) => {
    await invoke('alerts/test', { id });
    await get().loadHistory();
  },
  follow: () => {
    let pending: ReturnType<typeof setTimeout> | null = null;
    const off = onEvent('alerts/deliveryChanged', () => {
      // Coalesce bursts (a flapping job) into one reload.
      if (pending) return;
      pending = setTimeout(() => {
        pending = null;
        void get().loadHistory();
      }, 200);
    });
    return () => {
      off();
      if (pending) clearTimeout(pending);
    };
  },
}));
