/**
 * Version arithmetic used to pick runner artifacts and check runner requirements: semver precedence, "at least",
 * Node majors, and refusal of text that is not a version.
 */
import { describe, expect, it } from 'vitest';
import { compareVersions, isAtLeast, nodeMajor, parseVersion } from '../../../src-main/core/runners/runner-version';
import { ErrorCode } from '../../../src-shared/errors';

describe('runner versions', () => {
  describe('when two versions are compared', () => {
    it.each([
      ['1.0.0', '1.0.0', 0],
      ['1.0.1', '1.0.0', 1],
      ['1.2.0', '1.10.0', -1],
      ['2.0.0', '1.99.99', 1],
      ['1.0.0-rc.1', '1.0.0', -1],
      ['1.0.0-alpha', '1.0.0-alpha.1', -1],
      ['1.0.0-alpha.2', '1.0.0-alpha.10', -1],
      ['1.0.0-1', '1.0.0-alpha', -1],
      ['v1.0.0', '1.0.0+build.7', 0],
    ])('%s vs %s is %i', (a, b, expected) => {
      expect(compareVersions(a, b)).toBe(expected);
      expect(compareVersions(b, a)).toBe(-expected || 0);
    });
  });

  describe('when a minimum version is required', () => {
    it('accepts equal and newer versions and refuses older ones', () => {
      expect(isAtLeast('1.0.0', '1.0.0')).toBe(true);
      expect(isAtLeast('1.1.0', '1.0.5')).toBe(true);
      expect(isAtLeast('1.0.0-beta', '1.0.0')).toBe(false);
      expect(isAtLeast('0.9.9', '1.0.0')).toBe(false);
    });
  });

  describe('when the text is not a version', () => {
    it.each(['', '1.0', 'latest', '1.0.0.0', '1.0.x'])('refuses %j with RUNNER_VERSION_INVALID', (text) => {
      expect(() => parseVersion(text)).toThrow(expect.objectContaining({ code: ErrorCode.RUNNER_VERSION_INVALID }));
    });
  });

  describe("when a server reports its Node version", () => {
    it.each([
      ['v20.11.1', 20],
      ['18.0.0', 18],
      ['v16', 16],
      [null, null],
      ['', null],
      ['bash: node: command not found', null],
    ])('%j has major %j', (text, major) => {
      expect(nodeMajor(text)).toBe(major);
    });
  });
});
