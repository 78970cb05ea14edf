// HealthMonitor.checkAll: a runner deployed or checked within the last interval (its deploy's handshake ran then)
// waits for the next cycle, so a deploy to many servers is not checked again while it runs; older ones are checked.
import { expect, it, vi } from 'vitest';
import { HealthMonitor } from '../../../src-main/core/runners/health-monitor';
import type { DeploymentRecord } from '../../../src-main/core/runners/runner-deployments';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const record = (id: string, deployedAt: string, lastHealthCheck: string | null) => ({ id, serverId: `s-${id}`, version: '1.0.0', status: 'active', deployedAt, lastHealthCheck, metadata: {} }) as unknown as DeploymentRecord;

it('checks only the runners not deployed or checked within the interval', async () => {
  const active = [
    record('just-deployed', ago(5), null),
    record('deployed-long-ago', ago(3600), null),
    record('checked-just-now', ago(3600), ago(10)),
    record('checked-an-interval-ago', ago(3600), ago(60)),
    // The clock was set back an hour after this check: it must not wait an hour for its next one.
    record('checked-in-the-future', ago(3600), ago(-3600)),
  ];
  const monitor = new HealthMonitor({
    deployments: { allActive: async () => active, get: async () => null },
    settings: { current: () => ({ runner: { healthCheckInterval: 60 } }) },
    clock: { now: () => NOW },
  } as never);
  const checked: string[] = [];
  vi.spyOn(monitor, 'check').mockImplementation(async (id: string) => {
    checked.push(id);
    return {} as never;
  });
  await monitor.checkAll();
  expect(checked.sort()).toEqual(['checked-an-interval-ago', 'checked-in-the-future', 'deployed-long-ago']);
});
