/**
 * cronium-runner: the program the app deploys to servers. Entry point only: it looks the command up in the command
 * table, runs it, and exits with its code. It must stay free of native modules and of anything outside Node's
 * standard library (it runs inside a Node SEA on servers that have nothing but a POSIX shell, or under Node >= 18).
 */
import { webcrypto } from 'node:crypto';
import { runCommandLine } from './cli';
import { processIo } from './io';

// Node 18 has Web Crypto only under node:crypto; the job channel's proofs (src-shared) use globalThis.crypto.
if (!globalThis.crypto) Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true });

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
