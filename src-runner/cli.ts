/**
 * The runner's command line: looks a command up in the command table, runs it, returns its exit code, and prints
 * the usage for anything it does not know. Separate from main.ts so tests can drive it in-process.
 */
import { RUNNER_EXIT_USAGE, RUNNER_VERSION } from '../src-shared/protocol/runner-info';
import { commands } from './commands';
import type { RunnerIo } from './io';

export function usage(): string {
  const synopses = Object.entries(commands).map(([name, cmd]) => [cmd.args ? `${name} ${cmd.args}` : name, cmd.summary]);
  const width = Math.max(...synopses.map(([synopsis]) => synopsis.length));
  const lines = synopses.map(([synopsis, summary]) => `  ${synopsis.padEnd(width)}  ${summary}`);
  return `cronium-runner ${RUNNER_VERSION}\nusage: cronium-runner <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function runCommandLine(argv: string[], io: RunnerIo): Promise<number> {
  const [name, ...args] = argv;
  const command = name === undefined ? undefined : Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    io.stderr((name === undefined ? '' : `unknown command: ${name}\n`) + usage());
    return RUNNER_EXIT_USAGE;
  }
  try {
    return await command.run(args, io);
  } catch (err) {
    io.stderr(`cronium-runner ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
