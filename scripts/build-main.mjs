// Builds the main-process entry points with esbuild: the Electron shell, the preload (sandboxed, so CommonJS and
// self-contained) and serve mode. Native and Electron-provided modules stay external and load from node_modules.
import { build } from 'esbuild';

const external = ['electron', 'better-sqlite3', 'keytar', 'ssh2', 'cpu-features', 'electron-updater'];
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: true, external, logLevel: 'warning' };

await Promise.all([
  build({ ...common, entryPoints: { 'electron-main': 'src-main/electron/main.ts' }, outdir: 'dist/main', outExtension: { '.js': '.cjs' } }),
  build({ ...common, entryPoints: { serve: 'src-main/headless/serve.ts' }, outdir: 'dist/main', outExtension: { '.js': '.cjs' } }),
  build({ ...common, entryPoints: { preload: 'src-main/preload/preload.ts' }, outdir: 'dist/preload', outExtension: { '.js': '.cjs' }, external: ['electron'] }),
]);
console.log('built dist/main and dist/preload');
