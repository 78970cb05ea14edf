// What the UX specs (workflow graph, layout at 800x600 and 1920x1080, accessibility) share: a seeded serve mode (a
// trusted server on a real sshd, a few events, three workflows run to their end: one that succeeds, one whose failure
// is handled by an ON_FAILURE connection, one whose failure nothing handles), the two window sizes, screenshots into
// the test output (and into docs/ when CRONIUM_UPDATE_SCREENSHOTS=1), and ways to reach panes through the sidebar.
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { startSshd, type SshdHandle } from '../harness/sshd';
import { makeDataDir, REPO_ROOT, startServe, type ServeProcess } from './serve-fixture';
import { addTrustedServer, serveRpc, type Rpc } from './server-fixture';

export const VIEWPORTS = {
  small: { width: 800, height: 600 },
  large: { width: 1920, height: 1080 },
} as const;

export interface Seeded {
  serverId: string;
  events: Record<string, string>;
  workflows: { handled: string; failing: string; clean: string };
  runs: { handled: string; failing: string; clean: string };
}

async function runToEnd(rpc: Rpc, workflowId: string): Promise<string> {
  const run = await rpc('workflows/run', { id: workflowId });
  for (;;) {
    const detail = await rpc('workflows/runDetail', { runId: run.id });
    if (detail.status !== 'RUNNING') return run.id;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Three steps where a naive top-to-bottom stack would draw extract -> notify straight through transform. */
export async function seed(rpc: Rpc, sshd: SshdHandle): Promise<Seeded> {
  const server = await addTrustedServer(rpc, sshd, sshd.keyUser, 'web-1');
  const events: Record<string, string> = {};
  for (const [name, content] of [
    ['extract', 'echo extracting; exit 3'],
    ['transform', 'echo transforming'],
    ['notify', 'echo notifying the team'],
    ['report', 'echo report ready'],
  ] as const) {
    const ev = await rpc('events/save', { name, scriptType: 'bash', content, timeoutSeconds: 60, serverIds: [server.id], executionMode: 'direct-ssh' });
    events[name] = ev.id;
  }
  const node = (id: string, event: string) => ({ id, eventId: events[event], label: event });
  const handled = await rpc('workflows/save', {
    name: 'nightly ETL',
    nodes: [node('n-extract', 'extract'), node('n-transform', 'transform'), node('n-notify', 'notify')],
    edges: [
      { id: 'e-1', source: 'n-extract', target: 'n-transform', kind: 'ON_SUCCESS' },
      { id: 'e-2', source: 'n-transform', target: 'n-notify', kind: 'ALWAYS' },
      { id: 'e-3', source: 'n-extract', target: 'n-notify', kind: 'ON_FAILURE' },
    ],
  });
  const failing = await rpc('workflows/save', {
    name: 'fragile import',
    nodes: [node('f-extract', 'extract'), node('f-transform', 'transform')],
    edges: [{ id: 'f-1', source: 'f-extract', target: 'f-transform', kind: 'ON_SUCCESS' }],
  });
  const clean = await rpc('workflows/save', {
    name: 'daily report',
    nodes: [node('c-transform', 'transform'), node('c-report', 'report')],
    edges: [{ id: 'c-1', source: 'c-transform', target: 'c-report', kind: 'ON_SUCCESS' }],
  });
  return {
    serverId: server.id,
    events,
    workflows: { handled: handled.id, failing: failing.id, clean: clean.id },
    runs: { handled: await runToEnd(rpc, handled.id), failing: await runToEnd(rpc, failing.id), clean: await runToEnd(rpc, clean.id) },
  };
}

/**
 * For a spec file: before its tests a real sshd and a serve mode on a fresh data folder, seeded (seed() above); after
 * them both stopped and the folder removed. `url()` is the serve's address, for openApp.
 */
export function useSeededServe(): { url: () => string } {
  let dataDir: string | undefined;
  let serve: ServeProcess | undefined;
  let sshd: SshdHandle | undefined;
  const rpc = serveRpc(() => serve);

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    sshd = await startSshd();
    dataDir = makeDataDir();
    serve = await startServe(dataDir);
    await seed(rpc, sshd);
  });

  test.afterAll(async () => {
    await serve?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    await sshd?.stop();
  });

  return { url: () => serve!.url };
}

/** Saves a full-page screenshot into the test's output and attaches it; with CRONIUM_UPDATE_SCREENSHOTS=1 also to docs/. */
export async function shot(page: Page, testInfo: TestInfo, name: string, docsName?: string): Promise<void> {
  const file = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
  if (docsName && process.env.CRONIUM_UPDATE_SCREENSHOTS === '1') fs.copyFileSync(file, path.join(REPO_ROOT, 'docs', docsName));
}

/** Opens the app and waits until it is ready (the token exchange may reload the page once). */
export async function openApp(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('button').first()).toBeVisible();
  await expect(page.locator('main h1').first()).toBeVisible();
}

/**
 * How many panes the sidebar lists right now (so panes added later are covered without editing the specs). Panes are
 * then opened by position, since a button's name may carry more than the pane's title (an unread count).
 */
export async function sidebarPaneCount(page: Page): Promise<number> {
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('button').first()).toBeVisible();
  return nav.getByRole('button').count();
}

/** Opens the sidebar's n-th pane and returns its title (its h1). */
export async function openPaneAt(page: Page, index: number): Promise<string> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button').nth(index).click();
  const h1 = page.locator('main h1').first();
  await expect(h1).toBeVisible();
  return ((await h1.textContent()) ?? '').trim();
}

export async function openPane(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
}
