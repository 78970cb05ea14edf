/**
 * Navigation store: which pane is shown and which item each pane has selected. The one way to move around the app
 * (e.g. openLog from a notification or a job row); it never loads data, the panes' own stores do.
 */
import { create } from 'zustand';

export const PANES = ['dashboard', 'servers', 'events', 'logs', 'variables', 'runners', 'migration', 'workflows', 'upcoming', 'audit', 'notifications', 'alerts', 'catalogue', 'settings'] as const;
export type PaneId = (typeof PANES)[number];

export const PANE_TITLES: Record<PaneId, string> = {
  dashboard: 'Dashboard',
  servers: 'Servers',
  events: 'Events',
  logs: 'Logs',
  variables: 'Variables',
  runners: 'Runners',
  migration: 'Migration',
  workflows: 'Workflows',
  upcoming: 'Upcoming',
  audit: 'Audit',
  notifications: 'Notifications',
  alerts: 'Alerts',
  catalogue: 'Import / export',
  settings: 'Settings',
};

export interface Selection {
  serverId?: string;
  eventId?: string;
  logId?: string;
  workflowId?: string;
}

interface NavigationStore {
  pane: PaneId;
  selection: Selection;
  navigate: (pane: PaneId) => void;
  select: (pane: PaneId, selection: Selection) => void;
  openLog: (logId: string) => void;
}

export const useNavigationStore = create<NavigationStore>((set) => ({
  pane: 'dashboard',
  selection: {},
  navigate: (pane) => set({ pane }),
  select: (pane, selection) => set((s) => ({ pane, selection: { ...s.selection, ...selection } })),
  openLog: (logId) => set((s) => ({ pane: 'logs', selection: { ...s.selection, logId } })),
}));
