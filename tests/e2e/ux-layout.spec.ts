// The app from 800x600 to 1920x1080 in a real browser against serve mode and a real sshd: the sidebar collapses to its
// icons and remembers it; every pane the sidebar lists fits its window (stacks or scrolls, never clips sideways);
// every action is reachable by keyboard with a visible focus; destructive actions ask once, naming the object and
// what is lost; forms report every invalid field at once; toasts are deduplicated, bounded and dismissable.
// Screenshots of each pane at each size go into the test output.
import { expect, test, type Page } from '@playwright/test';
import { openApp, openPane, openPaneAt, shot, sidebarPaneCount, VIEWPORTS, useSeededServe } from './ux-fixture';

const served = useSeededServe();

const sidebarWidth = (page: Page) => page.locator('aside.sidebar').evaluate((el) => el.getBoundingClientRect().width);

/** What sticks out sideways: the page itself, or an element of the pane wider than the pane's visible area. */
async function horizontalClipping(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const doc = document.scrollingElement!;
    if (doc.scrollWidth > window.innerWidth + 1) problems.push(`page is ${doc.scrollWidth}px wide in a ${window.innerWidth}px window`);
    const main = document.querySelector('main')!;
    if (main.scrollWidth > main.clientWidth + 1) {
      const right = main.getBoundingClientRect().right;
      const culprit = [...main.querySelectorAll<HTMLElement>('*')].find((el) => {
        const r = el.getBoundingClientRect();
        if (r.right <= right + 1 || r.width === 0) return false;
        // Inside a box that scrolls sideways on purpose (a wide table in its card) is fine.
        for (let p = el.parentElement; p && p !== main; p = p.parentElement) {
          const o = getComputedStyle(p).overflowX;
          if (o === 'auto' || o === 'scroll' || o === 'hidden') return false;
        }
        return true;
      });
      if (culprit) problems.push(`${culprit.tagName.toLowerCase()}.${culprit.className} ends at ${Math.round(culprit.getBoundingClientRect().right)}px, past the pane's ${Math.round(right)}px`);
    }
    return problems;
  });
}

