/** runners/* handlers: artifacts, deployments and their history, deploy / upgrade / rollback / remove, health, compatibility. */
import type { RunnerService } from '../../core/runners/runner-service';
import type { HandlersFor } from '../router';

export type RunnersCallName =
  | 'runners/artifacts'
  | 'runners/deployments'
  | 'runners/deploy'
  | 'runners/deployMany'
  | 'runners/upgrade'
  | 'runners/rollback'
  | 'runners/remove'
  | 'runners/checkHealth'
  | 'runners/compatibility'
  | 'runners/versionStatus';

export function runnersHandlers(runners: RunnerService): HandlersFor<RunnersCallName> {
  return {
    'runners/artifacts': () => runners.artifacts(),
    'runners/deployments': (input) => runners.listDeployments(input?.serverId),
    'runners/deploy': (input) => runners.deployRunner(input.serverId, input.version),
    'runners/deployMany': (input) => runners.deployMany(input.serverIds, input.version),
    'runners/upgrade': (input) => runners.upgrade(input.serverId, input.version),
    'runners/rollback': (input) => runners.rollback(input.serverId),
    'runners/remove': async (input) => {
      await runners.remove(input.serverId);
      return { ok: true as const };
    },
    'runners/checkHealth': (input) => runners.checkRunnerHealth(input.deploymentId),
    'runners/compatibility': (input) => runners.compatibility(input.serverIds, input.requirements),
    'runners/versionStatus': () => runners.versionStatus(),
  };
}
