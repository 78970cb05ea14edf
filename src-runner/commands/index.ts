/**
 * The runner's command table. To add a command (`run`, `attach`, `status`), write commands/<name>.ts exporting a
 * RunnerCommand and add it here; main.ts and the usage text pick it up. Nothing else dispatches commands.
 */
import type { RunnerCommand } from './command';
import { healthCommand } from './health';
import { versionCommand } from './version';
import { runCommand } from './run';
import { attachCommand } from './attach';
import { statusCommand } from './status';
import { cancelCommand } from './cancel';
import { helperCommand } from './helper';
import { residentCommand } from './resident';
import { jobHostCommand } from './jobhost';

export const commands: Record<string, RunnerCommand> = {
  version: versionCommand,
  health: healthCommand,
  run: runCommand,
  attach: attachCommand,
  status: statusCommand,
  cancel: cancelCommand,
  helper: helperCommand,
  resident: residentCommand,
  jobhost: jobHostCommand,
};
