// classifyHealth: runner health figures mapped to healthy / degraded / unhealthy with the settings' thresholds.
import { describe, expect, it } from 'vitest';
import { classifyHealth } from '../../../src-main/core/runners/health-monitor';
import { defaultSettings } from '../../../src-main/core/settings/defaults';
import type { RunnerHealthReport } from '../../../src-shared/protocol/runner-info';

const thresholds = defaultSettings().runner.health; // cpu 80/95, memory 85/95, disk 1024/256 MB free
const report = (r: Partial<RunnerHealthReport>): RunnerHealthReport => ({
  cpuUsage: 10, memoryUsage: 40, diskSpace: 50_000, executionQueue: { queued: 0, running: 0 }, uptime: 100, ...r,
});

describe('classifyHealth', () => {
  describe('when every figure is within its thresholds', () => {
    it('is healthy with no reason', () => {
      expect(classifyHealth(report({}), thresholds)).toEqual({ state: 'healthy', reason: null });
    });
  });

  describe('when one figure crosses its degraded threshold', () => {
    it.each([
      [{ cpuUsage: 80.5 }, /CPU 80\.5% \(degraded above 80%\)/],
      [{ memoryUsage: 90 }, /memory 90% \(degraded above 85%\)/],
      [{ diskSpace: 1000 }, /disk 1000 MB free \(degraded below 1024 MB\)/],
    ])('%o is degraded, saying which figure', (figures, reason) => {
      const result = classifyHealth(report(figures), thresholds);
      expect(result.state).toBe('degraded');
      expect(result.reason).toMatch(reason);
    });
  });

  describe('when a figure crosses its unhealthy threshold', () => {
    it.each([
      [{ cpuUsage: 99 }, /CPU 99% \(unhealthy above 95%\)/],
      [{ memoryUsage: 96 }, /memory 96% \(unhealthy above 95%\)/],
      [{ diskSpace: 100 }, /disk 100 MB free \(unhealthy below 256 MB\)/],
    ])('%o is unhealthy', (figures, reason) => {
      const result = classifyHealth(report(figures), thresholds);
      expect(result.state).toBe('unhealthy');
      expect(result.reason).toMatch(reason);
    });

    it('names every figure out of bounds, the unhealthy ones first', () => {
      const result = classifyHealth(report({ cpuUsage: 85, diskSpace: 10 }), thresholds);
      expect(result).toEqual({ state: 'unhealthy', reason: 'disk 10 MB free (unhealthy below 256 MB); CPU 85% (degraded above 80%)' });
    });
  });

  describe('at the exact threshold values', () => {
    it('counts CPU and memory only above the threshold, and disk only below it', () => {
      expect(classifyHealth(report({ cpuUsage: 80, memoryUsage: 85, diskSpace: 1024 }), thresholds).state).toBe('healthy');
      expect(classifyHealth(report({ cpuUsage: 100 }), { ...thresholds, cpuDegradedPercent: 100, cpuUnhealthyPercent: 100 }).state).toBe('healthy');
    });
  });
});
