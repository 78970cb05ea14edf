// The Audit pane, the Upcoming view and the script diff in a real browser against serve mode, at 1920x1080 and
// 800x600, with screenshots in the test output. Changes are made through the contract as the renderer makes them
// (a server, an event edited twice, a workflow, a setting); the panes must show who changed what, linked to the
// object, the week's fires with their zones, and the difference between two versions of the event's script.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import fs from 'node:fs';
import { makeDataDir, startServe, type ServeProcess } from './serve-fixture';
import { serveRpc } from './server-fixture';

let dataDir: string;
let serve: ServeProcess | undefined;
const rpc = serveRpc(() => serve);

const SIZES = [
  { width: 1920, height: 1080 },
  { width: 800, height: 600 },
] as const;

const SCRIPT_V1 = 'echo "backing up"\ntar czf /tmp/backup.tgz /etc\necho done\n';
const SCRIPT_V2 = 'echo "backing up"\ntar czf /tmp/backup.tgz /etc /home\necho done\n';
const SCRIPT_V3 = 'set -e\necho "backing up"\ntar czf /tmp/backup.tgz /etc /home\necho "all done"\n';

test.beforeAll(async () => {
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
  // Nothing here connects: the server only has to exist for the event to name it.
  const server = await rpc('servers/save', { name: 'audit-db-1', host: '127.0.0.1', port: 22, username: 'nobody', authType: 'password', password: 'not-used-here' });
  const base = { name: 'paris-backup', scriptType: 'bash', timeoutSeconds: 60, serverIds: [server.id], executionMode: 'direct-ssh', schedule: { kind: 'cron', expression: '30 2 * * *' }, timeZone: 'Europe/Paris' };
  const v1 = await rpc('events/save', { ...base, content: SCRIPT_V1 });
  await rpc('events/save', { ...base, id: v1.id, content: SCRIPT_V2 });
  await rpc('events/save', { ...base, id: v1.id, content: SCRIPT_V3 });
  await rpc('events/save', { name: 'tokyo-report', scriptType: 'bash', timeoutSeconds: 60, serverIds: [server.id], executionMode: 'direct-ssh', content: 'echo report\n', schedule: { kind: 'cron', expression: '0 9 * * 1-5' }, timeZone: 'Asia/Tokyo' });
  await rpc('settings/update', { notifications: { onSuccess: true } });
});

test.afterAll(async () => {
  await serve?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Serious or critical axe-core violations on the page as it is now (the panes must stay usable with assistive tech). */
async function seriousViolations(page: Page, include?: string): Promise<string[]> {
  const builder = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']);
  const results = await (include ? builder.include(include) : builder).analyze();
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });

async function shot(page: Page, testInfo: TestInfo, name: string) {
  const { width, height } = page.viewportSize()!;
  await page.screenshot({ path: testInfo.outputPath(`${name}-${width}x${height}.png`) });
}

for (const size of SIZES) {
  test.describe(`at ${size.width}x${size.height}`, () => {
    test.use({ viewport: size });

    test('the Audit pane lists who changed what, filters it and links to the object', async ({ page }, testInfo) => {
      await page.goto(serve!.url);
      await nav(page, 'Audit').click();
      await expect(page.getByRole('heading', { level: 1, name: 'Audit' })).toBeVisible();
      const table = page.getByRole('table', { name: 'Audit log' });
      const rows = table.getByTestId('audit-entry');
      for (const action of ['server.create', 'settings.update']) await expect(table.locator(`[data-action="${action}"]`)).toHaveCount(1);
      await expect(table.locator('[data-action="event.create"]')).toHaveCount(2);
      await expect(table.locator('[data-action="event.update"]')).toHaveCount(2);
      await expect(table.locator('[data-action="settings.update"]')).toContainText('notifications.onSuccess: true');
      await shot(page, testInfo, 'audit');
      expect(await seriousViolations(page)).toEqual([]);

      // Filter to events only.
      await page.getByRole('combobox', { name: 'Object' }).selectOption('event');
      await expect(rows).toHaveCount(4);
      await expect(table.locator('[data-action^="server."]')).toHaveCount(0);
      // Free text.
      await page.getByRole('searchbox', { name: 'Text' }).fill('tokyo');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await expect(rows).toHaveCount(1);

      // The entry links to its event.
      await rows.first().getByRole('button', { name: 'tokyo-report' }).click();
      await expect(page.getByRole('heading', { level: 1, name: 'Events' })).toBeVisible();
      await expect(page.getByRole('article', { name: 'Event tokyo-report' })).toBeVisible();
    });

    test('the Upcoming view shows the week’s fires of every schedule with their zones', async ({ page }, testInfo) => {
      await page.goto(serve!.url);
      await nav(page, 'Upcoming').click();
      await expect(page.getByRole('heading', { level: 1, name: 'Upcoming' })).toBeVisible();
      const fires = page.getByTestId('upcoming-fire');
      // Daily at 02:30 in Paris: 7 in a week; weekdays at 09:00 in Tokyo: 5 in any 7 days.
      await expect(fires.filter({ hasText: 'paris-backup' })).toHaveCount(7);
      await expect(fires.filter({ hasText: 'tokyo-report' })).toHaveCount(5);
      await expect(fires.filter({ hasText: 'paris-backup' }).first()).toContainText('Europe/Paris');
      await expect(fires.filter({ hasText: 'tokyo-report' }).first()).toContainText('Asia/Tokyo');
      await expect(page.getByTestId('upcoming-count')).toHaveText('12 runs');
      await shot(page, testInfo, 'upcoming');
      expect(await seriousViolations(page)).toEqual([]);
      await page.getByRole('combobox', { name: 'Show the next' }).selectOption('1');
      await expect(fires.filter({ hasText: 'paris-backup' })).toHaveCount(1);
    });

    test('the script diff compares any two versions of an event’s script', async ({ page }, testInfo) => {
      await page.goto(serve!.url);
      await nav(page, 'Events').click();
      await page.getByRole('button', { name: 'paris-backup', exact: true }).click();
      const details = page.getByRole('article', { name: 'Event paris-backup' });
      await details.getByRole('tab', { name: 'Script versions' }).click();
      const diff = details.getByTestId('script-diff');
      await expect(details.getByTestId('script-diff-summary')).toHaveText('Changes from v2 (left) to v3 (right).');
      await expect(diff.locator('.cm-mergeView')).toBeVisible();
      await expect(diff.getByRole('textbox', { name: 'Script version 2' })).toContainText('echo done');
      await expect(diff.getByRole('textbox', { name: 'Script version 3' })).toContainText('set -e');
      await diff.scrollIntoViewIfNeeded();
      await expect(diff.locator('.cm-changedLine').first()).toBeVisible();
      await shot(page, testInfo, 'script-diff');
      // The Events pane around it is checked by the accessibility spec; this checks what this tab adds.
      expect(await seriousViolations(page, '[role="tabpanel"][aria-label="Script versions"]')).toEqual([]);

      await details.getByRole('combobox', { name: 'From version' }).selectOption('1');
      await expect(details.getByTestId('script-diff-summary')).toHaveText('Changes from v1 (left) to v3 (right).');
      await expect(diff.getByRole('textbox', { name: 'Script version 1' })).not.toContainText('/home');
      await details.getByRole('combobox', { name: 'To version' }).selectOption('1');
      await expect(details.getByTestId('script-diff-summary')).toHaveText('v1 and v1 have the same script.');
    });
  });
}
