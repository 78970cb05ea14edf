/**
 * The execution-mode decision for one attempt (set on the JobService with setModeResolver):
 *  - 'direct-ssh' -> direct-ssh;
 *  - 'runner-ssh' -> runner-ssh, or an error saying why it cannot be (runner mode off, no runner and no auto deploy);
 *  - 'auto' -> runner-ssh when the runner is enabled (flag ssh_runner_enabled and settings.runner.enabled) and a
 *    compatible runner exists or can be deployed (ensureRunner deploys when ssh_runner_auto_deploy is on); otherwise,
 *    when fallbackToDirect and ssh_runner_fallback allow it, direct-ssh with the reason recorded; else a failure with
 *    that reason. 'auto' with the runner switched off is plain direct-ssh (nothing was attempted, nothing to record).
 * It deploys through RunnerService only; it never runs anything itself.
 */
import { AppError, messageOf } from '../errors';
import type { SettingsService } from '../settings/settings-service';
import type { ModeResolver } from './job-service';
import type { RunnerLocator } from './runner-ssh-executor';

export function createModeResolver(deps: { settings: SettingsService; runners: RunnerLocator }): ModeResolver {
  return async ({ event, server, requestedMode }) => {
    if (requestedMode === 'direct-ssh') return { mode: 'direct-ssh' };
    if (requestedMode === 'container') {
      throw new AppError('MODE_UNSUPPORTED', 'container execution is not available yet; choose auto, direct-ssh or runner-ssh');
    }
    const s = deps.settings.current();
    const runnerOn = s.runner.enabled && deps.settings.flag('ssh_runner_enabled');
    if (requestedMode === 'runner-ssh') {
      if (!runnerOn) {
        throw new AppError('RUNNER_DISABLED', `${event.name} asks for runner-ssh, but runner mode is turned off in Settings (runner enabled / ssh_runner_enabled); turn it on or use direct-ssh`);
      }
      return { mode: 'runner-ssh' };
    }
    if (!runnerOn) return { mode: 'direct-ssh' };
    try {
      await deps.runners.ensureRunner(server.id, event.runnerRequirements);
      return { mode: 'runner-ssh' };
    } catch (err) {
      const reason = `no runner could be used on ${server.name}: ${messageOf(err)}`;
      if (s.runner.fallbackToDirect && deps.settings.flag('ssh_runner_fallback')) return { mode: 'direct-ssh', fallbackReason: reason };
      throw new AppError('RUNNER_UNAVAILABLE', `${reason}; falling back to direct-ssh is turned off (fallbackToDirect / ssh_runner_fallback)`);
    }
  };
}
