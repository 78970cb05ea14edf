// Accessibility of every pane, checked by axe-core in a real browser against a seeded serve mode: no serious or
// critical violation on any pane the sidebar lists (read at run time, so panes added later are checked too), at
// 1920x1080 and at 800x600 with the sidebar collapsed, plus the open workflow graph and a confirmation dialog.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { openApp, openPaneAt, sidebarPaneCount, VIEWPORTS, useSeededServe } from './ux-fixture';

const served = useSeededServe();

/** Serious and critical violations only, one line each (rule, impact, first few targets) so a failure reads at once. */
async function seriousViolations(page: Page, where: string): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${where}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

for (const viewport of Object.values(VIEWPORTS)) {
  test.describe(`accessibility at ${viewport.width}x${viewport.height}`, () => {
    test.use({ viewport });

    test('no pane the sidebar lists has a serious or critical axe violation', async ({ page }, testInfo) => {
      test.setTimeout(180_000);
      await openApp(page, served.url());
      const count = await sidebarPaneCount(page);
      expect(count).toBeGreaterThanOrEqual(7);
      const found: string[] = [];
      const panes: string[] = [];
      for (let i = 0; i < count; i++) {
        const pane = await openPaneAt(page, i);
        panes.push(pane);
        await page.waitForLoadState('networkidle');
        found.push(...(await seriousViolations(page, pane)));
        if (pane === 'Workflows') {
          await page.getByRole('navigation', { name: 'Workflows' }).getByRole('button', { name: /nightly ETL/ }).click();
          await expect(page.getByRole('region', { name: 'Workflow graph' })).toHaveAttribute('data-laid-out', 'true');
          found.push(...(await seriousViolations(page, 'Workflows (graph open)')));
          await page.getByRole('button', { name: 'Delete', exact: true }).click();
          await expect(page.getByRole('dialog')).toBeVisible();
          found.push(...(await seriousViolations(page, 'Workflows (delete dialog)')));
          await page.keyboard.press('Escape');
        }
      }
      testInfo.annotations.push({ type: 'panes checked', description: panes.join(', ') });
      expect(found).toEqual([]);
    });
  });
}
