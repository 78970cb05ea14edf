/**
 * Toast store: short messages for the user (a save that worked, an AppError's message, a 'system/notice').
 * Errors stay until dismissed, so an actionable message is never missed; info and success fade out. The stack is
 * bounded (MAX_TOASTS, the oldest non-error goes first) and deduplicated: the same message again raises a count on
 * the toast already shown and restarts its fade instead of stacking a copy.
 */
import { create } from 'zustand';
import { errorMessage } from '../rpc/client';

export type ToastLevel = 'success' | 'info' | 'warning' | 'error';
export interface Toast {
  id: number;
  level: ToastLevel;
  message: string;
  /** How many times this message was pushed while shown. */
  count: number;
}

interface ToastStore {
  toasts: Toast[];
  push: (level: ToastLevel, message: string) => number;
  dismiss: (id: number) => void;
  dismissAll: () => void;
}

const FADE_AFTER_MS: Record<ToastLevel, number | null> = { success: 5000, info: 6000, warning: 12000, error: null };
export const MAX_TOASTS = 4;
let nextId = 1;
const fadeTimers = new Map<number, ReturnType<typeof setTimeout>>();

/** Drops the oldest toasts past the bound, errors last (an actionable message outlives chatter). */
function bounded(toasts: Toast[]): Toast[] {
  const next = [...toasts];
  while (next.length > MAX_TOASTS) {
    const i = next.findIndex((t) => t.level !== 'error');
    next.splice(i === -1 ? 0 : i, 1);
  }
  return next;
}

export const useToastStore = create<ToastStore>((set, get) => {
  const scheduleFade = (id: number, level: ToastLevel) => {
    clearTimeout(fadeTimers.get(id));
    const fade = FADE_AFTER_MS[level];
    if (fade !== null) fadeTimers.set(id, setTimeout(() => get().dismiss(id), fade));
  };
  return {
    toasts: [],
    push: (level, message) => {
      const same = get().toasts.find((t) => t.level === level && t.message === message);
      if (same) {
        set((s) => ({ toasts: s.toasts.map((t) => (t.id === same.id ? { ...t, count: t.count + 1 } : t)) }));
        scheduleFade(same.id, level);
        return same.id;
      }
      const id = nextId++;
      set((s) => ({ toasts: bounded([...s.toasts, { id, level, message, count: 1 }]) }));
      scheduleFade(id, level);
      return id;
    },
    dismiss: (id) => {
      clearTimeout(fadeTimers.get(id));
      fadeTimers.delete(id);
      set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
    },
    dismissAll: () => {
      for (const t of fadeTimers.values()) clearTimeout(t);
      fadeTimers.clear();
      set({ toasts: [] });
    },
  };
});

export const toast = {
  success: (message: string) => useToastStore.getState().push('success', message),
  info: (message: string) => useToastStore.getState().push('info', message),
  warning: (message: string) => useToastStore.getState().push('warning', message),
  error: (err: unknown) => useToastStore.getState().push('error', errorMessage(err)),
};
