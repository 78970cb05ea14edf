/**
 * Toast store: short messages for the user (a save that worked, an AppError's message, a 'system/notice').
 * Errors stay until dismissed, so an actionable message is never missed; info and success fade out.
 */
import { create } from 'zustand';
import { errorMessage } from '../rpc/client';

export type ToastLevel = 'success' | 'info' | 'warning' | 'error';
export interface Toast {
  id: number;
  level: ToastLevel;
  message: string;
}

interface ToastStore {
  toasts: Toast[];
  push: (level: ToastLevel, message: string) => number;
  dismiss: (id: number) => void;
}

const FADE_AFTER_MS: Record<ToastLevel, number | null> = { success: 5000, info: 6000, warning: 12000, error: null };
const MAX_TOASTS = 5;
let nextId = 1;

export const useToastStore = create<ToastStore>((set, get) => ({
  toasts: [],
  push: (level, message) => {
    const id = nextId++;
    set((s) => ({ toasts: [...s.toasts, { id, level, message }].slice(-MAX_TOASTS) }));
    const fade = FADE_AFTER_MS[level];
    if (fade !== null) setTimeout(() => get().dismiss(id), fade);
    return id;
  },
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
}));

export const toast = {
  success: (message: string) => useToastStore.getState().push('success', message),
  info: (message: string) => useToastStore.getState().push('info', message),
  warning: (message: string) => useToastStore.getState().push('warning', message),
  error: (err: unknown) => useToastStore.getState().push('error', errorMessage(err)),
};
