// Issue 15 in a real browser against serve mode and a real sshd: the event editor offers "Where the schedule fires";
// choosing "on the server" installs the schedule in the server's resident runner (the event shows "fires on the
// server" and each server's copy: how the resident runner runs, its next fire), and the runs it fires there are
// collected ("Collect now") into the event's history marked "fired on the server", with their logs.
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../harness/sshd';
import { makeDataDir, startServe, type ServeProcess } from './serve-fixture';
import { addTrustedServer, serveRpc } from './server-fixture';

/** Harness user cronium-k142 (issue 15's range). */
const FIRST_USER = 142;
let sshd: SshdHandle | undefined;
let user: SshdKeyUser;
let serve: ServeProcess | undefined;
let dataDir: string;
let serverId: string;
const rpc = serveRpc(() => serve);

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(120_000);
  sshd = await startSshd({ users: 1, firstUser: FIRST_USER });
  user = sshd.extraUsers[0]!;
  fs.rmSync(path.join(user.home, '.cronium'), { recursive: true, force: true });
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
  serverId = (await addTrustedServer(rpc, sshd, user, 'held-e2e')).id;
  await rpc('runners/deploy', { serverId });
});

test.afterAll(async () => {
  // Removing the runner removes the resident runner, its schedules and its fired jobs' folders with it.
  if (serverId) await rpc('runners/remove', { serverId }).catch(() => undefined);
  await serve?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  if (user) fs.rmSync(path.join(user.home, '.cronium'), { recursive: true, force: true });
  await sshd?.stop();
});

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });
}

test('"fires on the server": the choice in the editor, the server copy, and the collected history', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(serve!.url);
  await nav(page, 'Events').click();
  await page.getByRole('button', { name: 'New event' }).click();
  const editor = page.getByRole('form', { name: 'New event' });
  await editor.getByLabel('Name', { exact: true }).fill('held-e2e');
  const code = editor.getByRole('textbox', { name: 'Script', exact: true });
  await code.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await code.fill('echo "fired on $(whoami)"\n');
  await editor.getByLabel('Execution mode').selectOption('runner-ssh');
  await editor.getByRole('checkbox', { name: 'held-e2e' }).check();
  // No schedule: no choice of where it fires.
  await expect(editor.getByTestId('fires-on')).toHaveCount(0);
  await editor.getByRole('radiogroup', { name: 'Schedule kind' }).getByText('Cron').click();
  await editor.getByLabel('Cron expression').fill('*/10 * * * * *');
  const fires = editor.getByLabel('Fires');
  await expect(fires).toHaveValue('app');
  await fires.selectOption('server');
  await expect(editor.getByTestId('fires-on')).toContainText('fires it even while this app is closed');
  await editor.getByRole('button', { name: 'Save event' }).click();

  const details = page.getByRole('article', { name: 'Event held-e2e' });
  await expect(details.getByTestId('fires-where')).toContainText('fires on the server');
  const panel = details.getByTestId('server-held');
  await expect(panel).toBeVisible();
  // The copy on the server, once installed: its version, the fallback it runs as (no systemd here), its next fire.
  const row = panel.getByRole('row').filter({ hasText: 'held-e2e' });
  await expect(row).toContainText('v1', { timeout: 30_000 });
  await expect(row).toContainText('background process');

  // Runs the server fired, collected on demand, in the history marked as such.
  const runs = details.getByRole('table', { name: 'Runs' });
  await expect(async () => {
    await panel.getByRole('button', { name: 'Collect now' }).click();
    await expect(runs.getByTestId('fired-on-server').first()).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  const firstRun = runs.getByRole('row').filter({ has: page.getByTestId('fired-on-server') }).first();
  await expect(firstRun).toContainText(/succeeded|success/i, { timeout: 20_000 });
  // Its log, from the server's spool.
  await firstRun.click();
  await expect(page.getByText(`fired on ${user.username}`).first()).toBeVisible({ timeout: 20_000 });
});
