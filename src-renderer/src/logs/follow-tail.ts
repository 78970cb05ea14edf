/**
 * Follow-tail: whether the log viewer keeps the newest line in view. It pauses as soon as the user scrolls up and
 * resumes when they reach the bottom again (or press "Jump to latest"). Pure: the viewer feeds it scroll positions.
 */
export interface ScrollMetrics {
  scrollTop: number;
  clientHeight: number;
  scrollHeight: number;
}

/** Within this many pixels of the end counts as "at the bottom" (sub-pixel rounding, a last half row). */
export const BOTTOM_SLACK_PX = 24;

export function isAtBottom(m: ScrollMetrics): boolean {
  return m.scrollHeight - (m.scrollTop + m.clientHeight) <= BOTTOM_SLACK_PX;
}

/**
 * The follow state after a scroll event. Scrolling up pauses; reaching the bottom resumes; anything else (our own
 * scroll to the end as lines arrive, a scroll down that stops short) keeps the state it had.
 */
export function followAfterScroll(following: boolean, previousTop: number, m: ScrollMetrics): boolean {
  if (isAtBottom(m)) return true;
  if (m.scrollTop < previousTop - 1) return false;
  return following;
}
