// The Alerts pane's rule editor and the catalogue import preview in a real browser against serve mode. The editor
// must show every mistake at once (checked in the browser against the contract's schema), then what only the main
// process can tell (a name already used); a saved rule shows where alerts go but never its secret URL, and a test
// alert shows up in the history with its error. The import preview lists creates, unchanged items and every problem of
// a bad file, and applies a good one.
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import { makeDataDir, startServe, type ServeProcess } from './serve-fixture';
import { serveRpc } from './server-fixture';

let dataDir: string;
let serve: ServeProcess | undefined;
const rpc = serveRpc(() => serve);

test.beforeAll(async () => {
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
  // Nothing connects: the server and event only have to exist.
  const server = await rpc('servers/save', { name: 'alerts-db-1', host: '127.0.0.1', port: 22, username: 'nobody', authType: 'password', password: 'not-used-here' });
  await rpc('events/save', { name: 'nightly-backup', scriptType: 'bash', timeoutSeconds: 60, serverIds: [server.id], executionMode: 'direct-ssh', content: 'echo backup\n' });
});

test.afterAll(async () => {
  await serve?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });

test('the alert rule editor shows every problem at once, saves a webhook rule and its test alert reaches the history', async ({ page }) => {
  await page.goto(serve!.url);
  await nav(page, 'Alerts').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Alerts' })).toBeVisible();
  await page.getByRole('button', { name: 'New rule' }).click();
  const dialog = page.getByRole('dialog', { name: 'New alert rule' });

  // Four mistakes: no name, no trigger, a zero limit, no webhook URL. All shown together, nothing sent.
  await dialog.getByRole('checkbox', { name: 'Failure', exact: true }).uncheck();
  await dialog.getByRole('checkbox', { name: 'Recovery (success after a failure)' }).uncheck();
  await dialog.getByLabel('At most (alerts)').fill('0');
  await dialog.getByRole('button', { name: 'Save rule' }).click();
  await expect(dialog.getByText('Please correct 4 fields.')).toBeVisible();
  await expect(dialog.getByText('a name is required')).toBeVisible();
  await expect(dialog.getByText('choose at least one trigger')).toBeVisible();
  await expect(dialog.getByText('the webhook URL is required')).toBeVisible();
  await expect(dialog.getByLabel('At most (alerts)')).toHaveAttribute('aria-invalid', 'true');

  await dialog.getByLabel('Name', { exact: true }).fill('Backups to chat');
  await dialog.getByLabel('Event', { exact: true }).selectOption({ label: 'nightly-backup' });
  await dialog.getByRole('checkbox', { name: 'Failure', exact: true }).check();
  await dialog.getByLabel('At most (alerts)').fill('3');
  await dialog.getByLabel('Payload').selectOption('slack');
  // Port 9 (discard) on loopback: nothing listens, so the test alert fails with a clear reason.
  await dialog.getByLabel('Webhook URL').fill('http://127.0.0.1:9/hooks/T000/secret-token-123');
  await dialog.getByRole('button', { name: 'Save rule' }).click();
  await expect(dialog).toBeHidden();

  const rules = page.getByRole('table', { name: 'Alert rules' });
  const row = rules.getByRole('row', { name: /Backups to chat/ });
  await expect(row).toContainText('event: nightly-backup');
  await expect(row).toContainText('Webhook (slack) http://127.0.0.1:9/…');
  await expect(rules).not.toContainText('secret-token-123');

  // What only the main process knows: the name is taken.
  await page.getByRole('button', { name: 'New rule' }).click();
  const second = page.getByRole('dialog', { name: 'New alert rule' });
  await second.getByLabel('Name', { exact: true }).fill('Backups to chat');
  await second.getByLabel('Webhook URL').fill('https://hooks.example.test/x');
  await second.getByRole('button', { name: 'Save rule' }).click();
  await expect(second.getByText('another rule is already named "Backups to chat"')).toBeVisible();
  await second.getByRole('button', { name: 'Cancel' }).click();

  // A test alert: queued at once, its failed attempt and reason visible in the history.
  await row.getByRole('button', { name: 'Test' }).click();
  const history = page.getByRole('table', { name: 'Alert history' });
  await expect(history.getByRole('row', { name: /Backups to chat/ })).toContainText('connection refused (ECONNREFUSED)');
  await history.getByRole('row', { name: /Backups to chat/ }).click();
  await expect(history).toContainText('attempt 1');
});

