// Issue 3 end to end, in a real browser against serve mode and a real OpenSSH sshd (tests/harness/sshd.ts): the user
// adds a server with a private key, approves its host key fingerprint, writes a bash event, runs it and watches its
// lines arrive live in the log viewer before the job ends; then a failing event shows FAILURE, its exit code and its
// stderr line marked as stderr. Run under scripts/with-keyring.sh: credentials go to a real Secret Service.
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { startSshd, type SshdHandle } from '../harness/sshd';
import { makeDataDir, REPO_ROOT, startServe, type ServeProcess } from './serve-fixture';

const SERVER_NAME = 'e2e-host';
let sshd: SshdHandle | undefined;
let serve: ServeProcess | undefined;
let dataDir: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  sshd = await startSshd();
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
});

test.afterAll(async () => {
  await serve?.stop();
  await sshd?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });
}

async function createEvent(page: Page, name: string, script: string): Promise<void> {
  await nav(page, 'Events').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Events' })).toBeVisible();
  await page.getByRole('button', { name: 'New event' }).click();
  const editor = page.getByRole('form', { name: 'New event' });
  await editor.getByLabel('Name', { exact: true }).fill(name);
  const code = editor.getByRole('textbox', { name: 'Script', exact: true });
  await code.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await code.fill(script);
  await editor.getByRole('checkbox', { name: new RegExp(SERVER_NAME) }).check();
  // Issue 3's path: direct-ssh, whatever auto would pick once a runner is available.
  await editor.getByLabel('Execution mode').selectOption('direct-ssh');
  await editor.getByLabel('Timeout').fill('60');
  await editor.getByRole('button', { name: 'Save event' }).click();
  await expect(page.getByRole('article', { name: `Event ${name}` })).toBeVisible();
  await expect(page.getByRole('article', { name: `Event ${name}` }).getByText('v1', { exact: true })).toBeVisible();
}

