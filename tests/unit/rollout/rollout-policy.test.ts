// The rollout phases as the mode policy reads them: phase 2's mode for new events and phase 5's deprecation and
// "direct-ssh only as fallback" (a manual direct run needs an explicit choice; nothing applies with runner mode off).
import { describe, expect, it } from 'vitest';
import { ModePolicy } from '../../../src-main/core/execution/mode-policy';
import type { RunnerProvisioning } from '../../../src-main/core/execution/runner-provisioning';
import { defaultSettings } from '../../../src-main/core/settings/defaults';
import { AppError } from '../../../src-main/core/errors';
import type { Settings } from '../../../src-shared/contract/settings';

function policyWith(change: (s: Settings) => void): ModePolicy {
  const s = defaultSettings();
  change(s);
  // The provisioning is never reached by these questions.
  return new ModePolicy({ settings: { current: () => s, flag: (name) => s.flags[name] ?? false }, provisioning: {} as RunnerProvisioning });
}

describe('the rollout phases', () => {
  describe('phase 2: the mode a new event starts with', () => {
    it('is the runner default while runner mode is on, as installed', () => {
      expect(policyWith(() => undefined).rolloutStatus()).toEqual({ runnerEnabled: true, newEventMode: 'auto', directSshDeprecated: false, directSshFallbackOnly: false });
      expect(policyWith((s) => (s.runner.defaultExecutionMode = 'runner-ssh')).rolloutStatus().newEventMode).toBe('runner-ssh');
    });

    it('is direct-ssh when the setting is off or the runner flag is off', () => {
      expect(policyWith((s) => (s.rollout.newEventsUseRunner = false)).rolloutStatus().newEventMode).toBe('direct-ssh');
      expect(policyWith((s) => (s.flags.ssh_runner_enabled = false)).rolloutStatus().newEventMode).toBe('direct-ssh');
    });
  });

  describe('phase 5: direct-ssh deprecated, and only a fallback', () => {
    const fallbackOnly = (s: Settings) => Object.assign(s.rollout, { directSshDeprecated: true, directSshFallbackOnly: true });

    it('refuses a manual direct run without the explicit choice, saying what to do', () => {
      const policy = policyWith(fallbackOnly);
      const err = (() => {
        try {
          policy.checkManualRun('nightly', 'direct-ssh', false);
          return null;
        } catch (e) {
          return e as AppError;
        }
      })();
      expect(err).toBeInstanceOf(AppError);
      expect(err!.code).toBe('DIRECT_RUN_NEEDS_CHOICE');
      expect(err!.message).toMatch(/run direct-ssh anyway/);
    });

    it('lets the explicit choice, other modes, and the setting off through', () => {
      expect(() => policyWith(fallbackOnly).checkManualRun('nightly', 'direct-ssh', true)).not.toThrow();
      expect(() => policyWith(fallbackOnly).checkManualRun('nightly', 'auto', false)).not.toThrow();
      expect(() => policyWith((s) => (s.rollout.directSshDeprecated = true)).checkManualRun('nightly', 'direct-ssh', false)).not.toThrow();
    });

    it('means nothing while runner mode is off (there is nothing else to run with)', () => {
      const policy = policyWith((s) => {
        fallbackOnly(s);
        s.runner.enabled = false;
      });
      expect(policy.rolloutStatus()).toMatchObject({ directSshDeprecated: false, directSshFallbackOnly: false });
      expect(() => policy.checkManualRun('nightly', 'direct-ssh', false)).not.toThrow();
    });
  });
});
