/**
 * Layout store: whether the sidebar is collapsed to its icons. Remembered in localStorage so the choice survives a
 * reload; with no choice yet, a narrow window (under 900 px) starts collapsed. It holds no data of any pane.
 */
import { create } from 'zustand';

export const SIDEBAR_STORAGE_KEY = 'cronium.sidebarCollapsed';
const NARROW_WINDOW_PX = 900;

function initialCollapsed(): boolean {
  try {
    const stored = globalThis.localStorage?.getItem(SIDEBAR_STORAGE_KEY);
    if (stored === 'true' || stored === 'false') return stored === 'true';
  } catch {
    // Storage can be refused (private mode, a sandbox): fall back to the window's width.
  }
  return typeof window !== 'undefined' && window.innerWidth < NARROW_WINDOW_PX;
}

interface LayoutStore {
  sidebarCollapsed: boolean;
  setSidebarCollapsed: (collapsed: boolean) => void;
  toggleSidebar: () => void;
}

export const useLayoutStore = create<LayoutStore>((set, get) => ({
  sidebarCollapsed: initialCollapsed(),
  setSidebarCollapsed: (collapsed) => {
    set({ sidebarCollapsed: collapsed });
    try {
      globalThis.localStorage?.setItem(SIDEBAR_STORAGE_KEY, String(collapsed));
    } catch {
      // Not remembered, but still applied for this session.
    }
  },
  toggleSidebar: () => get().setSidebarCollapsed(!get().sidebarCollapsed),
}));
