// Runner streaming in a real browser against serve mode: an event in runner-ssh mode on a server that lives in its own
// network namespace (tests/harness/netns.ts, real sshd). The user runs it and watches the log stream; the test cuts
// the server's link (veth down) and the log shows PARTIAL with its note; the link comes back, the app re-attaches,
// the log streams again and ends SUCCESS with every line exactly once. No test hook is needed: the cut is real.
import { expect, test } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { createHost, type NetHost } from '../harness/netns';
import type { SshdHandle, SshdKeyUser } from '../harness/sshd';
import { makeDataDir, startServe, type ServeProcess } from './serve-fixture';
import { addTrustedServer, serveRpc } from './server-fixture';

let dataDir: string;
let serve: ServeProcess | undefined;
let host: NetHost | undefined;
let sshd: SshdHandle;
let user: SshdKeyUser;
let eventName: string;
const N = 400;

const rpc = serveRpc(() => serve);

test.beforeAll(async () => {
  test.setTimeout(120_000);
  host = await createHost('e2erun', 233);
  sshd = await host.startSshd({ users: 28 });
  user = sshd.extraUsers[27];
  fs.rmSync(path.join(user.home, '.cronium'), { recursive: true, force: true });
  dataDir = makeDataDir();
  serve = await startServe(dataDir);
  const server = await addTrustedServer(rpc, sshd, user, 'e2e-runner-netns');
  eventName = 'runner-stream-e2e';
  await rpc('events/save', {
    name: eventName, scriptType: 'bash', timeoutSeconds: 300, executionMode: 'runner-ssh', serverIds: [server.id],
    content: `for i in $(seq 1 ${N}); do echo "line-$i"; sleep 0.06; done\n`,
  });
  // Deploy the runner first, so the run below starts at once.
  await rpc('runners/deploy', { serverId: server.id });
});

test.afterAll(async () => {
  await serve?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  if (user) fs.rmSync(path.join(user.home, '.cronium'), { recursive: true, force: true });
  await host?.destroy();
});

test.describe('runner-ssh streaming', () => {
  test.describe('when the server link is cut while a runner job streams, then restored', () => {
    test('shows STREAMING, then the PARTIAL indicator, then the complete log', async ({ page }) => {
      test.setTimeout(180_000);
      await page.goto(serve!.url);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Events', exact: true }).click();
      await page.getByRole('button', { name: eventName }).first().click();
      const details = page.getByRole('article', { name: `Event ${eventName}` });
      await details.getByRole('button', { name: 'Run now' }).click();

      const header = details.getByRole('region', { name: 'Log summary' });
      const viewer = details.getByRole('log', { name: 'Log output' });
      await expect(header).toHaveAttribute('data-status', 'STREAMING', { timeout: 60_000 });
      await expect(header.getByText('streaming from the runner')).toBeVisible();
      await expect(viewer.locator('.log-text', { hasText: /^line-30$/ })).toBeVisible({ timeout: 30_000 });

      await host!.cutLink();
      try {
        await expect(header).toHaveAttribute('data-status', 'PARTIAL', { timeout: 30_000 });
        await expect(header.getByText(/^partial: link lost at \d\d:\d\d:\d\d, reconnecting/)).toBeVisible();
        await expect(viewer.locator('.log-row[data-stream="system"]', { hasText: /link lost at/ })).toBeVisible();
      } finally {
        await host!.restoreLink();
      }
      await expect(header).toHaveAttribute('data-status', 'STREAMING', { timeout: 60_000 });
      await expect(header).toHaveAttribute('data-status', 'SUCCESS', { timeout: 90_000 });
      await expect(viewer.locator('.log-text', { hasText: new RegExp(`^line-${N}$`) })).toBeVisible();

      // Exactly the script's output, each line once, read back through the same contract the renderer uses.
      const logs = await rpc('logs/list', { limit: 5 });
      const log = logs.items.find((l: { eventName: string }) => l.eventName === eventName);
      const page1 = await rpc('logs/lines', { id: log.id, afterSeq: 0, limit: 20000 });
      const stdout = page1.lines.filter((l: { stream: string }) => l.stream === 'stdout').map((l: { text: string }) => l.text);
      expect(stdout).toEqual(Array.from({ length: N }, (_, i) => `line-${i + 1}`));
    });
  });
});
