// Serve mode's session in a real browser: the printed token leaves the address bar as soon as the page has read it,
// the session cookie of one serve instance is not accepted by another (browsers send 127.0.0.1 cookies to every
// port), and two browsers subscribed to different live logs each receive only their own lines.
import { expect, test, type Page } from '@playwright/test';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { startSshd, type SshdHandle } from '../harness/sshd';
import { makeDataDir, startServe, type ServeProcess } from './serve-fixture';
import { addTrustedServer, serveRpc } from './server-fixture';

let serve: ServeProcess | undefined;
let second: ServeProcess | undefined;
let sshd: SshdHandle | undefined;
const dataDirs: string[] = [];
const rpc = serveRpc(() => serve);

test.beforeAll(async () => {
  dataDirs.push(makeDataDir(), makeDataDir());
  serve = await startServe(dataDirs[0]!);
  second = await startServe(dataDirs[1]!);
});

test.afterAll(async () => {
  await serve?.stop();
  await second?.stop();
  await sshd?.stop();
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Opens the printed URL and waits for the app (the session page trades the token, then the app loads). */
async function openApp(page: Page, instance: ServeProcess) {
  await page.goto(instance.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible({ timeout: 30_000 });
}

test.describe('serve mode sessions', () => {
  test('the token is gone from the address bar and the history once the page has read it', async ({ page, context }) => {
    await openApp(page, serve!);
    expect(page.url()).toBe(`${serve!.origin}/`);
    expect(page.url()).not.toContain(serve!.token);
    // No history entry holds it either: the entry the URL made was replaced, not pushed after (the tab's history is
    // the blank page it started on, then this page).
    expect(await page.evaluate(() => history.length)).toBe(2);
    await page.goBack();
    expect(page.url()).toBe('about:blank');
    await page.goForward();
    expect(page.url()).toBe(`${serve!.origin}/`);
    await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible({ timeout: 30_000 });
    const cookies = await context.cookies(serve!.origin);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: `cronium_session_${serve!.port}`, httpOnly: true, sameSite: 'Strict' });
    expect(cookies[0]!.value).not.toContain(serve!.token);
    // Reloading works from the session alone.
    await page.reload();
    await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
  });

  test("a second serve instance's cookie is not accepted", async ({ page, context }) => {
    await openApp(page, second!);
    // The browser holds the second instance's cookie and sends it to every port of 127.0.0.1, the first one's too.
    expect((await context.cookies(serve!.origin)).map((c) => c.name)).toEqual([`cronium_session_${second!.port}`]);
    expect((await context.request.get(`${second!.origin}/metrics`)).status()).toBe(200);
    expect((await context.request.get(`${serve!.origin}/metrics`)).status()).toBe(401);

    await page.goto(`${serve!.origin}/`);
    await expect(page.getByText(/needs the access token/)).toBeVisible();
    const opened = await page.evaluate(
      () =>
        new Promise<boolean>((resolve) => {
          const ws = new WebSocket(`ws://${location.host}/rpc`);
          ws.onopen = () => resolve(true);
          ws.onclose = () => resolve(false);
        }),
    );
    expect(opened).toBe(false);
  });

  test('two browsers subscribed to different logs receive only their own lines', async ({ browser }) => {
    test.setTimeout(120_000);
    sshd = await startSshd();
    const server = await addTrustedServer(rpc, sshd, sshd.keyUser, 'e2e-sessions');
    const runId = crypto.randomBytes(6).toString('hex');
    const marker = (name: string) => `/tmp/cronium-e2e-go-${runId}-${name}`;
    const logOf: Record<string, string> = {};
    for (const name of ['alpha', 'bravo']) {
      // Waits for the test to say go (a file), so the lines come only once both browsers are subscribed.
      const content = `while [ ! -e ${marker(name)} ]; do sleep 0.1; done; for i in 1 2 3; do echo "from-${name}-$i"; done`;
      const event = await rpc('events/save', { name: `session-${name}`, scriptType: 'bash', content, timeoutSeconds: 60, serverIds: [server.id], executionMode: 'direct-ssh' });
      const { jobs } = await rpc('events/run', { id: event.id });
      let job = jobs[0];
      await expect.poll(async () => (job = await rpc('jobs/get', { id: job.id })).logId, { timeout: 60_000 }).not.toBeNull();
      logOf[name] = job.logId;
    }

    const pages: Record<string, Page> = {};
    for (const name of ['alpha', 'bravo']) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await openApp(page, serve!);
      // A socket of the page's own (its session cookie, its origin) that records every pushed log batch.
      const subscribed = await page.evaluate(async (logId) => {
        const w = window as unknown as { __logIds: string[]; __texts: string[]; __call: (name: string, input?: unknown) => Promise<any> };
        w.__logIds = [];
        w.__texts = [];
        const ws = new WebSocket(`ws://${location.host}/rpc`);
        await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onclose = reject)));
        const pending = new Map<number, (r: unknown) => void>();
        let nextId = 1;
        ws.onmessage = (ev) => {
          const frame = JSON.parse(String(ev.data));
          if (frame.t === 'result') pending.get(frame.id)?.(frame.result);
          else if (frame.name === 'logs/lines') {
            w.__logIds.push(frame.payload.logId);
            for (const line of frame.payload.lines) w.__texts.push(line.text);
          }
        };
        w.__call = (name, input) =>
          new Promise((resolve) => {
            const id = nextId++;
            pending.set(id, resolve);
            ws.send(JSON.stringify({ t: 'invoke', id, name, input }));
          });
        return (await w.__call('logs/subscribe', { id: logId })).ok;
      }, logOf[name]!);
      expect(subscribed).toBe(true);
      pages[name] = page;
    }

    for (const name of ['alpha', 'bravo']) fs.writeFileSync(marker(name), '');
    try {
      for (const name of ['alpha', 'bravo']) {
        const page = pages[name]!;
        await expect
          .poll(() => page.evaluate(() => (window as unknown as { __texts: string[] }).__texts), { timeout: 60_000 })
          .toEqual(expect.arrayContaining([`from-${name}-1`, `from-${name}-2`, `from-${name}-3`]));
      }
      // Both jobs have ended, so every line is stored and pushed; a round trip on each socket flushes what was queued.
      for (const name of ['alpha', 'bravo']) {
        const jobId = (await rpc('logs/get', { id: logOf[name] })).jobId;
        await expect.poll(async () => (await rpc('jobs/get', { id: jobId })).status, { timeout: 60_000 }).toBe('SUCCESS');
      }
      for (const name of ['alpha', 'bravo']) {
        const page = pages[name]!;
        await page.evaluate(() => (window as unknown as { __call: (n: string) => Promise<unknown> }).__call('system/ping'));
        const got = await page.evaluate(() => {
          const w = window as unknown as { __logIds: string[]; __texts: string[] };
          return { logIds: [...new Set(w.__logIds)], texts: w.__texts };
        });
        expect(got.logIds).toEqual([logOf[name]]);
        const other = name === 'alpha' ? 'bravo' : 'alpha';
        expect(got.texts.filter((t) => t.startsWith(`from-${other}`))).toEqual([]);
      }
    } finally {
      for (const name of ['alpha', 'bravo']) fs.rmSync(marker(name), { force: true });
      for (const page of Object.values(pages)) await page.context().close();
    }
  });
});
