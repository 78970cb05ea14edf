// Scaled virtual scrolling: logs longer than the browser's element-height limit still reach every line. Up to the cap
// the canvas is one row per 20 px; beyond it scroll positions map proportionally to rows, the bottom shows the last
// line, "jump to line" finds any line of 10,000,000, and the rendered rows always cover the viewport.
import { describe, expect, it } from 'vitest';
import { canvasHeight, firstRowAt, isScaled, MAX_CANVAS_PX, renderWindow, scrollTopForRow, scrollTopToCentre } from '../../../src-renderer/src/logs/scaled-scroll';

const row = 20;
const viewport = 500;

describe('scaled scrolling', () => {
  it('keeps the natural height below the cap', () => {
    const g = { count: 1000, rowHeight: row, viewportHeight: viewport };
    expect(isScaled(g)).toBe(false);
    expect(canvasHeight(g)).toBe(20_000);
    expect(firstRowAt(400, g)).toBe(20);
    expect(scrollTopForRow(20, g)).toBe(400);
  });

  for (const count of [1_677_763, 5_000_000, 10_000_000]) {
    describe(`for ${count.toLocaleString('en')} lines`, () => {
      const g = { count, rowHeight: row, viewportHeight: viewport };

      it('caps the canvas below the browser limit', () => {
        expect(isScaled(g)).toBe(true);
        expect(canvasHeight(g)).toBe(MAX_CANVAS_PX);
      });

      it('shows the last line at the bottom of the scrollbar', () => {
        const w = renderWindow(canvasHeight(g) - viewport, g, 0);
        expect(w.endIndex).toBe(count);
        // The last row's bottom sits at the viewport's bottom.
        const lastRowTop = w.offsetTop + (count - 1 - w.firstIndex) * row;
        expect(lastRowTop + row).toBeCloseTo(canvasHeight(g), 3);
      });

      it('puts any line in view when jumped to', () => {
        for (const seq of [1, 2, 1_677_762, Math.floor(count / 2), count - 30, count]) {
          const top = scrollTopToCentre(seq, g);
          const w = renderWindow(top, g, 0);
          const rowTop = w.offsetTop + (seq - 1 - w.firstIndex) * row;
          expect(seq - 1, `line ${seq}`).toBeGreaterThanOrEqual(w.firstIndex);
          expect(seq - 1, `line ${seq}`).toBeLessThan(w.endIndex);
          expect(rowTop).toBeGreaterThanOrEqual(top - 0.001);
          expect(rowTop + row).toBeLessThanOrEqual(top + viewport + 0.001);
        }
      });

      it('renders rows that cover the whole viewport at any position', () => {
        for (const top of [0, 1, 12345.6, canvasHeight(g) / 2, canvasHeight(g) - viewport - 1, canvasHeight(g) - viewport]) {
          const w = renderWindow(top, g, 0);
          expect(w.offsetTop).toBeLessThanOrEqual(top + 0.001);
          expect(w.offsetTop + (w.endIndex - w.firstIndex) * row).toBeGreaterThanOrEqual(Math.min(top + viewport, canvasHeight(g)) - 0.001);
        }
      });
    });
  }
});
