// The workflow story in a real browser against serve mode and a real sshd: the user builds a three-step workflow in the
// graph editor (adds three steps, connects the first two by dragging between their handles and the last two from the
// step panel), saves and runs it, and watches each step end SUCCESS on the graph and in the run view; a cycle is
// refused on save with the steps named.
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import WebSocket from 'ws';
import { startSshd, type SshdHandle } from '../harness/sshd';
import { makeDataDir, startServe, type ServeProcess } from './serve-fixture';

let dataDir: string;
let serve: ServeProcess | undefined;
let sshd: SshdHandle | undefined;

/** One contract call over serve mode's own WebSocket, as the renderer makes it. */
function rpc(name: string, input: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${serve!.port}/rpc?token=${serve!.token}`, { origin: serve!.origin });
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ t: 'invoke', id: 1, name, input })));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.t !== 'result') return;
      ws.close();
      if (frame.result.ok) resolve(frame.result.value);
      else reject(new Error(`${name}: ${frame.result.error.message}`));
    });
  });
}

test.beforeAll(async () => {
  sshd = await startSshd();
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
  const server = await rpc('servers/save', {
    name: 'e2e-workflows', host: sshd.host, port: sshd.port, username: sshd.keyUser.username, authType: 'key', privateKey: sshd.keyUser.privateKey,
  });
  await rpc('servers/trustHostKey', { id: server.id, fingerprint: sshd.hostKeyFingerprint });
  for (const [name, content] of [['extract', 'echo extracting; sleep 1'], ['transform', 'echo transforming'], ['load', 'echo loading']]) {
    await rpc('events/save', { name, scriptType: 'bash', content, timeoutSeconds: 60, serverIds: [server.id], executionMode: 'direct-ssh' });
  }
});

test.afterAll(async () => {
  await serve?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  await sshd?.stop();
});

async function addStep(page: Page, eventName: string) {
  await page.getByRole('toolbar', { name: 'Graph tools' }).getByRole('button', { name: 'Add step' }).click();
  await page.getByRole('region', { name: 'Step settings' }).getByLabel('Event', { exact: true }).selectOption({ label: eventName });
}

/** Drags from one step's bottom handle to another step's top handle, as a user connects them with the mouse. */
async function dragConnect(page: Page, from: number, to: number) {
  const steps = page.locator('.react-flow__node');
  const source = await steps.nth(from).locator('.react-flow__handle-bottom').boundingBox();
  const target = await steps.nth(to).locator('.react-flow__handle-top').boundingBox();
  if (!source || !target) throw new Error('a step handle is not on screen');
  await page.mouse.move(source.x + source.width / 2, source.y + source.height / 2);
  await page.mouse.down();
  await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2, { steps: 12 });
  await page.mouse.up();
}

test.describe('the Workflows pane', () => {
  test.describe('when the user builds a three-step workflow and runs it', () => {
    test('connects the steps, saves, runs, and sees every step end SUCCESS', async ({ page }) => {
      test.setTimeout(90_000);
      await page.goto(serve!.url);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Workflows', exact: true }).click();
      await expect(page.getByRole('heading', { level: 1, name: 'Workflows' })).toBeVisible();
      await page.getByRole('button', { name: 'New workflow' }).first().click();
      await page.getByLabel('Workflow name').fill('nightly ETL');

      await addStep(page, 'extract');
      await addStep(page, 'transform');
      await addStep(page, 'load');
      await expect(page.getByTestId('workflow-step')).toHaveCount(3);

      // extract -> transform with the mouse, on success (the toolbar's kind for new connections).
      await page.getByLabel('New connections fire').selectOption('ON_SUCCESS');
      await dragConnect(page, 0, 1);
      await expect(page.locator('.react-flow__edge')).toHaveCount(1);
      await expect(page.getByRole('region', { name: 'Connection settings' }).getByLabel('Fires')).toHaveValue('ON_SUCCESS');

      // transform -> load from the step panel, always.
      await page.getByTestId('workflow-step').nth(1).click();
      const panel = page.getByRole('region', { name: 'Step settings' });
      await panel.getByLabel('Connect to').selectOption({ label: 'load' });
      await panel.getByLabel('When').selectOption('ALWAYS');
      await panel.getByRole('button', { name: 'Add connection' }).click();
      await expect(page.locator('.react-flow__edge')).toHaveCount(2);
      await expect(page.locator('.react-flow__edge-text')).toHaveText(['on success', 'always']);

      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await expect(page.getByRole('navigation', { name: 'Workflows' })).toContainText('nightly ETL');
      await expect(page.getByRole('navigation', { name: 'Workflows' })).toContainText('3 steps');

      await page.getByRole('button', { name: 'Run', exact: true }).click();
      const run = page.getByRole('region', { name: 'Run' });
      await expect(run.getByTestId('run-step')).toHaveCount(3);
      await expect(run.getByTestId('run-status')).toHaveText('SUCCESS', { timeout: 45_000 });
      for (const row of await run.getByTestId('run-step').all()) await expect(row).toContainText('SUCCESS');
      // The graph shows the same live states.
      for (const step of await page.getByTestId('workflow-step').all()) await expect(step).toHaveAttribute('data-status', 'SUCCESS');
      await expect(page.getByRole('region', { name: 'Run history' }).getByRole('button')).toHaveCount(1);

      // A step's log opens in the Logs pane.
      await run.getByTestId('run-step').first().getByRole('button', { name: 'Open log' }).click();
      await expect(page.getByRole('heading', { level: 1, name: 'Logs' })).toBeVisible();
      await expect(page.getByText('extracting')).toBeVisible({ timeout: 15_000 });
    });
  });

  test.describe('when the user closes a loop', () => {
    test('is told on the graph which steps form the cycle, and nothing is saved', async ({ page }) => {
      await page.goto(serve!.url);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Workflows', exact: true }).click();
      await page.getByRole('button', { name: 'New workflow' }).first().click();
      await page.getByLabel('Workflow name').fill('loop');
      await addStep(page, 'extract');
      await addStep(page, 'load');
      await dragConnect(page, 0, 1);
      await dragConnect(page, 1, 0);
      await expect(page.locator('.react-flow__edge')).toHaveCount(2);
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await expect(page.getByRole('alert').filter({ hasText: 'extract → load → extract form a cycle' }).first()).toBeVisible();
      await expect(page.getByTestId('workflow-step').first()).toContainText('part of a cycle');
      await expect(page.getByRole('navigation', { name: 'Workflows' })).not.toContainText('loop');
    });
  });
});