test.describe('at 800x600', () => {
  test.use({ viewport: VIEWPORTS.small });

  test('the sidebar starts collapsed to icons, expands and collapses by button, and remembers the choice', async ({ page }, testInfo) => {
    await openApp(page, served.url());
    await page.evaluate(() => localStorage.removeItem('cronium.sidebarCollapsed'));
    await page.reload();
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('button', { name: 'Workflows', exact: true })).toBeVisible();
    expect(await sidebarWidth(page)).toBeLessThan(80);
    await shot(page, testInfo, 'sidebar-collapsed-800');

    await page.getByRole('button', { name: 'Expand sidebar' }).click();
    await expect(page.getByRole('button', { name: 'Collapse sidebar' })).toHaveAttribute('aria-expanded', 'true');
    expect(await sidebarWidth(page)).toBeGreaterThan(150);
    await page.reload();
    await expect(page.getByRole('button', { name: 'Collapse sidebar' })).toBeVisible();
    expect(await sidebarWidth(page)).toBeGreaterThan(150);
    await shot(page, testInfo, 'sidebar-expanded-800');

    await page.getByRole('button', { name: 'Collapse sidebar' }).click();
    await page.reload();
    await expect(page.getByRole('button', { name: 'Expand sidebar' })).toBeVisible();
    expect(await sidebarWidth(page)).toBeLessThan(80);
  });

  test('reaches a pane, a workflow step and its panel by keyboard alone, with a visible focus ring', async ({ page }, testInfo) => {
    await openApp(page, served.url());
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    await expect(skip).toBeFocused();
    await expect(skip).toBeInViewport();

    // Tab along the sidebar to Workflows and open it with Enter.
    const workflows = page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Workflows', exact: true });
    for (let i = 0; i < 30 && !(await workflows.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    await expect(workflows).toBeFocused();
    const ring = await workflows.evaluate((el) => {
      const cs = getComputedStyle(el);
      return { outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0, shadow: cs.boxShadow !== 'none' };
    });
    expect(ring.outline || ring.shadow).toBe(true);
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { level: 1, name: 'Workflows' })).toBeVisible();

    // Into the list, open a workflow, then Tab to a step on the graph and select it with Enter.
    const item = page.getByRole('navigation', { name: 'Workflows' }).getByRole('button', { name: /nightly ETL/ });
    for (let i = 0; i < 30 && !(await item.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    await expect(item).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('region', { name: 'Workflow graph' })).toHaveAttribute('data-laid-out', 'true');
    const firstStep = page.locator('.react-flow__node').first();
    for (let i = 0; i < 40 && !(await firstStep.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    await expect(firstStep).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('region', { name: 'Step settings' })).toBeVisible();
    await shot(page, testInfo, 'keyboard-step-selected-800');
  });
});

for (const [size, viewport] of Object.entries(VIEWPORTS)) {
  test.describe(`every pane at ${viewport.width}x${viewport.height}`, () => {
    test.use({ viewport });

    test('fits its window: nothing sticks out sideways, the rest scrolls', async ({ page }, testInfo) => {
      test.setTimeout(120_000);
      await openApp(page, served.url());
      const count = await sidebarPaneCount(page);
      const problems: string[] = [];
      const seen: string[] = [];
      for (let i = 0; i < count; i++) {
        const pane = await openPaneAt(page, i);
        seen.push(pane);
        if (pane === 'Workflows') {
          await page.getByRole('navigation', { name: 'Workflows' }).getByRole('button', { name: /nightly ETL/ }).click();
          await expect(page.getByRole('region', { name: 'Workflow graph' })).toHaveAttribute('data-laid-out', 'true');
        }
        if (pane === 'Servers') await page.getByRole('table', { name: 'Servers' }).getByRole('button', { name: 'web-1' }).click();
        await page.waitForLoadState('networkidle');
        for (const p of await horizontalClipping(page)) problems.push(`${pane}: ${p}`);
        await shot(page, testInfo, `pane-${pane.toLowerCase().replace(/\W+/g, '-')}-${size}`);
      }
      expect(seen).toEqual(expect.arrayContaining(['Dashboard', 'Servers', 'Events', 'Logs', 'Runners', 'Workflows', 'Settings']));
      expect(problems).toEqual([]);
    });
  });
}

test.describe('destructive actions, forms and toasts at 800x600', () => {
  test.use({ viewport: VIEWPORTS.small });

  test('deleting a workflow asks once, naming it and the runs and schedule lost; Cancel keeps it, confirming deletes it', async ({ page }, testInfo) => {
    await openApp(page, served.url());
    await openPane(page, 'Workflows');
    await page.getByRole('navigation', { name: 'Workflows' }).getByRole('button', { name: /daily report/ }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete workflow daily report?' });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByTestId('delete-consequence')).toContainText('Runs lost: its run history (1 run)');
    await expect(dialog.getByTestId('delete-consequence')).toContainText('It has no schedule.');
    await expect(dialog.getByTestId('delete-consequence')).toContainText('Servers affected: web-1');
    await shot(page, testInfo, 'confirm-delete-workflow-800');
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
    await expect(page.getByRole('navigation', { name: 'Workflows' })).toContainText('daily report');

    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.getByRole('button', { name: 'Delete workflow' }).click();
    await expect(page.getByRole('navigation', { name: 'Workflows' })).not.toContainText('daily report');
  });

  test('deleting a server or an event names the events and schedule affected', async ({ page }) => {
    await openApp(page, served.url());
    await openPane(page, 'Servers');
    await page.getByRole('table', { name: 'Servers' }).getByRole('button', { name: 'web-1' }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const serverDialog = page.getByRole('dialog', { name: 'Delete web-1?' });
    await expect(serverDialog.getByTestId('delete-consequence')).toContainText('Events affected (4)');
    await expect(serverDialog.getByTestId('delete-consequence')).toContainText('will have no server left');
    await serverDialog.getByRole('button', { name: 'Cancel' }).click();

    await openPane(page, 'Events');
    await page.getByRole('table', { name: 'Events' }).getByRole('button', { name: 'report' }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const eventDialog = page.getByRole('dialog', { name: 'Delete report?' });
    await expect(eventDialog.getByTestId('delete-consequence')).toContainText('It has no schedule.');
    await expect(eventDialog.getByTestId('delete-consequence')).toContainText('Servers affected: web-1');
    await eventDialog.getByRole('button', { name: 'Cancel' }).click();
  });

  test('a form reports every invalid field at once, each next to its field', async ({ page }, testInfo) => {
    await openApp(page, served.url());
    await openPane(page, 'Servers');
    await page.getByRole('button', { name: 'Add server' }).first().click();
    const form = page.getByRole('form', { name: 'Add server' });
    await form.getByLabel('Port').fill('port 22');
    await form.getByRole('button', { name: 'Add server' }).click();
    for (const label of ['Name', 'Host', 'Port', 'User']) {
      await expect(form.getByRole('textbox', { name: label, exact: true })).toHaveAttribute('aria-invalid', 'true');
    }
    expect(await form.locator('.field-error').count()).toBeGreaterThanOrEqual(5); // and the private key
    await expect(form.getByRole('alert').first()).toContainText('fields to fix');
    await shot(page, testInfo, 'form-all-errors-800');
    await page.keyboard.press('Escape');

    await openPane(page, 'Events');
    await page.getByRole('button', { name: 'New event' }).first().click();
    const editor = page.getByRole('form', { name: 'New event' });
    await editor.getByLabel('Timeout', { exact: true }).fill('ten');
    await editor.getByLabel('Retries', { exact: true }).fill('11');
    await editor.getByRole('button', { name: 'Save event' }).click();
    // The form's own check (timeout) and the contract's (name, retries) in one round.
    await expect(editor.locator('.field-error', { hasText: 'give the event a name' })).toBeVisible();
    await expect(editor.locator('.field-error', { hasText: 'enter a whole number of seconds' })).toBeVisible();
    await expect(editor.locator('.field-error', { hasText: 'at most 10 retries' })).toBeVisible();
  });

  test('the same error twice is one toast with a count, and it can be dismissed', async ({ page }) => {
    await openApp(page, served.url());
    await openPane(page, 'Events');
    // extract is a step of a workflow: the main process refuses to delete it, with the same message each time.
    for (let i = 0; i < 2; i++) {
      await page.getByRole('table', { name: 'Events' }).getByRole('button', { name: 'extract' }).click();
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      await page.getByRole('dialog', { name: 'Delete extract?' }).getByRole('button', { name: 'Delete event' }).click();
      await expect(page.getByRole('dialog', { name: 'Delete extract?' })).toBeHidden();
    }
    const toasts = page.getByRole('region', { name: 'Messages' }).getByTestId('toast').filter({ hasText: 'is a step of workflow' });
    await expect(toasts).toHaveCount(1);
    await expect(toasts).toContainText('×2');
    await toasts.getByRole('button', { name: 'Dismiss notification' }).click();
    await expect(toasts).toHaveCount(0);
  });
});
