// The toast store as the user meets it: the same message twice is one toast with a count (its fade restarts), the
// stack is bounded with errors kept over chatter, every toast can be dismissed, and info fades while errors stay.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TOASTS, useToastStore } from '../../../src-renderer/src/stores/toast-store';

const push = (level: 'success' | 'info' | 'warning' | 'error', message: string) => useToastStore.getState().push(level, message);

beforeEach(() => {
  vi.useFakeTimers();
  useToastStore.getState().dismissAll();
});
afterEach(() => vi.useRealTimers());

describe('toast store', () => {
  describe('when the same message comes again while shown', () => {
    it('keeps one toast and counts the repeats', () => {
      const first = push('error', 'db-1 refused the connection');
      const again = push('error', 'db-1 refused the connection');
      expect(again).toBe(first);
      expect(useToastStore.getState().toasts).toEqual([{ id: first, level: 'error', message: 'db-1 refused the connection', count: 2 }]);
    });

    it('restarts the fade of the repeated toast', () => {
      push('info', 'Saved.');
      vi.advanceTimersByTime(5_000);
      push('info', 'Saved.');
      vi.advanceTimersByTime(5_000);
      expect(useToastStore.getState().toasts).toHaveLength(1);
      vi.advanceTimersByTime(1_001);
      expect(useToastStore.getState().toasts).toHaveLength(0);
    });
  });

  describe('when many different messages arrive', () => {
    it(`shows at most ${MAX_TOASTS}, dropping the oldest non-error first`, () => {
      push('error', 'keep me');
      for (let i = 0; i < 10; i++) push('info', `info ${i}`);
      const shown = useToastStore.getState().toasts.map((t) => t.message);
      expect(shown).toHaveLength(MAX_TOASTS);
      expect(shown[0]).toBe('keep me');
      expect(shown.slice(1)).toEqual(['info 7', 'info 8', 'info 9']);
    });
  });

  describe('when the user dismisses', () => {
    it('removes one toast, or all at once; errors never fade by themselves', () => {
      const a = push('error', 'a');
      push('error', 'b');
      vi.advanceTimersByTime(60_000);
      expect(useToastStore.getState().toasts).toHaveLength(2);
      useToastStore.getState().dismiss(a);
      expect(useToastStore.getState().toasts.map((t) => t.message)).toEqual(['b']);
      useToastStore.getState().dismissAll();
      expect(useToastStore.getState().toasts).toEqual([]);
    });
  });
});
