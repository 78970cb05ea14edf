// Runs a TypeScript file (a benchmark, a one-off tool) under plain Node 20: bundles it with esbuild into
// node_modules/.cache/run-ts/ (so its npm imports still resolve from node_modules) and runs the bundle with the same
// arguments. Usage: node bench/run-ts.mjs bench/scheduler-bench.ts [args...]. It never writes outside that cache folder.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node bench/run-ts.mjs <file.ts> [args...]');
  process.exit(2);
}
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outDir = path.join(root, 'node_modules', '.cache', 'run-ts');
fs.mkdirSync(outDir, { recursive: true });
const outfile = path.join(outDir, `${path.basename(entry).replace(/\.[mc]?tsx?$/, '')}.cjs`);
await build({
  entryPoints: [path.resolve(entry)],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});
const run = spawnSync(process.execPath, ['--enable-source-maps', ...(process.env.RUN_TS_NODE_ARGS ?? '').split(' ').filter(Boolean), outfile, ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
