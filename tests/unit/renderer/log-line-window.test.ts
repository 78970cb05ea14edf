// The log viewer's line window: lines addressed by sequence in pages, what the visible range still needs, live lines
// applied in order without duplicates, and memory bounded however long the log is.
import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../../src-shared/contract/logs';
import { LogLineWindow } from '../../../src-renderer/src/logs/line-window';

const line = (seq: number, stream: LogLine['stream'] = 'stdout'): LogLine => ({ seq, stream, ts: '2025-01-01T00:00:00Z', text: `line-${seq}` });
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i));

describe('LogLineWindow', () => {
  describe('when the viewer opens a log of 2,500 lines', () => {
    it('asks for the pages of the visible range only, once', () => {
      const w = new LogLineWindow(1000, 10);
      w.setCount(2500);
      expect(w.missingPages(2400, 2500)).toEqual([2]);
      expect(w.missingPages(950, 1050)).toEqual([0, 1]);
      w.markRequested(2);
      expect(w.missingPages(2400, 2500)).toEqual([]);
    });

    it('serves lines from a fetched page and no longer asks for it', () => {
      const w = new LogLineWindow(1000, 10);
      w.setCount(2500);
      w.putPage(2, lines(2001, 2500), 2500);
      expect(w.get(2001)!.text).toBe('line-2001');
      expect(w.get(2500)!.text).toBe('line-2500');
      expect(w.get(1999)).toBeUndefined();
      expect(w.missingPages(2001, 2500)).toEqual([]);
    });

    it('treats a seq missing from an answered page as a gap in the log, not as something to fetch forever', () => {
      const w = new LogLineWindow(100, 10);
      w.putPage(0, [...lines(1, 40), ...lines(42, 60)], 60);
      expect(w.get(41)).toBeUndefined();
      expect(w.missingPages(1, 60)).toEqual([]);
    });

    it('asks again for a page that failed', () => {
      const w = new LogLineWindow(100, 10);
      w.setCount(50);
      w.markRequested(0);
      w.requestFailed(0);
      expect(w.missingPages(1, 50)).toEqual([0]);
    });
  });

  describe('when lines stream in live', () => {
    it('applies them in order and drops any it already has', () => {
      const w = new LogLineWindow(100, 10);
      w.putPage(0, lines(1, 10), 10);
      expect(w.append([line(9), line(10), line(11), line(12)]).map((l) => l.seq)).toEqual([11, 12]);
      expect(w.append([line(12)])).toEqual([]);
      expect(w.count).toBe(12);
      expect(w.get(12)!.text).toBe('line-12');
      expect(w.missingPages(1, 12)).toEqual([]);
    });

    it('extends the row count past a page boundary and keeps the new page complete', () => {
      const w = new LogLineWindow(10, 10);
      w.putPage(0, lines(1, 10), 10);
      w.append(lines(11, 13));
      expect(w.count).toBe(13);
      expect(w.missingPages(1, 13)).toEqual([]);
    });

    it('fetches the hole when pushes skip lines it never received', () => {
      const w = new LogLineWindow(10, 10);
      w.putPage(0, lines(1, 5), 5);
      w.append([line(8), line(9)]);
      expect(w.count).toBe(9);
      expect(w.missingPages(1, 9)).toEqual([0]);
      w.putPage(0, lines(1, 9), 9);
      expect(w.get(6)!.text).toBe('line-6');
      expect(w.missingPages(1, 9)).toEqual([]);
    });
  });

  describe('when the user scrolls through a million lines', () => {
    it('never holds more than maxPages pages, and keeps the visible and tail pages', () => {
      const w = new LogLineWindow(1000, 5);
      w.setCount(1_000_000);
      w.putPage(999, lines(999_001, 1_000_000), 1_000_000);
      for (let p = 0; p < 50; p++) {
        w.putPage(p, lines(p * 1000 + 1, p * 1000 + 1000), 1_000_000);
        w.touch(p * 1000 + 1, p * 1000 + 1000);
      }
      expect(w.heldPages).toBe(5);
      expect(w.get(49_500)!.text).toBe('line-49500');
      expect(w.get(1_000_000)!.text).toBe('line-1000000');
      expect(w.get(1)).toBeUndefined();
      expect(w.missingPages(1, 10)).toEqual([0]);
    });
  });
});
