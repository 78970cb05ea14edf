// Starts serve mode as a real child process (node dist/main/serve.cjs) on a data folder, waits for its ready line and
// stops it (SIGTERM, then SIGKILL if it hangs), so a test can restart it on the same folder. Builds nothing itself.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../..');
const SERVE_ENTRY = path.join(REPO_ROOT, 'dist', 'main', 'serve.cjs');
const READY_PREFIX = 'Cronium Desktop (serve mode) ready:';

export interface ServeProcess {
  /** As printed: http://127.0.0.1:<port>/#token=<token> (the token in the fragment, never in the query). */
  url: string;
  origin: string;
  port: number;
  token: string;
  dataDir: string;
  /** Everything it printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export function makeDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-e2e-'));
}

export async function startServe(dataDir: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  if (!fs.existsSync(SERVE_ENTRY)) throw new Error(`${SERVE_ENTRY} is missing: run \`npm run build\` first.`);
  const child: ChildProcess = spawn(process.execPath, [SERVE_ENTRY, '--data-dir', dataDir, '--port', '0'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (out += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve mode printed no ready line within 20 s:\n${out}`));
    }, 20_000);
    child.stdout!.on('data', (c: string) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith(READY_PREFIX));
      if (line) {
        clearTimeout(timer);
        resolve(line.slice(READY_PREFIX.length).trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve mode exited (${code}) before it was ready:\n${out}`));
    });
  });

  const parsed = new URL(url);
  if (parsed.searchParams.has('token') || !parsed.hash.startsWith('#token=')) {
    child.kill('SIGKILL');
    throw new Error(`serve mode printed a URL without the token in its fragment: ${url}`);
  }
  let stopped: Promise<void> | undefined;
  return {
    url,
    origin: parsed.origin,
    port: Number(parsed.port),
    token: new URLSearchParams(parsed.hash.slice(1)).get('token') ?? '',
    dataDir,
    output: () => out,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      })();
      return stopped;
    },
  };
}
