/**
 * Scaled virtual scrolling for the log viewer: a browser caps an element's height (about 33.5 million px in Chromium,
 * i.e. 1,677,762 rows of 20 px), so a longer log cannot be one row per 20 px. Up to MAX_CANVAS_PX the canvas is the
 * natural height; beyond it the canvas stays MAX_CANVAS_PX tall and the scroll position maps proportionally to a
 * (fractional) first row, so the top of the scrollbar is line 1 and its bottom shows the last line, whatever the
 * count. Only the rows in view are rendered, at the scroll position. Pure functions; the viewer feeds them pixels.
 */

/** Well under every browser's limit (Chromium ~33.5M px, Firefox ~17.9M px), so the scrollbar never clamps. */
export const MAX_CANVAS_PX = 10_000_000;

export interface ScrollGeometry {
  /** Rows in the log. */
  count: number;
  rowHeight: number;
  /** The scroll element's visible height. */
  viewportHeight: number;
  /** Cap of the canvas height (MAX_CANVAS_PX unless a test says otherwise). */
  maxCanvas?: number;
}

/** The canvas (scrollable) height for `count` rows. */
export function canvasHeight(g: ScrollGeometry): number {
  return Math.min(g.count * g.rowHeight, g.maxCanvas ?? MAX_CANVAS_PX);
}

/** True when the canvas is shorter than the rows' natural height (scroll pixels are scaled). */
export function isScaled(g: ScrollGeometry): boolean {
  return g.count * g.rowHeight > (g.maxCanvas ?? MAX_CANVAS_PX);
}

/** How far the first visible row can go: the last row's bottom at the viewport's bottom. */
function maxFirstRow(g: ScrollGeometry): number {
  return Math.max(0, g.count - g.viewportHeight / g.rowHeight);
}

function maxScrollTop(g: ScrollGeometry): number {
  return Math.max(0, canvasHeight(g) - g.viewportHeight);
}

/** The (fractional, 0-based) row at the top of the viewport for a scroll position. */
export function firstRowAt(scrollTop: number, g: ScrollGeometry): number {
  if (!isScaled(g)) return Math.max(0, scrollTop) / g.rowHeight;
  const max = maxScrollTop(g);
  if (max <= 0) return 0;
  const ratio = Math.min(1, Math.max(0, scrollTop / max));
  return ratio * maxFirstRow(g);
}

/** The scroll position that puts 0-based row `row` at the top of the viewport (clamped to the log). */
export function scrollTopForRow(row: number, g: ScrollGeometry): number {
  const first = Math.min(Math.max(0, row), maxFirstRow(g));
  if (!isScaled(g)) return first * g.rowHeight;
  const maxRow = maxFirstRow(g);
  return maxRow <= 0 ? 0 : (first / maxRow) * maxScrollTop(g);
}

/** The scroll position that puts 1-based line `seq` in the middle of the viewport. */
export function scrollTopToCentre(seq: number, g: ScrollGeometry): number {
  return scrollTopForRow(seq - 1 - Math.max(0, g.viewportHeight / g.rowHeight - 1) / 2, g);
}

export interface RenderWindow {
  /** 0-based index of the first rendered row. */
  firstIndex: number;
  /** 0-based index after the last rendered row. */
  endIndex: number;
  /** Where (px, in the canvas) the first rendered row's top goes. */
  offsetTop: number;
}

/**
 * The rows to render for a scroll position, `overscan` extra on each side, and where to put them: the fractional
 * first row's part above the viewport is shifted up, so rows move smoothly under the scrollbar.
 */
export function renderWindow(scrollTop: number, g: ScrollGeometry, overscan = 10): RenderWindow {
  if (g.count === 0) return { firstIndex: 0, endIndex: 0, offsetTop: 0 };
  const top = Math.min(Math.max(0, scrollTop), maxScrollTop(g));
  const first = firstRowAt(top, g);
  const whole = Math.floor(first);
  const visible = Math.ceil(g.viewportHeight / g.rowHeight) + 1;
  const firstIndex = Math.max(0, whole - overscan);
  const endIndex = Math.min(g.count, whole + visible + overscan);
  const offsetTop = top - (first - firstIndex) * g.rowHeight;
  return { firstIndex, endIndex, offsetTop };
}
