// The runner story in a real browser against serve mode and a real sshd: a server added through the rpc, a runner
// deployed from the Runners pane with live progress, and its health check turning the indicator healthy.
import { expect, test } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../harness/sshd';
import { makeDataDir, startServe, type ServeProcess } from './serve-fixture';
import { addTrustedServer, serveRpc } from './server-fixture';

let dataDir: string;
let serve: ServeProcess | undefined;
let sshd: SshdHandle | undefined;
let user: SshdKeyUser;

const rpc = serveRpc(() => serve);

test.beforeAll(async () => {
  sshd = await startSshd({ users: 17 });
  user = sshd.extraUsers[16];
  fs.rmSync(path.join(user.home, '.cronium'), { recursive: true, force: true });
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
  await addTrustedServer(rpc, sshd, user, 'e2e-runner');
  // CPU on a busy test machine must not decide the story: only a real failure makes the runner unhealthy here.
  await rpc('settings/update', { runner: { health: { cpuDegradedPercent: 100, cpuUnhealthyPercent: 100, memoryDegradedPercent: 100, memoryUnhealthyPercent: 100, diskDegradedFreeMb: 1, diskUnhealthyFreeMb: 0 } } });
});

test.afterAll(async () => {
  await serve?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  if (user) fs.rmSync(path.join(user.home, '.cronium'), { recursive: true, force: true });
  await sshd?.stop();
});

test.describe('the Runners pane', () => {
  test.describe('when the user deploys a runner to a server', () => {
    test('shows the signed artifacts, deploys with progress, and the runner becomes healthy', async ({ page }) => {
      test.setTimeout(120_000);
      await page.goto(serve!.url);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Runners', exact: true }).click();
      await expect(page.getByRole('heading', { level: 1, name: 'Runners' })).toBeVisible();

      const artifacts = page.getByRole('table', { name: 'Runner artifacts' });
      await expect(artifacts.locator('tr[data-artifact="1.0.0-sea-linux-x64"]')).toContainText('verified');
      await expect(artifacts.locator('tr[data-artifact="1.0.0-js-any-any"]')).toContainText('JS (needs Node 18+)');

      const row = page.locator('tr[data-runner-server-name="e2e-runner"]');
      await expect(row).toContainText('not deployed');
      await row.getByRole('button', { name: 'Deploy runner to e2e-runner' }).click();
      // Progress from 'runners/progress' while it runs, then the active badge.
      await expect(row.getByRole('status')).toContainText(/Probing|Choosing|Verifying|Uploading|Running/);
      await expect(row.locator('[data-runner-status="active"]')).toBeVisible({ timeout: 90_000 });
      // The server has Node >= 18 that only root can change: the code bundle alone is deployed (docs/security.md).
      await expect(row).toContainText('1.0.0 (js)');

      await row.getByRole('button', { name: 'Check health of the runner on e2e-runner' }).click();
      await expect(row.locator('[data-runner-health="healthy"]')).toBeVisible({ timeout: 30_000 });
      await expect(row).toContainText(/just now|s ago/);
    });
  });
});
