// The migration wizard in a real browser against serve mode, with two real sshd servers: "mig-e2e-open" allows
// forwarding, "mig-e2e-closed" refuses both TCP and Unix-socket forwarding. With direct-ssh marked deprecated, an
// event row warns and links to the wizard; checking changes nothing; the blocked event cannot be ticked and says why;
// a test run goes through a runner; the two ticked events move, the closed one stays; undo puts both back.
// Users k164 (open) and k165 (closed) are this spec's.
import { expect, test } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../harness/sshd';
import { makeDataDir, startServe, type ServeProcess } from './serve-fixture';
import { addTrustedServer, serveRpc } from './server-fixture';

let dataDir: string;
let serve: ServeProcess | undefined;
let openSshd: SshdHandle | undefined;
let closedSshd: SshdHandle | undefined;
let openUser: SshdKeyUser;
let closedUser: SshdKeyUser;
const ids: Record<string, string> = {};

const rpc = serveRpc(() => serve);
const modeOf = async (id: string) => (await rpc('events/get', { id })).executionMode as string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  openSshd = await startSshd({ users: 1, firstUser: 164 });
  closedSshd = await startSshd({ users: 1, firstUser: 165, allowStreamLocalForwarding: false, allowTcpForwarding: false });
  [openUser] = openSshd.extraUsers;
  [closedUser] = closedSshd.extraUsers;
  for (const u of [openUser, closedUser]) fs.rmSync(path.join(u.home, '.cronium'), { recursive: true, force: true });
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
  const open = await addTrustedServer(rpc, openSshd, openUser, 'mig-e2e-open');
  const closed = await addTrustedServer(rpc, closedSshd, closedUser, 'mig-e2e-closed');
  const event = async (name: string, serverId: string, content: string) =>
    (await rpc('events/save', { name, scriptType: 'bash', timeoutSeconds: 60, executionMode: 'direct-ssh', serverIds: [serverId], content })).id as string;
  ids.backup = await event('e2e-backup', open.id, 'echo backing up\n');
  ids.report = await event('e2e-report', open.id, 'cronium_output "{\\"rows\\": 3}"\n');
  ids.closed = await event('e2e-closed', closed.id, 'echo closed\n');
  await rpc('settings/update', { rollout: { directSshDeprecated: true } });
});

test.afterAll(async () => {
  await serve?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  for (const u of [openUser, closedUser]) if (u) fs.rmSync(path.join(u.home, '.cronium'), { recursive: true, force: true });
  await openSshd?.stop();
  await closedSshd?.stop();
});

