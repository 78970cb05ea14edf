// Follow-tail: the viewer stays on the newest line until the user scrolls up, and resumes at the bottom.
import { describe, expect, it } from 'vitest';
import { BOTTOM_SLACK_PX, followAfterScroll, isAtBottom } from '../../../src-renderer/src/logs/follow-tail';

const at = (scrollTop: number, scrollHeight = 10_000, clientHeight = 500) => ({ scrollTop, scrollHeight, clientHeight });

describe('follow-tail', () => {
  describe('when new lines push the content down and the viewer scrolls itself to the end', () => {
    it('keeps following', () => {
      expect(followAfterScroll(true, 9_480, at(9_500))).toBe(true);
      expect(followAfterScroll(true, 9_000, at(9_200, 10_400))).toBe(true);
    });
  });

  describe('when the user scrolls up', () => {
    it('pauses, even by a few rows', () => {
      expect(followAfterScroll(true, 9_500, at(9_440))).toBe(false);
    });

    it('stays paused while they scroll around above the bottom', () => {
      expect(followAfterScroll(false, 4_000, at(5_000))).toBe(false);
      expect(followAfterScroll(false, 5_000, at(3_000))).toBe(false);
    });
  });

  describe('when the user scrolls back to the bottom', () => {
    it('resumes following', () => {
      expect(followAfterScroll(false, 9_000, at(9_500))).toBe(true);
      expect(followAfterScroll(false, 9_000, at(9_500 - BOTTOM_SLACK_PX))).toBe(true);
    });
  });

  it('counts the bottom within the slack as the bottom, and not beyond it', () => {
    expect(isAtBottom(at(9_500 - BOTTOM_SLACK_PX))).toBe(true);
    expect(isAtBottom(at(9_500 - BOTTOM_SLACK_PX - 1))).toBe(false);
  });
});
