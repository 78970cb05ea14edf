// The foundation story in a real browser against serve mode: every pane and its empty state, a setting and a feature
// flag that survive a restart, an invalid value refused at its field, and the token and Origin rules.
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { makeDataDir, REPO_ROOT, startServe, type ServeProcess } from './serve-fixture';

const PANES: { name: string; emptyText: RegExp }[] = [
  { name: 'Servers', emptyText: /No servers yet\. Add the machines you want to run events on; Cronium checks each host key with you/ },
  { name: 'Events', emptyText: /No events yet\./ },
  { name: 'Logs', emptyText: /No logs yet\./ },
  { name: 'Runners', emptyText: /No runners deployed yet\./ },
  { name: 'Workflows', emptyText: /No workflows yet\./ },
];

let dataDir: string;
let serve: ServeProcess | undefined;

test.beforeAll(async () => {
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
});

test.afterAll(async () => {
  await serve?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });
}

test.describe('serve mode in a browser', () => {
  test.describe('when the user opens the printed URL', () => {
    test('shows the Dashboard with the app facts and the keychain state', async ({ page }) => {
      await page.goto(serve!.url);
      await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
      await expect(page.getByText(dataDir, { exact: true })).toBeVisible();
      await expect(page.getByText('Serve mode (browser)')).toBeVisible();
      // system/stats and the job lists answered: a fresh install counts nothing and says how to start.
      await expect(page.getByTestId('count-servers')).toHaveText('0');
      await expect(page.getByText(/Nothing is running\./)).toBeVisible();
      await expect(page.getByText(/No job has finished yet\./)).toBeVisible();
      // Whichever the machine has, the page must say it the way system/info reports it.
      const keychain = page.getByTestId('keychain-state');
      await expect(keychain).toHaveText(/Available|Unavailable/);
      if ((await keychain.textContent()) === 'Unavailable') {
        await expect(page.getByRole('alert').filter({ hasText: 'Keychain unavailable' })).toBeVisible();
      }
      // The token leaves the address bar once the page has it.
      expect(page.url()).not.toContain(serve!.token);
      if (process.env.UPDATE_SCREENSHOT === '1') {
        await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'screenshot.png') });
      }
    });

    test('visits every pane and sees its heading and empty state', async ({ page }) => {
      await page.goto(serve!.url);
      await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
      for (const pane of PANES) {
        await nav(page, pane.name).click();
        await expect(page.getByRole('heading', { level: 1, name: pane.name })).toBeVisible();
        await expect(nav(page, pane.name)).toHaveAttribute('aria-current', 'page');
        await expect(page.getByText(pane.emptyText)).toBeVisible();
        await expect(page.locator('.empty-state').getByRole('button').first()).toBeVisible();
      }
      await nav(page, 'Settings').click();
      await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
      await expect(page.getByRole('switch', { name: 'SSH runner', exact: true })).toBeVisible();
    });
  });

  test.describe('when the user changes settings', () => {
    test('a new cache TTL and a feature flag persist after serve mode restarts on the same data folder', async ({ page }) => {
      await page.goto(serve!.url);
      await nav(page, 'Settings').click();
      const ttl = page.getByLabel('Payload cache TTL');
      await expect(ttl).toHaveValue('90');
      await ttl.fill('30');
      const autoDeploy = page.getByRole('switch', { name: 'Automatic runner deployment' });
      await expect(autoDeploy).toHaveAttribute('aria-checked', 'true');
      await autoDeploy.click();
      await expect(autoDeploy).toHaveAttribute('aria-checked', 'false');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect(page.getByRole('status').filter({ hasText: 'Settings saved.' })).toBeVisible();

      await serve!.stop();
      // The page sees the link drop and says so.
      await expect(page.getByText(/Connection to Cronium lost|Disconnected from Cronium/)).toBeVisible();
      serve = await startServe(dataDir);

      await page.goto(serve.url);
      await nav(page, 'Settings').click();
      await expect(page.getByLabel('Payload cache TTL')).toHaveValue('30');
      await expect(page.getByRole('switch', { name: 'Automatic runner deployment' })).toHaveAttribute('aria-checked', 'false');
    });

    test('an invalid health check interval is shown at its field, keeps the input, and is not saved', async ({ page }) => {
      await page.goto(serve!.url);
      await nav(page, 'Settings').click();
      const interval = page.getByLabel('Health check interval');
      await expect(interval).toHaveValue('60');
      await interval.fill('1');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect(interval).toHaveAttribute('aria-invalid', 'true');
      const fieldError = page.locator('.field', { has: interval }).getByRole('alert');
      await expect(fieldError).toContainText(/5|too small|>=/);
      await expect(interval).toHaveValue('1');

      // A reload (the printed URL differs from this page only in its fragment, which would not reload it).
      await page.reload();
      await nav(page, 'Settings').click();
      await expect(page.getByLabel('Health check interval')).toHaveValue('60');
    });
  });

  test.describe('when someone without the token knocks', () => {
    test('the page is refused with a plain explanation', async ({ page, request }) => {
      const res = await request.get(`${serve!.origin}/`);
      expect(res.status()).toBe(401);
      expect(await res.text()).toMatch(/access token/);
      const wrong = await request.get(`${serve!.origin}/?token=guessed`);
      expect(wrong.status()).toBe(401);
      // The token in the query is not a way in (it belongs in the fragment, which never reaches a server).
      expect((await request.get(`${serve!.origin}/?token=${serve!.token}`)).status()).toBe(401);
      await page.goto(`${serve!.origin}/`);
      await expect(page.getByText(/needs the access token/)).toBeVisible();
    });

    test('a WebSocket from another Origin is refused even with the token, and accepted from the served origin', async () => {
      const statusFor = (origin: string) =>
        new Promise<number>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${serve!.port}/rpc`, { origin, headers: { authorization: `Bearer ${serve!.token}` } });
          ws.once('open', () => {
            ws.close();
            resolve(101);
          });
          ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.once('error', reject);
        });
      expect(await statusFor('http://evil.example')).toBe(403);
      expect(await statusFor(serve!.origin)).toBe(101);
    });
  });
});
