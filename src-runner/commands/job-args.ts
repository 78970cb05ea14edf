/**
 * Parses the job commands' options (--job <id>, --port <n>, --socket <path>, --payload <checksum>, --grace <ms>, --resume).
 * Unknown options are refused so a typo never silently changes what a command does.
 */
export interface JobArgs {
  job?: string;
  port?: number;
  socket?: string;
  payload?: string;
  grace?: number;
  resume?: boolean;
  /** Started by the resident runner for a server-held schedule: no app is there, the script starts at once. */
  'server-fired'?: boolean;
}

export function parseJobArgs(args: string[], allowed: Array<keyof JobArgs>): JobArgs {
  const out: JobArgs = {};
  for (let i = 0; i < args.length; i++) {
    const name = args[i].replace(/^--/, '') as keyof JobArgs;
    if (!args[i].startsWith('--') || !allowed.includes(name)) throw new Error(`unknown option ${args[i]}`);
    if (name === 'resume' || name === 'server-fired') {
      out[name] = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (name === 'port' || name === 'grace') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number`);
      out[name] = n;
    } else {
      out[name] = value;
    }
  }
  return out;
}
