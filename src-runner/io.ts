/**
 * The runner's console: commands write through RunnerIo so tests can run a command in-process and read its output.
 * Machine output (JSON) goes to stdout only; anything for a person goes to stderr.
 */
export interface RunnerIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

export const processIo: RunnerIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};
