/** rollout/* and updates/* handlers: rollout status, the migration wizard, and app updates through their port. */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';
import type { AppUpdatesPort } from '../app-updates';

export type RolloutCallName =
  | 'rollout/status'
  | 'rollout/scan'
  | 'rollout/apply'
  | 'rollout/testRun'
  | 'rollout/undo'
  | 'rollout/batches'
  | 'updates/state'
  | 'updates/check'
  | 'updates/download'
  | 'updates/install';

export function rolloutHandlers(core: Core, updates: AppUpdatesPort): HandlersFor<RolloutCallName> {
  return {
    'rollout/status': () => core.execution.policy.rolloutStatus(),
    'rollout/scan': (input) => core.migration.scan(input?.eventIds),
    'rollout/apply': (input) => core.migration.apply(input.scanId, input.eventIds, input.mode),
    'rollout/testRun': (input) => core.migration.testRun(input.eventId),
    'rollout/undo': (input) => core.migration.undo(input.batchId),
    'rollout/batches': () => core.migration.batches(),
    'updates/state': () => updates.state(),
    'updates/check': () => updates.check(),
    'updates/download': () => updates.download(),
    'updates/install': () => updates.install(),
  };
}
