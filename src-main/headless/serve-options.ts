/**
 * Serve-mode command line: --data-dir, --port (and their environment variables), with the user's data folder as the
 * default. Pure parsing: it never touches the file system or the network, so every rule is unit-tested.
 */
import os from 'node:os';
import path from 'node:path';

export interface ServeOptions {
  dataDir: string;
  port: number;
  /** Serve mode binds loopback only; there is deliberately no option to change it. */
  host: '127.0.0.1';
}

export class ServeUsageError extends Error {}

export const SERVE_USAGE = `Usage: node dist/main/serve.cjs [--data-dir <folder>] [--port <number>]
  --data-dir  where the database and caches live (env CRONIUM_DATA_DIR; default: the user's data folder)
  --port      port on 127.0.0.1 for the app and its /rpc socket (env CRONIUM_SERVE_PORT; default 0 = any free port)`;

/** The user's data folder for the app, following each platform's convention (XDG on Linux). */
export function defaultDataDir(env: Record<string, string | undefined>, platform = process.platform, home = os.homedir()): string {
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'cronium-desktop');
  if (platform === 'win32') return path.join(env.APPDATA || path.join(home, 'AppData', 'Roaming'), 'cronium-desktop');
  const xdg = env.XDG_DATA_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.local', 'share'), 'cronium-desktop');
}

function parsePort(value: string, from: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new ServeUsageError(`${from} must be a port number from 0 to 65535 (0 = any free port), got "${value}".`);
  }
  return Number(value);
}

export function parseServeOptions(argv: string[], env: Record<string, string | undefined>, cwd = process.cwd()): ServeOptions {
  let dataDir = env.CRONIUM_DATA_DIR || undefined;
  let port = env.CRONIUM_SERVE_PORT ? parsePort(env.CRONIUM_SERVE_PORT, 'CRONIUM_SERVE_PORT') : 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new ServeUsageError(`${flag} needs a value.\n${SERVE_USAGE}`);
      return v;
    };
    switch (flag) {
      case '--data-dir':
        dataDir = value();
        break;
      case '--port':
        port = parsePort(value(), '--port');
        break;
      case '--host':
        if (value() !== '127.0.0.1') throw new ServeUsageError('Serve mode listens on 127.0.0.1 only; --host cannot be changed.');
        break;
      case '--help':
      case '-h':
        throw new ServeUsageError(SERVE_USAGE);
      default:
        throw new ServeUsageError(`Unknown option "${arg}".\n${SERVE_USAGE}`);
    }
  }
  return { dataDir: path.resolve(cwd, dataDir ?? defaultDataDir(env)), port, host: '127.0.0.1' };
}
