/**
 * The Clock rule of eslint.config.mjs: src-main/core reads time and arms timers only through its Clock. The fixture
 * does each forbidden thing once (Date.now(), setTimeout, setInterval, argument-less new Date()); each is reported.
 */
import { describe, expect, it } from 'vitest';
import { lintFixtureAs } from './lint-fixture';

describe('the core Clock lint rule', () => {
  it('reports real time and real timers in a core service', async () => {
    const { findings } = await lintFixtureAs('clock/core-reads-real-time.ts.txt');
    const clockFindings = findings.filter((f) => /takes time from its Clock/.test(f.message));
    expect(clockFindings.map((f) => f.ruleId).sort()).toEqual(['no-restricted-globals', 'no-restricted-globals', 'no-restricted-properties', 'no-restricted-syntax']);
    expect(findings).toHaveLength(4);
  });

  it('accepts a service that uses the injected Clock', async () => {
    const { findings } = await lintFixtureAs('clock/core-uses-the-clock.ts.txt');
    expect(findings).toEqual([]);
  });
});
