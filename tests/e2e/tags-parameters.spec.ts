// Issue 14 points 4 and 5 in a real browser against serve mode and a real sshd: an event that targets a tag (typed in
// the editor) runs on every server carrying it and shows the fleet summary (succeeded / failed, which, how long), and
// "Re-run failed" runs only the failed one; an event with run-time parameters asks for them in a dialog that shows
// every field's error at once, then runs with the values (the secret one masked in the log).
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import { startSshd, type SshdHandle } from '../harness/sshd';
import { makeDataDir, startServe, type ServeProcess } from './serve-fixture';
import { serveRpc } from './server-fixture';

/** Harness users cronium-k137..k139 (issue 14's range). */
const FIRST_USER = 137;
let sshd: SshdHandle | undefined;
let serve: ServeProcess | undefined;
let dataDir: string;
const rpc = serveRpc(() => serve);
const serverIds: string[] = [];

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  sshd = await startSshd({ users: 3, firstUser: FIRST_USER });
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
  for (const [i, user] of sshd.extraUsers.entries()) {
    const server = await rpc('servers/save', {
      name: `fleet-${i + 1}`, host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey, tags: ['web'],
    });
    await rpc('servers/trustHostKey', { id: server.id, fingerprint: sshd.hostKeyFingerprint });
    serverIds.push(server.id);
  }
});

test.afterAll(async () => {
  await serve?.stop();
  await sshd?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });
}

async function openEvent(page: Page, name: string) {
  await nav(page, 'Events').click();
  await page.getByRole('table', { name: 'Events' }).getByRole('row').filter({ hasText: name }).click();
  const details = page.getByRole('article', { name: `Event ${name}` });
  await expect(details).toBeVisible();
  return details;
}

test.describe('groups by tag and run-time parameters', () => {
  test('an event targeting a tag runs on every tagged server, shows the fleet summary and re-runs the failed one only', async ({ page }) => {
    const failing = sshd!.extraUsers[1]!.username;
    await page.goto(serve!.url);
    await nav(page, 'Events').click();
    await page.getByRole('button', { name: 'New event' }).click();
    const editor = page.getByRole('form', { name: 'New event' });
    await editor.getByLabel('Name', { exact: true }).fill('fleet-check');
    const code = editor.getByRole('textbox', { name: 'Script', exact: true });
    await code.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await code.fill(`if [ "$(whoami)" = ${failing} ]; then echo "broken here" >&2; exit 4; fi\necho "fine on $(whoami)"\n`);
    await editor.getByLabel('Target tags').fill('web');
    await editor.getByLabel('Servers at once').fill('2');
    await editor.getByLabel('Execution mode').selectOption('direct-ssh');
    await editor.getByLabel('Timeout').fill('60');
    await editor.getByRole('button', { name: 'Save event' }).click();

    const details = page.getByRole('article', { name: 'Event fleet-check' });
    await expect(details.getByTestId('event-target-tags')).toContainText('web');
    await expect(details.getByTestId('event-target-tags')).toContainText('at most 2 servers at once');
    await details.getByRole('button', { name: 'Run now' }).click();

    const summary = details.getByRole('region', { name: 'Fleet summary' });
    await expect(summary).toBeVisible();
    await expect(summary.getByRole('heading')).toContainText('Run over 3 servers');
    await expect(summary.getByTestId('fleet-counts')).toContainText('2 succeeded', { timeout: 30_000 });
    await expect(summary.getByTestId('fleet-counts')).toContainText('1 failed');
    const servers = summary.getByRole('table', { name: 'Servers of the run' });
    await expect(servers.locator('tr[data-server="fleet-2"]')).toContainText('FAILURE');
    await expect(servers.locator('tr[data-server="fleet-2"]')).toContainText('exited with code 4');
    for (const ok of ['fleet-1', 'fleet-3']) await expect(servers.locator(`tr[data-server="${ok}"]`)).toContainText('SUCCESS');
    const firstRunId = await summary.getAttribute('data-run-id');

    await summary.getByRole('button', { name: 'Re-run failed (1)' }).click();
    await expect(summary).not.toHaveAttribute('data-run-id', firstRunId!);
    await expect(summary.getByRole('heading')).toContainText('Run over 1 server');
    await expect(servers.locator('tbody tr')).toHaveCount(1);
    await expect(servers.locator('tr[data-server="fleet-2"]')).toBeVisible();
    await expect(summary.getByTestId('fleet-counts')).toContainText('1 failed', { timeout: 30_000 });
  });

  test('the parameter dialog shows every error at once, then runs with the values and masks the secret', async ({ page }) => {
    await rpc('events/save', {
      name: 'deploy-params', scriptType: 'bash', executionMode: 'direct-ssh', timeoutSeconds: 60, serverIds: [serverIds[0]],
      content: 'echo "region=$CRONIUM_OPT_REGION count=$CRONIUM_OPT_COUNT token=$CRONIUM_OPT_TOKEN"\n',
      options: [
        { name: 'region', type: 'choice', choices: ['eu', 'us'], required: true },
        { name: 'count', type: 'number', default: 2 },
        { name: 'token', type: 'string', secret: true, required: true },
      ],
    });
    await page.goto(serve!.url);
    const details = await openEvent(page, 'deploy-params');
    await details.getByRole('button', { name: 'Run now' }).click();

    const dialog = page.getByRole('dialog', { name: 'Run deploy-params' });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByLabel('count')).toHaveValue('2');
    await dialog.getByLabel('count').fill('many');
    await dialog.getByRole('button', { name: 'Run', exact: true }).click();
    // All three problems at once, each next to its own field.
    await expect(dialog.locator('.field-error')).toHaveCount(3);
    await expect(dialog.locator('.field', { hasText: 'region' }).locator('.field-error')).toHaveText('required');
    await expect(dialog.locator('.field', { hasText: 'count' }).locator('.field-error')).toHaveText('must be a number');
    await expect(dialog.locator('.field', { hasText: 'token' }).locator('.field-error')).toHaveText('required');

    await dialog.getByLabel('region *').selectOption('eu');
    await dialog.getByLabel('count').fill('5');
    await dialog.getByLabel('token *').fill('p4ssw0rd-xyz');
    await dialog.getByRole('button', { name: 'Run', exact: true }).click();
    await expect(dialog).toBeHidden();

    await expect(details.getByRole('tab', { name: 'Logs' })).toHaveAttribute('aria-selected', 'true');
    const runs = details.getByRole('table', { name: 'Runs' });
    await expect(runs.getByRole('row').filter({ hasText: 'fleet-1' }).first()).toContainText('SUCCESS', { timeout: 30_000 });
    // The stored log, as the Logs pane shows it: the values arrived, the secret is masked.
    await nav(page, 'Logs').click();
    await page.getByRole('table', { name: 'Logs' }).getByRole('row').filter({ hasText: 'deploy-params' }).getByRole('button', { name: 'deploy-params' }).click();
    const viewer = page.getByRole('log', { name: 'Log output' });
    await expect(viewer.locator('.log-text', { hasText: /^region=eu count=5 token=•+$/ })).toBeVisible();
    await expect(viewer).not.toContainText('p4ssw0rd-xyz');
  });
});
