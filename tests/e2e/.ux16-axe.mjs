import { chromium } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import WebSocket from 'ws';
const dataDir = fs.mkdtempSync('/tmp/ux16/data-');
const child = spawn(process.execPath, ['/tmp/ux16/root/dist/main/serve.cjs', '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
child.stderr.on('data', (c) => { out += c; });
const url = await new Promise((res) => child.stdout.on('data', (c) => { out += c; const l = out.split('\n').find((x) => x.startsWith('Cronium Desktop (serve mode) ready:')); if (l) res(l.split('ready:')[1].trim()); }));
const u = new URL(url); const token = new URLSearchParams(u.hash.slice(1)).get('token');
const rpc = (name, input) => new Promise((resolve, reject) => { const ws = new WebSocket(`ws://127.0.0.1:${u.port}/rpc`, { origin: u.origin, headers: { authorization: `Bearer ${token}` } }); ws.once('open', () => ws.send(JSON.stringify({ t: 'invoke', id: 1, name, input }))); ws.on('message', (d) => { const f = JSON.parse(String(d)); if (f.t !== 'result') return; ws.close(); f.result.ok ? resolve(f.result.value) : reject(new Error(f.result.error.message)); }); });
const server = await rpc('servers/save', { name: 'web-1', host: '127.0.0.1', port: 2222, username: 'x', authType: 'key', privateKey: fs.readFileSync('/tmp/ux16/k', 'utf8') });
const ev = {};
for (const n of ['extract', 'transform', 'notify']) ev[n] = (await rpc('events/save', { name: n, scriptType: 'bash', content: 'echo hi', timeoutSeconds: 60, serverIds: [server.id], executionMode: 'direct-ssh' })).id;
const node = (id, e) => ({ id, eventId: ev[e], label: e });
await rpc('workflows/save', { name: 'nightly ETL', nodes: [node('a', 'extract'), node('b', 'transform'), node('c', 'notify')], edges: [{ id: 'e1', source: 'a', target: 'b', kind: 'ON_SUCCESS' }, { id: 'e2', source: 'b', target: 'c', kind: 'ALWAYS' }, { id: 'e3', source: 'a', target: 'c', kind: 'ON_FAILURE' }] });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
for (const vp of [{ width: 1920, height: 1080 }, { width: 800, height: 600 }]) {
  const ctx = await browser.newContext({ viewport: vp }); const page = await ctx.newPage();
  await page.goto(url);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button').first().waitFor();
  await page.waitForTimeout(500);
  const n = await page.getByRole('navigation', { name: 'Main' }).getByRole('button').count();
  for (let i = 0; i < n; i++) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button').nth(i).click();
    await page.waitForTimeout(700);
    const title = await page.locator('main h1').first().textContent().catch(() => '?');
    if (title === 'Workflows') { await page.getByRole('navigation', { name: 'Workflows' }).getByRole('button').first().click(); await page.waitForTimeout(1000); }
    const clip = await page.evaluate(() => { const out = []; const d = document.scrollingElement; if (d.scrollWidth > innerWidth + 1) out.push('page ' + d.scrollWidth); const m = document.querySelector('main'); if (m.scrollWidth > m.clientWidth + 1) { const right = m.getBoundingClientRect().right; const c = [...m.querySelectorAll('*')].find((el) => { const r = el.getBoundingClientRect(); if (r.right <= right + 1 || r.width === 0) return false; for (let p = el.parentElement; p && p !== m; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if (o !== 'visible') return false; } return true; }); out.push('main ' + m.scrollWidth + '/' + m.clientWidth + ' ' + (c ? c.tagName + '.' + c.className : '')); } return out; });
    if (clip.length) console.log('CLIP', vp.width, title, clip.join(' | '));
    await page.screenshot({ path: `/tmp/ux16/shot-${vp.width}-${i}.png` });
    const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
    for (const v of r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) console.log(vp.width, title, v.id, v.impact, v.nodes.length, v.nodes.slice(0, 4).map((x) => x.target.join(' ') + ' :: ' + (x.failureSummary ?? '').split('\n').slice(1, 2).join('')).join(' || '));
  }
  await page.close();
}
await browser.close(); child.kill();