test.describe('servers, events and live logs', () => {
  test.describe('when the user adds a server with a key and trusts its host key', () => {
    test('shows the fingerprint first, then connects and records ok with its latency', async ({ page }) => {
      await page.goto(serve!.url);
      await nav(page, 'Servers').click();
      await page.getByRole('button', { name: 'Add server' }).click();
      const form = page.getByRole('form', { name: 'Add server' });
      await form.getByLabel('Name', { exact: true }).fill(SERVER_NAME);
      await form.getByLabel('Host', { exact: true }).fill(sshd!.host);
      await form.getByLabel('Port', { exact: true }).fill(String(sshd!.port));
      await form.getByLabel('User', { exact: true }).fill(sshd!.keyUser.username);
      await form.getByRole('textbox', { name: 'Private key' }).fill(sshd!.keyUser.privateKey);
      await form.getByRole('button', { name: 'Add server' }).click();

      const details = page.getByRole('article', { name: `Server ${SERVER_NAME}` });
      await expect(details).toBeVisible();
      await expect(details.getByTestId('last-connection')).toHaveText(/never tested/);
      await details.getByRole('button', { name: 'Test connection' }).click();

      const dialog = page.getByRole('dialog', { name: `Trust the host key of ${SERVER_NAME}?` });
      await expect(dialog).toBeVisible();
      await expect(dialog.getByTestId('host-key-fingerprint')).toHaveText(sshd!.hostKeyFingerprint);
      await expect(dialog.getByTestId('host-key-algorithm')).toHaveText(/ed25519/);
      await dialog.getByRole('button', { name: 'Trust and connect' }).click();
      await expect(dialog).toBeHidden();

      await expect(details.getByTestId('connection-result')).toContainText('Connected');
      await expect(details.getByTestId('connection-result')).toContainText(/\d+ ms/);
      await expect(details.getByTestId('pinned-fingerprint')).toHaveText(sshd!.hostKeyFingerprint);
      await expect(details.getByTestId('last-connection')).toContainText('ok');
      await expect(details.getByTestId('last-latency')).toHaveText(/^\d+ ms$/);
    });
  });

  test.describe('when the user runs a bash event that prints for about ten seconds', () => {
    test('shows its lines live while it runs, then SUCCESS and exit code 0', async ({ page }) => {
      await page.goto(serve!.url);
      await createEvent(page, 'count-lines', 'for i in $(seq 1 40); do echo line-$i; sleep 0.25; done\n');
      await page.getByRole('article', { name: 'Event count-lines' }).getByRole('button', { name: 'Run now' }).click();

      await nav(page, 'Logs').click();
      const row = page.getByRole('table', { name: 'Logs' }).getByRole('row').filter({ hasText: 'count-lines' });
      await expect(row).toHaveCount(1);
      await row.getByRole('button', { name: 'count-lines' }).click();

      const header = page.getByRole('region', { name: 'Log summary' });
      const viewer = page.getByRole('log', { name: 'Log output' });
      // About 10 s of output: enough to open the log and watch it grow even on a loaded machine.
      await expect(viewer.locator('.log-text', { hasText: /^line-20$/ })).toBeVisible({ timeout: 20_000 });
      // Seen mid-run: the job has not finished and the last line has not been printed yet.
      await expect(header).toHaveAttribute('data-status', 'RUNNING', { timeout: 1 });
      await expect(viewer.locator('.log-text', { hasText: /^line-40$/ })).toHaveCount(0, { timeout: 1 });
      // One vocabulary: the job's word (RUNNING) with how its output travels as the detail.
      await expect(header.locator('.status-badge')).toContainText('RUNNING');
      await expect(header.getByText('over SSH')).toBeVisible();
      if (process.env.UPDATE_SCREENSHOT === '1' || process.env.CRONIUM_UPDATE_SCREENSHOTS === '1') {
        await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'screenshot-logs.png') });
      }

      await expect(header).toHaveAttribute('data-status', 'SUCCESS', { timeout: 30_000 });
      await expect(header.getByTestId('log-exit-code')).toHaveText('0');
      await expect(viewer.locator('.log-text', { hasText: /^line-40$/ })).toBeVisible();
      for (const n of [21, 30, 39]) await expect(viewer.locator('.log-text', { hasText: new RegExp(`^line-${n}$`) })).toHaveCount(1);
    });
  });

  test.describe('when the user runs an event that fails', () => {
    test('shows FAILURE, exit code 3 and the stderr line marked as stderr in the event Logs tab', async ({ page }) => {
      await page.goto(serve!.url);
      await createEvent(page, 'fails-with-3', 'echo "about to fail"\necho "disk full: cannot write backup" >&2\nexit 3\n');
      const details = page.getByRole('article', { name: 'Event fails-with-3' });
      await details.getByRole('button', { name: 'Run now' }).click();

      // Run now opens the event's Logs tab on the new run: the same viewer as the Logs pane.
      await expect(details.getByRole('tab', { name: 'Logs' })).toHaveAttribute('aria-selected', 'true');
      const header = details.getByRole('region', { name: 'Log summary' });
      await expect(header).toHaveAttribute('data-status', 'FAILURE');
      await expect(header.getByTestId('log-exit-code')).toHaveText('3');
      await expect(header.getByText('FAILURE', { exact: true })).toBeVisible();

      const viewer = details.getByRole('log', { name: 'Log output' });
      const stderrRow = viewer.locator('.log-row', { hasText: 'disk full: cannot write backup' });
      const stdoutRow = viewer.locator('.log-row', { hasText: 'about to fail' });
      await expect(stderrRow).toHaveAttribute('data-stream', 'stderr');
      await expect(stderrRow.locator('.log-marker')).toHaveAttribute('aria-label', 'stderr');
      await expect(stdoutRow).toHaveAttribute('data-stream', 'stdout');
      const colourOf = (loc: typeof stderrRow) => loc.locator('.log-text').evaluate((el) => getComputedStyle(el).color);
      expect(await colourOf(stderrRow)).not.toBe(await colourOf(stdoutRow));

      // The run shows up in the Logs pane with its status too.
      await nav(page, 'Logs').click();
      const row = page.getByRole('table', { name: 'Logs' }).getByRole('row').filter({ hasText: 'fails-with-3' });
      await expect(row.locator('[data-status]')).toHaveAttribute('data-status', 'FAILURE');
    });
  });
});
