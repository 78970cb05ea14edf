// The runner story in a real browser against serve mode and a real sshd: a server added through the rpc, a runner
// deployed from the Runners pane with live progress, and its health check turning the indicator healthy.
import { expect, test } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../harness/sshd';
import { makeDataDir, startServe, type ServeProcess } from './serve-fixture';

let dataDir: string;
let serve: ServeProcess | undefined;
let sshd: SshdHandle | undefined;
let user: SshdKeyUser;

/** One contract call over serve mode's own WebSocket, as the renderer makes it. */
function rpc(name: string, input: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${serve!.port}/rpc?token=${serve!.token}`, { origin: serve!.origin });
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ t: 'invoke', id: 1, name, input })));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.t !== 'result') return;
      ws.close();
      if (frame.result.ok) resolve(frame.result.value);
      else reject(new Error(`${name}: ${frame.result.error.message}`));
    });
  });
}

test.beforeAll(async () => {
  sshd = await startSshd({ users: 17 });
  user = sshd.extraUsers[16];
  fs.rmSync(path.join(user.home, '.cronium'), { recursive: true, force: true });
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
  const server = await rpc('servers/save', {
    name: 'e2e-runner', host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey,
  });
  await rpc('servers/trustHostKey', { id: server.id, fingerprint: sshd.hostKeyFingerprint });
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
      await expect(row).toContainText('1.0.0 (sea)');

      await row.getByRole('button', { name: 'Check runner health on e2e-runner' }).click();
      await expect(row.locator('[data-runner-health="healthy"]')).toBeVisible({ timeout: 30_000 });
      await expect(row).toContainText(/just now|s ago/);
    });
  });
});
