/**
 * The shape of one runner command (`version`, `health`, and later `run`, `attach`, `status`). A command gets its
 * arguments (after the command name) and the console, and resolves to the process exit code.
 * A command never calls process.exit itself: main.ts owns the exit, so output is flushed first.
 */
import type { RunnerIo } from '../io';

export interface RunnerCommand {
  /** One line for the usage text. */
  summary: string;
  /** Arguments as shown in the usage text, e.g. '--json'. */
  args?: string;
  run(args: string[], io: RunnerIo): Promise<number>;
}
