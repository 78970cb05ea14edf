// The runner version strategy's decisions, as a table: which runners are outside the app's range, and what each
// update policy does next about a runner behind the app.
import { describe, expect, it } from 'vitest';
import { describeFollowStep, followStep, rangeProblem } from '../../../src-main/core/runners/runner-version-policy';
import type { RunnerRange } from '../../../src-shared/protocol/runner-range';

const range: RunnerRange = { protocol: { min: 1, max: 2 }, minVersion: '1.0.0' };

describe('the runner range', () => {
  it.each([
    ['1.0.0', 1, null],
    ['1.4.2', 2, null],
    ['1.0.0', null, null],
    ['0.9.0', 1, /older than this app's range \(protocol 1-2, version >= 1\.0\.0\)/],
    ['1.0.0-rc.1', 1, /older than this app's range/],
    ['2.0.0', 3, /speaks protocol 3, outside this app's range/],
    ['nightly', 1, /no readable version/],
  ])('runner %s speaking protocol %s: %s', (version, protocolVersion, problem) => {
    const got = rangeProblem({ version, protocolVersion }, range);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toMatch(problem);
  });
});

describe('what the update policy does next', () => {
  const target = '1.2.0';
  const old = { version: '0.9.0', protocolVersion: 1 };
  const behind = { version: '1.1.0', protocolVersion: 1 };
  const current = { version: '1.2.0', protocolVersion: 1 };
  const newer = { version: '1.3.0', protocolVersion: 1 };

  it('leaves a runner at the target version or newer alone under every policy', () => {
    for (const policy of ['on-next-use', 'eager', 'manual'] as const) {
      expect(followStep({ policy, range, target, runner: current })).toEqual({ kind: 'current' });
      expect(followStep({ policy, range, target, runner: newer })).toEqual({ kind: 'current' });
    }
  });

  it('upgrades a runner behind the app at its next use, or now when eager', () => {
    expect(followStep({ policy: 'on-next-use', range, target, runner: behind })).toEqual({ kind: 'upgrade', to: target, when: 'next-use', outOfRange: null });
    expect(followStep({ policy: 'eager', range, target, runner: old })).toMatchObject({ kind: 'upgrade', when: 'now', outOfRange: expect.stringMatching(/older/) });
  });

  it('waits for a person under manual, saying when the runner is not used meanwhile', () => {
    const inRange = followStep({ policy: 'manual', range, target, runner: behind });
    expect(inRange).toEqual({ kind: 'manual', to: target, outOfRange: null });
    expect(describeFollowStep(inRange)).toBe('1.2.0 is available: upgrade it when you choose (manual policy)');
    const outside = followStep({ policy: 'manual', range, target, runner: old });
    expect(describeFollowStep(outside)).toBe("outside the app's range: not used until you upgrade it to 1.2.0 (manual policy)");
  });

  it('treats a runner newer than the target but outside the range as behind', () => {
    expect(followStep({ policy: 'on-next-use', range, target, runner: { version: '1.3.0', protocolVersion: 3 } })).toMatchObject({ kind: 'upgrade', outOfRange: expect.stringMatching(/protocol 3/) });
  });
});
