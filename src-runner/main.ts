/**
 * cronium-runner: the program the app deploys to servers. Entry point only: it looks the command up in the command
 * table, runs it, and exits with its code. It must stay free of native modules and of anything outside Node's
 * standard library (it runs under the runtime the app deploys, inside a Node SEA, or under the server's own Node >= 18).
 */
import { runCommandLine } from './cli';
import { processIo } from './io';
import v8 from 'node:v8';

// As the app's core does (src-main/core/v8-tuning.ts says why): a flood of output lines after a quiet spell would
// otherwise be allocated straight into the old generation.
v8.setFlagsFromString('--no-allocation-site-pretenuring');

// Set the exit code rather than calling process.exit(): pending stdout writes to a pipe are flushed first.
runCommandLine(process.argv.slice(2), processIo).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`cronium-runner: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
