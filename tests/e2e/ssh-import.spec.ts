// Issue 14 point 3 in a real browser against serve mode: "Import from SSH config" in the Servers pane reads the
// sample config (tests/integration/ssh/fixtures/ssh-import, copied to the serve process's own ~/.ssh) and shows the
// preview before anything is saved: servers to create, host keys from known_hosts (the hashed one, the one it
// disagrees on), options not used and why. Unticking a host changes what is imported; a broken config shows its
// problem with file and line and cannot be imported.
import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeDataDir, REPO_ROOT, startServe, type ServeProcess } from './serve-fixture';
import { serveRpc } from './server-fixture';

const FIXTURE = path.join(REPO_ROOT, 'tests', 'integration', 'ssh', 'fixtures', 'ssh-import');
let serve: ServeProcess | undefined;
let dataDir: string;
let home: string;
const rpc = serveRpc(() => serve);

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-e2e-home-'));
  fs.cpSync(FIXTURE, path.join(home, '.ssh'), { recursive: true });
  fs.mkdirSync(path.join(home, '.ssh', 'keys'), { mode: 0o700 });
  for (const name of ['bastion', 'default']) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `e2e-${name}`, '-f', path.join(home, '.ssh', 'keys', name)]);
  }
  fs.writeFileSync(path.join(home, '.ssh', 'broken_config'), 'Host fine\n  HostName 10.9.0.1\nHost broken\n  Port "22\n');
  dataDir = makeDataDir();
  // The serve process's home is the temporary one: ~/.ssh/config is the sample.
  serve = await startServe(dataDir, { HOME: home });
});

test.afterAll(async () => {
  await serve?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });
}

test('the import preview shows what will be created, the known keys and their mismatches, and imports what is ticked', async ({ page }) => {
  await page.goto(serve!.url);
  await nav(page, 'Servers').click();
  await page.getByRole('button', { name: 'Import from SSH config' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Import from SSH config' });
  const table = dialog.getByRole('table', { name: 'Servers to import' });
  await expect(table.getByRole('row')).toHaveCount(11); // header + 10 hosts
  await expect(dialog.getByTestId('ssh-import-files')).toContainText('conf.d/10-team.conf');

  const web1 = dialog.getByTestId('ssh-import-row-web1');
  await expect(web1).toContainText('create');
  await expect(web1).toContainText('deploy@10.20.1.11:22');
  await expect(web1).toContainText('bastion');
  await expect(web1).toContainText('(hashed) will be pinned');
  const db1 = dialog.getByTestId('ssh-import-row-db1');
  await expect(db1).toContainText('mismatch');
  await expect(db1).toContainText('disagrees with itself');
  await expect(dialog.getByRole('region', { name: 'Not supported' })).toContainText('ProxyCommand nc %h %p');
  await expect(dialog.getByRole('region', { name: 'Not supported' })).toContainText('only ProxyJump is supported');
  // Nothing saved by the preview.
  expect(await rpc('servers/list', {})).toEqual([]);

  await dialog.getByRole('checkbox', { name: 'Import legacy' }).uncheck();
  await expect(dialog.getByRole('button', { name: 'Import 9 servers' })).toBeEnabled();
  await dialog.getByRole('button', { name: 'Import 9 servers' }).click();
  await expect(dialog).toBeHidden();

  const servers: Array<{ name: string; hostKeyFingerprint: string | null; jumpHosts: Array<{ name: string }> }> = await rpc('servers/list', {});
  expect(servers.map((s) => s.name).sort()).toEqual(['backup', 'bastion', 'cache', 'ci', 'db1', 'files.corp', 'mon', 'web1', 'web2']);
  expect(servers.find((s) => s.name === 'web1')!.hostKeyFingerprint).toBe('SHA256:0dS3nvJllLz42IZ36T1KGd7g9aVPjwODuEteLXAGyfI');
  expect(servers.find((s) => s.name === 'db1')!.hostKeyFingerprint).toBeNull();
  await expect(page.getByRole('cell', { name: 'files.corp' }).first()).toBeVisible();
});

test('a broken config shows its problem with file and line, and cannot be imported', async ({ page }) => {
  await page.goto(serve!.url);
  await nav(page, 'Servers').click();
  await page.getByRole('button', { name: 'Import from SSH config' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Import from SSH config' });
  await dialog.getByLabel('SSH config file').fill('~/.ssh/broken_config');
  await dialog.getByRole('button', { name: 'Preview again' }).click();
  await expect(dialog.getByRole('region', { name: 'Problems' })).toContainText('~/.ssh/broken_config line 4: Port has an unbalanced quote');
  await expect(dialog.getByRole('button', { name: 'Fix the problems to import' })).toBeDisabled();
});
