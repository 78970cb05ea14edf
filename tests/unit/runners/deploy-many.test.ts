// RunnerService.deployMany: many servers at once, never more than settings.runner.deployParallelism at a time, one
// result per server in the order asked, a failing server reported without stopping the others. The per-server deploy
// itself is covered against a real sshd (tests/integration/runner/deployment.test.ts); here it is a stand-in that
// records how many run together.
import { describe, expect, it } from 'vitest';
import { RunnerService, type RunnerServiceDeps } from '../../../src-main/core/runners/runner-service';
import type { RunnerDeploymentView } from '../../../src-shared/contract/runners';

function serviceWith(parallelism: number) {
  const progress: Array<{ serverId: string; step: string }> = [];
  const deps = {
    db: {},
    settings: { current: () => ({ runner: { deployParallelism: parallelism } }) },
    bus: { emit: (name: string, payload: { serverId: string; step: string }) => name === 'runners/progress' && progress.push(payload) },
    metrics: {},
    clock: { now: () => 0 },
    ssh: {},
    artifacts: { scan: async () => undefined },
  } as unknown as RunnerServiceDeps;
  const service = new RunnerService(deps);
  let running = 0;
  let most = 0;
  service.deployRunner = async (serverId: string) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    if (serverId === 's3') throw new Error('s3 is unreachable');
    return { id: `d-${serverId}`, serverId, transferredBytes: 0 } as unknown as RunnerDeploymentView;
  };
  return { service, progress, most: () => most };
}

describe('deploying the runner to many servers', () => {
  it('works on at most the configured number at a time and reports each server in order', async () => {
    const { service, most } = serviceWith(3);
    const ids = Array.from({ length: 10 }, (_, i) => `s${i}`);
    const results = await service.deployMany(ids);
    expect(most()).toBe(3);
    expect(results.map((r) => r.serverId)).toEqual(ids);
    expect(results.filter((r) => r.ok)).toHaveLength(9);
  });

  it('reports a failing server with its reason (also as progress) and goes on with the others', async () => {
    const { service, progress } = serviceWith(8);
    const results = await service.deployMany(['s1', 's3', 's5']);
    expect(results[1]).toMatchObject({ serverId: 's3', ok: false, deployment: null, error: 's3 is unreachable' });
    expect(results[0]!.ok && results[2]!.ok).toBe(true);
    expect(progress).toContainEqual(expect.objectContaining({ serverId: 's3', step: 'failed' }));
  });

  it('deploys once to a server named twice', async () => {
    const { service } = serviceWith(8);
    expect((await service.deployMany(['s1', 's1', 's2'])).map((r) => r.serverId)).toEqual(['s1', 's2']);
  });
});
