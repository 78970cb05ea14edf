// The mode policy is the one reader of the auto-deploy settings (issue 11 item 1): it tells ensureRunner whether a
// runner may be deployed (RunnerSettings.enabled, ssh_runner_enabled, ssh_runner_auto_deploy), and the runner
// service receives that answer through RunnerProvisioning.
import { describe, expect, it } from 'vitest';
import { ModePolicy, runnerAutoDeployAllowed, type ModeRequest } from '../../../src-main/core/execution/mode-policy';
import { RunnerProvisioning } from '../../../src-main/core/execution/runner-provisioning';
import type { Clock } from '../../../src-main/core/clock';
import type { CompatibleRunner } from '../../../src-main/core/runners/runner-service';

const runner = { deploymentId: 'd1', serverId: 's1', version: '1.0.0' } as unknown as CompatibleRunner;
const clock: Clock = { now: () => 0, setTimeout: (fn) => { queueMicrotask(fn); return { cancel: () => undefined }; } };

function settingsWith(enabled: boolean, flags: Record<string, boolean>) {
  return { current: () => ({ runner: { enabled, fallbackToDirect: true } }) as never, flag: (name: string) => flags[name] ?? false };
}

function setup(enabled: boolean, flags: Record<string, boolean>) {
  const seen: Array<{ mayDeploy?: boolean } | undefined> = [];
  const provisioning = new RunnerProvisioning({
    clock,
    ssh: { acquire: async () => ({}) as never },
    runners: { getCompatibleRunner: async () => null, ensureRunner: async (_id, _req, opts) => { seen.push(opts); return runner; } },
  });
  const policy = new ModePolicy({ settings: settingsWith(enabled, flags) as never, provisioning });
  return { policy, seen };
}

const req = (requestedMode: ModeRequest['requestedMode']): ModeRequest => ({
  jobId: 'j1', trigger: 'manual', requestedMode, eventName: 'backup', serverId: 's1', serverName: 'web-1', runnerRequirements: null,
});

describe('auto-deploy permission', () => {
  it('is on only with runner mode enabled and both flags on', () => {
    expect(runnerAutoDeployAllowed(settingsWith(true, { ssh_runner_enabled: true, ssh_runner_auto_deploy: true }) as never)).toBe(true);
    expect(runnerAutoDeployAllowed(settingsWith(false, { ssh_runner_enabled: true, ssh_runner_auto_deploy: true }) as never)).toBe(false);
    expect(runnerAutoDeployAllowed(settingsWith(true, { ssh_runner_enabled: false, ssh_runner_auto_deploy: true }) as never)).toBe(false);
    expect(runnerAutoDeployAllowed(settingsWith(true, { ssh_runner_enabled: true, ssh_runner_auto_deploy: false }) as never)).toBe(false);
  });

  for (const mode of ['auto', 'runner-ssh'] as const) {
    it(`${mode}: the policy hands its answer to the runner service's ensureRunner`, async () => {
      const on = setup(true, { ssh_runner_enabled: true, ssh_runner_auto_deploy: true });
      await on.policy.decide(req(mode));
      expect(on.seen).toEqual([{ mayDeploy: true }]);
      const off = setup(true, { ssh_runner_enabled: true, ssh_runner_auto_deploy: false });
      await off.policy.decide(req(mode));
      expect(off.seen).toEqual([{ mayDeploy: false }]);
    });
  }
});