test.describe('the migration wizard', () => {
  test('moves the consented events, leaves the blocked one with its reason, and undoes the move', async ({ page }) => {
    test.setTimeout(180_000);
    await page.goto(serve!.url);

    // Phase 5: a direct-ssh event warns and links to the wizard.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Events', exact: true }).click();
    const row = page.locator('tr', { hasText: 'e2e-backup' });
    await expect(row.getByText('deprecated')).toBeVisible();
    await row.getByRole('button', { name: 'Move to runner mode' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Runner migration' })).toBeVisible();

    // Checking probes both servers and changes nothing.
    await page.getByRole('button', { name: 'Check events' }).click();
    const table = page.getByRole('table', { name: 'Events in direct-ssh' });
    await expect(table.locator('tr[data-migration-event]')).toHaveCount(3, { timeout: 60_000 });
    const servers = page.getByRole('table', { name: 'Servers checked' });
    await expect(servers.locator('tr[data-target="mig-e2e-closed"]')).toContainText('refused');
    await expect(servers.locator('tr[data-target="mig-e2e-open"]')).toContainText('linux-x64');
    const closedRow = table.locator('tr[data-migration-event="e2e-closed"]');
    await expect(closedRow).toContainText('refuses both TCP and Unix-socket forwarding');
    await expect(closedRow.getByRole('checkbox', { name: 'Move e2e-closed' })).toBeDisabled();
    const reportRow = table.locator('tr[data-migration-event="e2e-report"]');
    await expect(reportRow).toContainText('helpers it calls (cronium_output) are answered live');
    expect([await modeOf(ids.backup), await modeOf(ids.report), await modeOf(ids.closed)]).toEqual(['direct-ssh', 'direct-ssh', 'direct-ssh']);

    // A test run in runner mode first: a real job, the event unchanged.
    await reportRow.getByRole('button', { name: 'Test run in runner mode' }).click();
    await expect(reportRow.getByText('test job started')).toBeVisible({ timeout: 60_000 });
    expect(await modeOf(ids.report)).toBe('direct-ssh');
    // The test run deployed a runner: the Runners pane shows its version and the policy's next step.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Runners', exact: true }).click();
    await expect(page.locator('[data-runner-range]')).toContainText('This app speaks runner protocol 1 and uses runners 1.0.0 or newer');
    const versionRow = page.getByRole('table', { name: 'Runner versions per server' }).locator('tr[data-version-server="mig-e2e-open"]');
    await expect(versionRow).toContainText('1.0.0', { timeout: 60_000 });
    await expect(versionRow).toContainText('up to date');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Migration', exact: true }).click();
    await expect(table.locator('tr[data-migration-event]')).toHaveCount(3);

    // Consent to two; the move button says how many.
    await table.getByRole('checkbox', { name: 'Move e2e-backup' }).check();
    await table.getByRole('checkbox', { name: 'Move e2e-report' }).check();
    await page.getByRole('button', { name: 'Move 2 selected' }).click();
    const moved = page.getByRole('list', { name: 'Moved events' });
    await expect(moved).toContainText('e2e-backup: direct-ssh → auto');
    await expect(moved).toContainText('e2e-report: direct-ssh → auto');
    // The new check lists only the blocked one.
    await expect(table.locator('tr[data-migration-event]')).toHaveCount(1, { timeout: 60_000 });
    await expect(table.locator('tr[data-migration-event="e2e-closed"]')).toBeVisible();
    expect([await modeOf(ids.backup), await modeOf(ids.report), await modeOf(ids.closed)]).toEqual(['auto', 'auto', 'direct-ssh']);

    // Undo puts both back.
    await page.getByRole('list', { name: 'Migration batches' }).getByRole('button', { name: 'Undo this move' }).click();
    const restored = page.getByRole('list', { name: 'Restored events' });
    await expect(restored).toContainText('e2e-backup: back to direct-ssh');
    await expect(restored).toContainText('e2e-report: back to direct-ssh');
    await expect(table.locator('tr[data-migration-event]')).toHaveCount(3, { timeout: 60_000 });
    expect([await modeOf(ids.backup), await modeOf(ids.report), await modeOf(ids.closed)]).toEqual(['direct-ssh', 'direct-ssh', 'direct-ssh']);
    await expect(page.getByRole('list', { name: 'Migration batches' })).toContainText('0 still moved');
  });

  test('with direct-ssh only as fallback, a manual direct run needs the explicit choice; phase 2 off, new events start direct', async ({ page }) => {
    await rpc('settings/update', { rollout: { directSshFallbackOnly: true } });
    // The contract refuses a direct run without the choice, saying what to do.
    await expect(rpc('events/run', { id: ids.backup })).rejects.toThrow(/only a fallback now.*run direct-ssh anyway/);

    await page.goto(serve!.url);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Events', exact: true }).click();
    await page.getByRole('button', { name: 'e2e-backup' }).first().click();
    const details = page.getByRole('article', { name: 'Event e2e-backup' });
    await details.getByRole('button', { name: 'Run now' }).click();
    const dialog = page.getByRole('dialog', { name: 'Run e2e-backup over direct SSH?' });
    await expect(dialog).toContainText('Direct SSH is only a fallback now');
    await dialog.getByRole('button', { name: 'Run direct-ssh anyway' }).click();
    await expect(page.getByText('Started 1 job.')).toBeVisible();
    const jobs = await rpc('jobs/list', { eventId: ids.backup });
    const job = (jobs.items ?? jobs).find((j: { requestedMode: string }) => j.requestedMode === 'direct-ssh');
    expect(job).toBeDefined();

    // Phase 2 turned off: a new event starts in direct-ssh (on, as installed, it starts in auto).
    await rpc('settings/update', { rollout: { newEventsUseRunner: false } });
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Events', exact: true }).click();
    // The rollout status has arrived once the deprecation badge shows.
    await expect(page.locator('tr', { hasText: 'e2e-backup' }).getByText('deprecated')).toBeVisible();
    await page.getByRole('button', { name: 'New event' }).first().click();
    await expect(page.getByRole('form', { name: 'New event' }).getByLabel('Execution mode')).toHaveValue('direct-ssh');
  });
});