test('the import preview lists creates, unchanged items and every problem, and applies a good file', async ({ page }) => {
  await page.goto(serve!.url);
  await nav(page, 'Import / export').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Import / export' })).toBeVisible();

  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export catalogue' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^cronium-catalogue-\d{4}-\d{2}-\d{2}\.yaml$/);
  const exported = fs.readFileSync((await download.path())!, 'utf8');
  expect(exported).toContain('format: cronium-catalogue');
  expect(exported).not.toContain('not-used-here');

  const chooser = page.getByLabel('Catalogue file to import');
  // A bad file: an unknown field, a wrong type and a server that exists nowhere.
  const bad = exported
    .replace('    host: 127.0.0.1\n', '    host: 127.0.0.1\n    colour: blue\n')
    .replace('timeoutSeconds: 60', 'timeoutSeconds: soon')
    .replace('      - alerts-db-1\n', '      - nowhere-1\n');
  await chooser.setInputFiles({ name: 'bad.yaml', mimeType: 'application/yaml', buffer: Buffer.from(bad) });
  const preview = page.getByRole('region', { name: 'Import preview' });
  await expect(preview.getByRole('heading', { name: 'Preview of bad.yaml' })).toBeVisible();
  const problems = preview.getByRole('list', { name: 'Import problems' }).getByRole('listitem');
  await expect(problems).toHaveCount(2);
  await expect(problems.nth(0)).toContainText('Unrecognized key: "colour"');
  await expect(problems.nth(1)).toContainText('timeoutSeconds');
  await expect(preview.getByRole('button', { name: 'Apply import' })).toBeDisabled();
  await preview.getByRole('button', { name: 'Cancel' }).click();

  // Structure fine, a reference missing: refused with that reason.
  await chooser.setInputFiles({ name: 'missing.yaml', mimeType: 'application/yaml', buffer: Buffer.from(exported.replace('      - alerts-db-1\n', '      - nowhere-1\n')) });
  await expect(preview.getByRole('list', { name: 'Import problems' })).toContainText('no server named "nowhere-1" in the file or in this catalogue');
  await expect(preview.getByRole('button', { name: 'Apply import' })).toBeDisabled();

  // A good file: the exported catalogue plus one new server.
  const good = exported.replace(
    'servers:\n',
    'servers:\n  - name: alerts-web-2\n    host: 127.0.0.2\n    port: 22\n    username: www\n    authType: agent\n    hostKeyFingerprint: null\n    hostKeyAlgorithm: null\n    tags: []\n    maxConcurrentJobs: 4\n    agentForwarding: false\n    jumpServers: []\n',
  );
  await chooser.setInputFiles({ name: 'good.yaml', mimeType: 'application/yaml', buffer: Buffer.from(good) });
  await expect(preview.getByRole('heading', { name: 'Preview of good.yaml' })).toBeVisible();
  const changes = preview.getByRole('table', { name: 'Import changes' });
  await expect(changes.getByRole('row', { name: /alerts-web-2/ })).toContainText('create');
  await expect(changes.getByRole('row', { name: /nightly-backup/ })).toContainText('unchanged');
  await expect(preview.getByText('1 to create, 0 to update, 2 unchanged, 0 conflicts.')).toBeVisible();
  await preview.getByRole('button', { name: 'Apply import' }).click();
  await expect(page.getByText('Imported: 1 created, 0 updated, 2 unchanged.')).toBeVisible();

  await nav(page, 'Servers').click();
  await expect(page.getByText('alerts-web-2').first()).toBeVisible();
});
