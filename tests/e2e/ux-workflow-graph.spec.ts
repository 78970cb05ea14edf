// The laid-out workflow graph in a real browser, at 800x600 and at 1920x1080, against serve mode and a real sshd:
// connections are labelled by kind and no connection is drawn through a step (checked on the drawn SVG paths against
// the step boxes); the run overlay colours each step by its outcome; and a run whose step failed is never shown plain
// SUCCESS: "succeeded", "succeeded with a handled failure" and "failed" are told apart on the graph, in the workflow
// list and on the dashboard.
import { expect, test, type Page } from '@playwright/test';
import { openApp, openPane, shot, VIEWPORTS, useSeededServe } from './ux-fixture';

const served = useSeededServe();

/** Every drawn connection sampled every 3 px: the points that fall inside a step box (shrunk by 2 px), per edge. */
async function edgesThroughSteps(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const boxes = [...document.querySelectorAll<HTMLElement>('.react-flow__node')].map((n) => ({ id: n.dataset.id, r: n.getBoundingClientRect() }));
    const hits: string[] = [];
    for (const edge of document.querySelectorAll<SVGGElement>('.react-flow__edge')) {
      const path = edge.querySelector<SVGPathElement>('path.react-flow__edge-path');
      const ctm = path?.getScreenCTM();
      if (!path || !ctm) continue;
      const length = path.getTotalLength();
      for (let at = 0; at <= length; at += 3) {
        const p = new DOMPoint(path.getPointAtLength(at).x, path.getPointAtLength(at).y).matrixTransform(ctm);
        const inside = boxes.find(({ r }) => p.x > r.left + 2 && p.x < r.right - 2 && p.y > r.top + 2 && p.y < r.bottom - 2);
        if (inside) {
          hits.push(`${edge.getAttribute('aria-label')} passes through step ${inside.id}`);
          break;
        }
      }
    }
    return hits;
  });
}

async function openWorkflow(page: Page, name: string) {
  await openPane(page, 'Workflows');
  await page.getByRole('navigation', { name: 'Workflows' }).getByRole('button', { name: new RegExp(name) }).click();
  await expect(page.getByRole('region', { name: 'Workflow graph' })).toHaveAttribute('data-laid-out', 'true');
}

for (const [size, viewport] of Object.entries(VIEWPORTS)) {
  test.describe(`the workflow graph at ${viewport.width}x${viewport.height}`, () => {
    test.use({ viewport });

    test('lays the steps out, labels every connection by kind and draws none through a step', async ({ page }, testInfo) => {
      await openApp(page, served.url());
      await openWorkflow(page, 'nightly ETL');
      const graph = page.getByRole('region', { name: 'Workflow graph' });
      await expect(graph.getByTestId('workflow-step')).toHaveCount(3);
      await expect(graph.locator('.react-flow__edge')).toHaveCount(3);
      await expect(graph.locator('.react-flow__edge-text')).toHaveText(['on success', 'always', 'on failure']);
      // Each kind keeps its own colour class, so the label and the line say the same thing.
      await expect(graph.locator('.react-flow__edge.wf-edge-on_failure')).toHaveCount(1);
      expect(await edgesThroughSteps(page)).toEqual([]);
      // The three steps are not stacked in one column: the failure branch goes around transform.
      const xs = await graph.locator('.react-flow__node').evaluateAll((ns) => ns.map((n) => Math.round(n.getBoundingClientRect().left)));
      expect(new Set(xs).size).toBeGreaterThan(1);
      await shot(page, testInfo, `workflow-graph-${size}`, size === 'large' ? 'screenshot-workflow.png' : undefined);
    });

    test('colours each step by its outcome and says the run succeeded with a handled failure, not SUCCESS', async ({ page }, testInfo) => {
      await openApp(page, served.url());
      await openWorkflow(page, 'nightly ETL');
      const step = (label: string) => page.getByTestId('workflow-step').filter({ hasText: label });
      await expect(step('extract')).toHaveAttribute('data-status', 'FAILURE');
      await expect(step('transform')).toHaveAttribute('data-status', 'SKIPPED');
      await expect(step('notify')).toHaveAttribute('data-status', 'SUCCESS');
      // Outcome colours really differ (the overlay is not only a word).
      const bg = (label: string) => step(label).evaluate((el) => getComputedStyle(el).backgroundColor);
      expect(await bg('extract')).not.toBe(await bg('notify'));
      // The connection whose target was skipped is dimmed; the failure branch that fired is not.
      await expect(page.locator('.react-flow__edge.wf-edge-on_success')).toHaveClass(/wf-edge-idle/);
      await expect(page.locator('.react-flow__edge.wf-edge-on_failure')).toHaveClass(/wf-edge-taken/);

      const overlay = page.locator('.wf-run-overlay');
      await expect(overlay).toContainText('SUCCESS WITH HANDLED FAILURE');
      await expect(page.getByTestId('run-status')).toHaveText('SUCCESS WITH HANDLED FAILURE');
      await expect(page.getByTestId('run-status')).not.toHaveText(/^SUCCESS$/);
      await expect(page.getByRole('region', { name: 'Run', exact: true })).toContainText('extract ended FAILURE');
      await page.getByTestId('run-status').scrollIntoViewIfNeeded();
      await shot(page, testInfo, `workflow-run-overlay-${size}`);
      // The step that handled the failure opens its log.
      await page.getByTestId('run-step').filter({ hasText: 'notify' }).getByRole('button', { name: 'Open log' }).click();
      await expect(page.getByText('notifying the team').first()).toBeVisible({ timeout: 30_000 });
      await shot(page, testInfo, `log-${size}`);
    });

    test('tells succeeded, succeeded with a handled failure and failed apart in the list and on the dashboard', async ({ page }, testInfo) => {
      await openApp(page, served.url());
      await openPane(page, 'Workflows');
      const list = page.getByRole('navigation', { name: 'Workflows' });
      const statusOf = (name: string) => list.getByRole('button', { name: new RegExp(name) }).locator('.status-badge');
      await expect(statusOf('daily report')).toHaveAttribute('data-status', 'SUCCESS');
      await expect(statusOf('nightly ETL')).toHaveAttribute('data-status', 'HANDLED_FAILURE');
      await expect(statusOf('nightly ETL')).toHaveText('SUCCESS WITH HANDLED FAILURE');
      await expect(statusOf('fragile import')).toHaveAttribute('data-status', 'FAILURE');
      await shot(page, testInfo, `workflow-list-${size}`);

      await openPane(page, 'Dashboard');
      const card = page.getByRole('list', { name: 'Workflows and their last run' });
      await expect(card.getByRole('button', { name: /daily report/ }).locator('.status-badge')).toHaveAttribute('data-status', 'SUCCESS');
      await expect(card.getByRole('button', { name: /nightly ETL/ }).locator('.status-badge')).toHaveText('SUCCESS WITH HANDLED FAILURE');
      await expect(card.getByRole('button', { name: /fragile import/ }).locator('.status-badge')).toHaveAttribute('data-status', 'FAILURE');
      // A card opens its workflow.
      await card.getByRole('button', { name: /fragile import/ }).click();
      await expect(page.getByLabel('Workflow name')).toHaveValue('fragile import');
      await openPane(page, 'Dashboard');
      await page.locator('main').evaluate((el) => el.scrollTo(0, 0));
      await shot(page, testInfo, `dashboard-${size}`, size === 'large' ? 'screenshot.png' : 'screenshot-small.png');
    });
  });
}
