// Builds what the end-to-end tests run (dist/main/serve.cjs and dist/renderer) so a test never drives a stale build.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function globalSetup(): void {
  if (process.env.CRONIUM_E2E_SKIP_BUILD === '1') return;
  execFileSync('npm', ['run', 'build'], { cwd: path.resolve(__dirname, '../..'), stdio: 'inherit' });
}
