// Issue 13 item 6 end to end: a 5,000,000-line log (written by the LogStore into serve mode's SQLite file before it
// starts, in compressed blocks as a finished job would leave them; generating them through a real job takes ~45 s) opens in the real
// viewer, and "go to line", "Jump to latest" and End reach its last line past the browser's element-height limit
// (1,677,762 rows of 20 px). ANSI colours are kept and timestamps can be shown. The same data shows the Variables
// view's "set by job" column (issue 12 item 4).
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../src-main/core/db/database';
import { EventBus } from '../../src-main/core/event-bus';
import { LogStore } from '../../src-main/core/logs/log-store';
import { makeDataDir, REPO_ROOT, startServe, type ServeProcess } from './serve-fixture';

const LINES = 5_000_000;
let serve: ServeProcess | undefined;
let dataDir: string;

test.describe.configure({ mode: 'serial' });

/** A finished job with one log of LINES lines; the last is green. */
function seedLongLog(dir: string): void {
  const db = openDatabase(path.join(dir, 'cronium.sqlite'), path.join(REPO_ROOT, 'migrations'));
  try {
    const at = '2026-01-01T00:00:00.000Z';
    db.sqlite.prepare(`INSERT INTO jobs (id, status, trigger, created_at, started_at, finished_at, updated_at) VALUES ('job-long', 'SUCCESS', 'manual', ?, ?, ?, ?)`).run(at, at, at, at);
    // Counters start at 0: the LogStore below writes them with the lines.
    db.sqlite
      .prepare(`INSERT INTO logs (id, job_id, status, line_count, last_sequence, byte_count, exit_code, started_at, finished_at, created_at, updated_at) VALUES ('log-long', 'job-long', 'SUCCESS', 0, 0, 0, 0, ?, ?, ?, ?)`)
      .run(at, at, at, at);
    db.sqlite
      .prepare(`INSERT INTO variables (id, scope, key, value, secret_ref, updated_at, set_by_job_id) VALUES ('var-1', 'global', 'greeting', 'hello', NULL, ?, 'job-long')`)
      .run(at);
    // Written by the app's own LogStore, in its compressed blocks, as a job's output would be.
    const store = new LogStore(db, new EventBus());
    for (let seq = 1; seq <= LINES; seq++) {
      store.append('log-long', { seq, stream: 'stdout', ts: at, text: seq === LINES ? `\u001b[32mthe last line ${seq}\u001b[0m` : `line ${seq}` });
    }
    store.close();
  } finally {
    void db.close();
  }
}

test.beforeAll(async () => {
  test.setTimeout(240_000);
  dataDir = makeDataDir();
  seedLongLog(dataDir);
  serve = await startServe(dataDir);
});

test.afterAll(async () => {
  await serve?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });
}

function row(page: Page, seq: number) {
  return page.getByRole('log', { name: 'Log output' }).locator(`.log-row[data-seq="${seq}"]`);
}

async function goToLine(page: Page, seq: number): Promise<void> {
  await page.getByLabel('Go to line').fill(String(seq));
  await page.getByRole('button', { name: 'Go', exact: true }).click();
}

test.describe('a log of 5,000,000 lines', () => {
  test('reaches its last line by line number, by "Jump to latest" and by End, in colour', async ({ page }) => {
    await page.goto(serve!.url);
    await nav(page, 'Logs').click();
    const entry = page.getByRole('table', { name: 'Logs' }).getByRole('row').filter({ hasText: 'Deleted event' });
    await entry.getByRole('button', { name: 'Deleted event' }).click();
    await expect(page.getByText(`${LINES.toLocaleString()} lines`)).toBeVisible({ timeout: 20_000 });

    await goToLine(page, 1);
    await expect(row(page, 1)).toHaveText(/line 1$/);
    await expect(row(page, LINES)).toHaveCount(0);

    // Past the line where a one-row-per-20-px canvas stops (1,677,762), and the very last one.
    await goToLine(page, 4_321_000);
    await expect(row(page, 4_321_000)).toBeVisible();
    await expect(row(page, 4_321_000)).toHaveText(/line 4321000$/);
    // One scroll pixel is 10 rows here; the wheel still moves by a few rows (not ~800), so the line stays in view.
    await page.getByRole('log', { name: 'Log output' }).hover();
    await page.mouse.wheel(0, 80);
    await expect(row(page, 4_321_000 + 4)).toBeVisible();
    await expect(row(page, 4_321_000)).toBeVisible();

    await goToLine(page, LINES);
    const last = row(page, LINES);
    await expect(last).toBeVisible();
    await expect(last).toHaveText(/the last line 5000000$/);
    await expect(last.locator('.ansi-green-fg')).toHaveText('the last line 5000000');

    // From the top again, "Jump to latest" and the End key both end at the last line.
    await goToLine(page, 1);
    await expect(row(page, 1)).toBeVisible();
    await page.getByRole('button', { name: /Jump to latest/ }).click();
    await expect(row(page, LINES)).toBeVisible();
    await goToLine(page, 2);
    await expect(row(page, 2)).toBeVisible();
    await page.getByRole('log', { name: 'Log output' }).focus();
    await page.keyboard.press('End');
    await expect(row(page, LINES)).toBeVisible();

    await page.getByLabel('Timestamps').check();
    await expect(row(page, LINES).locator('.log-ts')).toHaveText('2026-01-01T00:00:00.000Z');
  });
});

test.describe('the Variables view', () => {
  test('lists a variable with the job that set it, and opens that job\'s log', async ({ page }) => {
    await page.goto(serve!.url);
    await nav(page, 'Variables').click();
    const entry = page.getByRole('table', { name: 'Variables' }).locator('tr[data-variable="greeting"]');
    await expect(entry).toContainText('hello');
    await expect(entry).toContainText('global');
    await entry.getByRole('button', { name: 'job-long' }).click();
    await expect(page.getByText(`${LINES.toLocaleString()} lines`)).toBeVisible({ timeout: 20_000 });
  });
});
