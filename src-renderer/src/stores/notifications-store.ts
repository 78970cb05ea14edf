/**
 * Notifications store: the notification centre (history, unread count, read marks) and, in serve mode, the browser
 * notifications. Both come from the core's one notification service: entries from 'notifications/list' and
 * 'notifications/changed', alerts from 'notifications/alert' (already filtered by preferences, quiet hours and
 * grouped). The browser's permission is asked for once, only after the app has said why (askPermission).
 * In Electron the main process shows native notifications from the same alerts, so this never shows a second one.
 */
import { create } from 'zustand';
import type { NotificationAlert, NotificationView } from '../../../src-shared/contract/notifications';
import { errorMessage, invoke, onEvent } from '../rpc/client';
import { useNavigationStore } from './navigation-store';

/** The centre keeps this many entries in memory; older ones are a reload away. */
const MAX_ITEMS = 500;
/** Set once the user has answered (or declined to be asked), so the explanation and the prompt come once. */
export const PERMISSION_ASKED_KEY = 'cronium.notifications.permissionAsked';

export type BrowserPermission = 'unsupported' | 'default' | 'granted' | 'denied';

export function browserPermission(): BrowserPermission {
  if (typeof window === 'undefined' || typeof window.Notification === 'undefined') return 'unsupported';
  return window.Notification.permission as BrowserPermission;
}

function readAsked(): boolean {
  try {
    return window.localStorage.getItem(PERMISSION_ASKED_KEY) === '1';
  } catch {
    return false;
  }
}

function writeAsked(): void {
  try {
    window.localStorage.setItem(PERMISSION_ASKED_KEY, '1');
  } catch {
    // private mode: the question may come again next time, which is harmless
  }
}

/** Opens what an entry or alert points at (a log, a server, an event, a workflow), or the centre for a group. */
export function openNotificationTarget(target: NotificationView['target']): void {
  const nav = useNavigationStore.getState();
  if (!target) nav.navigate('notifications');
  else if (target.kind === 'log') nav.openLog(target.id);
  else if (target.kind === 'server') nav.select('servers', { serverId: target.id });
  else if (target.kind === 'event') nav.select('events', { eventId: target.id });
  else nav.select('workflows', { workflowId: target.id });
}

interface NotificationsStore {
  items: NotificationView[];
  unread: number;
  loaded: boolean;
  loading: boolean;
  error: string | null;
  /** 'serve' shows browser notifications; 'electron' leaves them to the main process. Null until known. */
  mode: 'serve' | 'electron' | null;
  permission: BrowserPermission;
  /** Whether the app already asked (or the user said "not now"). */
  asked: boolean;
  /** Browser notifications shown in this page (for the centre's note and tests). */
  shown: number;
  load: () => Promise<void>;
  markRead: (ids?: string[]) => Promise<void>;
  /** Shows the browser's prompt (after the in-app explanation was read and accepted). */
  askPermission: () => Promise<void>;
  /** The user does not want to be asked. */
  declinePermission: () => void;
  /** Follows pushes for the app's lifetime; returns the function that stops it. */
  start: () => () => void;
}

export const useNotificationsStore = create<NotificationsStore>((set, get) => {
  const showAlert = (alert: NotificationAlert) => {
    if (get().mode !== 'serve' || browserPermission() !== 'granted') return;
    try {
      const n = new window.Notification(alert.title, { body: alert.body, tag: alert.groupId });
      n.onclick = () => {
        window.focus();
        openNotificationTarget(alert.target);
        if (alert.entryIds.length > 0) void get().markRead(alert.entryIds);
        n.close();
      };
      set((s) => ({ shown: s.shown + 1 }));
    } catch (err) {
      console.warn('[notifications] the browser refused to show a notification:', err);
    }
  };

  return {
    items: [],
    unread: 0,
    loaded: false,
    loading: false,
    error: null,
    mode: null,
    permission: browserPermission(),
    asked: readAsked(),
    shown: 0,
    load: async () => {
      set({ loading: true });
      try {
        const { items, unread } = await invoke('notifications/list', { limit: MAX_ITEMS });
        set({ items, unread, loaded: true, loading: false, error: null });
      } catch (err) {
        set({ loading: false, error: errorMessage(err) });
      }
    },
    markRead: async (ids) => {
      try {
        const { unread } = await invoke('notifications/markRead', ids ? { ids } : {});
        const readAt = new Date().toISOString();
        const wanted = ids ? new Set(ids) : null;
        set((s) => ({ unread, items: s.items.map((n) => (n.readAt === null && (!wanted || wanted.has(n.id)) ? { ...n, readAt } : n)) }));
      } catch (err) {
        set({ error: errorMessage(err) });
      }
    },
    askPermission: async () => {
      writeAsked();
      set({ asked: true });
      if (browserPermission() === 'unsupported') return;
      try {
        await window.Notification.requestPermission();
      } finally {
        set({ permission: browserPermission() });
      }
    },
    declinePermission: () => {
      writeAsked();
      set({ asked: true });
    },
    start: () => {
      void invoke('system/info').then(
        (info) => set({ mode: info.mode }),
        () => undefined,
      );
      void get().load();
      const offChanged = onEvent('notifications/changed', ({ unread, added }) => {
        // Read marks made elsewhere (another window, a clicked notification): reload to show them.
        if (added.length === 0 && unread !== get().unread) void get().load();
        set((s) => {
          const known = new Set(s.items.map((n) => n.id));
          const fresh = added.filter((n) => !known.has(n.id)).reverse();
          return { unread, items: [...fresh, ...s.items].slice(0, MAX_ITEMS) };
        });
      });
      const offAlert = onEvent('notifications/alert', showAlert);
      return () => {
        offChanged();
        offAlert();
      };
    },
  };
});
