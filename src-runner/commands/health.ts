/**
 * `cronium-runner health --json`: samples CPU (over ~200 ms), memory, free disk for the runner's folder, the job
 * queue and uptime, and prints RunnerHealthReport as one JSON line. Read-only: it never creates or changes files.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RUNNER_EXIT_USAGE, type RunnerHealthReport } from '../../src-shared/protocol/runner-info';
import { countJobs } from '../job-folder';
import { runnerHome } from '../paths';
import type { RunnerCommand } from './command';

const CPU_SAMPLE_MS = 200;

interface CpuTimes {
  idle: number;
  total: number;
}

function readProcStat(): CpuTimes | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    if (!line.startsWith('cpu ')) return null;
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: idle time is idle + iowait.
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((sum, n) => sum + (Number.isFinite(n) ? n : 0), 0);
    return { idle, total };
  } catch {
    return null;
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export async function sampleCpuUsage(sampleMs = CPU_SAMPLE_MS): Promise<number> {
  const first = readProcStat();
  if (first) {
    await new Promise((resolve) => setTimeout(resolve, sampleMs));
    const second = readProcStat();
    if (second && second.total > first.total) {
      const busy = 1 - (second.idle - first.idle) / (second.total - first.total);
      return round1(Math.min(100, Math.max(0, busy * 100)));
    }
  }
  // No /proc (macOS, BSD): the 1-minute load average per CPU is the closest figure available.
  const cpus = Math.max(1, os.cpus().length);
  return round1(Math.max(0, (os.loadavg()[0] / cpus) * 100));
}

export function memoryUsage(): number {
  try {
    const info = fs.readFileSync('/proc/meminfo', 'utf8');
    const total = Number(/^MemTotal:\s+(\d+)/m.exec(info)?.[1]);
    const available = Number(/^MemAvailable:\s+(\d+)/m.exec(info)?.[1]);
    // MemAvailable counts reclaimable cache as free; os.freemem() would call a healthy server full.
    if (total > 0 && Number.isFinite(available)) return round1(((total - available) / total) * 100);
  } catch {}
  return round1(((os.totalmem() - os.freemem()) / os.totalmem()) * 100);
}

/** The nearest existing folder at or above `dir`: the runner's folder may not exist yet on a fresh server. */
function existingAncestor(dir: string): string {
  let current = path.resolve(dir);
  while (!fs.existsSync(current)) {
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return current;
}

export function diskFreeMb(dir: string): number {
  const target = existingAncestor(dir);
  if (typeof fs.statfsSync === 'function') {
    const stats = fs.statfsSync(target);
    return Math.floor((stats.bavail * stats.bsize) / (1024 * 1024));
  }
  // Node 18.0-18.14 has no statfs: POSIX df -Pk prints "fs 1024-blocks used available capacity mount".
  const out = execFileSync('df', ['-Pk', target], { encoding: 'utf8' }).trim().split('\n');
  const available = Number(out[out.length - 1].trim().split(/\s+/)[3]);
  if (!Number.isFinite(available)) throw new Error(`cannot read free disk space for ${target} from df`);
  return Math.floor(available / 1024);
}

export async function healthReport(env: NodeJS.ProcessEnv): Promise<RunnerHealthReport> {
  const cpuUsage = await sampleCpuUsage();
  return {
    cpuUsage,
    memoryUsage: memoryUsage(),
    diskSpace: diskFreeMb(runnerHome(env)),
    executionQueue: countJobs(env),
    uptime: Math.round(os.uptime()),
  };
}

export const healthCommand: RunnerCommand = {
  summary: 'print cpu, memory, free disk, job queue and uptime',
  args: '--json',
  async run(args, io) {
    const unknown = args.filter((a) => a !== '--json');
    if (unknown.length > 0 || !args.includes('--json')) {
      // Only JSON exists today; requiring the flag leaves room for a human-readable form without breaking callers.
      io.stderr(`health: expected --json${unknown.length ? `, got ${unknown.join(' ')}` : ''}\n`);
      return RUNNER_EXIT_USAGE;
    }
    io.stdout(JSON.stringify(await healthReport(io.env)) + '\n');
    return 0;
  },
};
