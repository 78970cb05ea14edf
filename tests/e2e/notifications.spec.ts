// Notifications in serve mode, in a real browser against serve mode and a real sshd: the centre explains why it would
// like browser notifications and the browser is asked once; then 40 jobs (one event on 40 servers, `exit 3`) fail at
// the same time, and the page shows ONE grouped browser notification ("40 jobs failed") while the centre lists 40
// entries with an unread count on its sidebar entry. Browser notifications are counted by wrapping the real
// window.Notification in an init script (the permission itself is granted to the origin by the test).
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import { startSshd, type SshdHandle } from '../harness/sshd';
import { makeDataDir, startServe, type ServeProcess } from './serve-fixture';
import { addTrustedServer, serveRpc } from './server-fixture';

const FAILURES = 40;

let dataDir: string;
let serve: ServeProcess | undefined;
let sshd: SshdHandle | undefined;
let eventId: string;
const rpc = serveRpc(() => serve);

/**
 * Counts every browser notification the page creates and every permission request, keeping the real API. Until the
 * page asks, it sees "default" (the origin is pre-granted by the test so the real request succeeds headless); the
 * answer is kept in sessionStorage so a reload sees it as the browser would.
 */
const COUNT_NOTIFICATIONS = `(() => {
  const Real = window.Notification;
  window.__shown = [];
  window.__permissionRequests = 0;
  function CountingNotification(title, options) {
    window.__shown.push({ title, body: options && options.body });
    return Reflect.construct(Real, [title, options], CountingNotification);
  }
  CountingNotification.prototype = Real.prototype;
  Object.defineProperty(CountingNotification, 'permission', {
    get: () => (sessionStorage.getItem('__asked') ? Real.permission : 'default'),
  });
  CountingNotification.requestPermission = async () => {
    window.__permissionRequests++;
    const answer = await Real.requestPermission();
    sessionStorage.setItem('__asked', answer);
    return answer;
  };
  window.Notification = CountingNotification;
})();`;

type Counted = { __shown: Array<{ title: string; body?: string }>; __permissionRequests: number };
const shownCount = (page: Page) => page.evaluate(() => (window as unknown as Counted).__shown.length);
const permissionRequests = (page: Page) => page.evaluate(() => (window as unknown as Counted).__permissionRequests);

test.beforeAll(async () => {
  test.setTimeout(180_000);
  sshd = await startSshd();
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
  // A wide group window: the 40 failures land in one group even on a slow machine.
  await rpc('settings/update', { notifications: { groupWindowSeconds: 20 } });
  const serverIds: string[] = [];
  for (let i = 1; i <= FAILURES; i++) serverIds.push((await addTrustedServer(rpc, sshd, sshd.keyUser, `notify-${String(i).padStart(2, '0')}`)).id);
  const event = await rpc('events/save', { name: 'nightly-check', scriptType: 'bash', content: 'echo checking; exit 3\n', timeoutSeconds: 60, serverIds, executionMode: 'direct-ssh' });
  eventId = event.id;
});

test.afterAll(async () => {
  await serve?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  await sshd?.stop();
});

/** Serious or critical axe-core violations on the page as it is now (the panes must stay usable with assistive tech). */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

const nav = (page: Page, name: RegExp | string) => page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name });

test.describe('notifications in serve mode', () => {
  test('40 concurrent failures: one grouped browser notification, 40 centre entries, an unread count', async ({ page, context }, testInfo) => {
    test.setTimeout(180_000);
    await context.grantPermissions(['notifications'], { origin: serve!.origin });
    await context.addInitScript({ content: COUNT_NOTIFICATIONS });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.goto(serve!.url);

    // The reason comes first, in the app; the browser is asked only when the user accepts.
    await nav(page, /^Notifications/).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Notifications' })).toBeVisible();
    const card = page.getByRole('region', { name: 'Be told when something goes wrong' });
    await expect(card).toContainText('40 failures are one notification');
    expect(await seriousViolations(page)).toEqual([]);
    expect(await permissionRequests(page)).toBe(0);
    await card.getByRole('button', { name: 'Allow browser notifications' }).click();
    await expect(page.getByTestId('browser-notifications-state')).toHaveText('Browser notifications are on for this page.');
    expect(await permissionRequests(page)).toBe(1);

    // 40 jobs fail at once (one event on 40 servers).
    const { jobs } = await rpc('events/run', { id: eventId });
    expect(jobs).toHaveLength(FAILURES);

    const entries = page.getByRole('list', { name: 'Notification history' }).getByTestId('notification-entry');
    await expect(entries).toHaveCount(FAILURES, { timeout: 60_000 });
    await expect(entries.first()).toContainText('failed (exited with code 3)');
    await expect(nav(page, /^Notifications/)).toHaveAccessibleName(new RegExp(`^Notifications\\s*${FAILURES} unread$`));

    // One grouped browser notification once the group window closed.
    await expect.poll(() => shownCount(page), { timeout: 60_000 }).toBe(1);
    const shown = await page.evaluate(() => (window as unknown as Counted).__shown);
    expect(shown[0]!.title).toBe(`${FAILURES} jobs failed`);
    expect(shown[0]!.body).toContain(`and ${FAILURES - 5} more`);
    // And no second one arrives for the same failures.
    await page.waitForTimeout(1_000);
    expect(await shownCount(page)).toBe(1);
    const centre = await rpc('notifications/list', { limit: 1000 });
    expect(centre.items).toHaveLength(FAILURES);
    expect(centre.unread).toBe(FAILURES);
    await page.screenshot({ path: testInfo.outputPath('notification-centre-1920x1080.png'), fullPage: false });
    expect(await seriousViolations(page)).toEqual([]);

    // At 800x600 the centre still works: filter, open one, mark everything read.
    await page.setViewportSize({ width: 800, height: 600 });
    await page.getByRole('checkbox', { name: 'Unread only' }).check();
    await expect(entries).toHaveCount(FAILURES);
    await page.screenshot({ path: testInfo.outputPath('notification-centre-800x600.png'), fullPage: false });
    expect(await seriousViolations(page)).toEqual([]);
    await entries.first().getByRole('button', { name: /^Mark read: / }).click();
    await expect(entries).toHaveCount(FAILURES - 1);
    await page.getByRole('button', { name: 'Mark all read' }).click();
    await expect(entries).toHaveCount(0);
    await expect(page.getByTestId('unread-badge')).toHaveCount(0);
    await page.getByRole('checkbox', { name: 'Unread only' }).uncheck();
    await expect(entries).toHaveCount(FAILURES);

    // The history is kept (SQLite) and the browser is not asked again after a reload.
    await page.reload();
    await nav(page, /^Notifications/).click();
    await expect(entries).toHaveCount(FAILURES);
    await expect(page.getByRole('region', { name: 'Be told when something goes wrong' })).toHaveCount(0);
    expect(await permissionRequests(page)).toBe(0);

    // A click on an entry opens that job's log.
    await entries.first().getByRole('button', { name: /^Open log: / }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Logs' })).toBeVisible();
  });
});
