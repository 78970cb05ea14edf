import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import WebSocket from 'ws';
const dataDir = fs.mkdtempSync('/tmp/ux16/data-');
const child = spawn(process.execPath, ['dist/main/serve.cjs', '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
const url = await new Promise((res) => child.stdout.on('data', (c) => { out += c; const l = out.split('\n').find((x) => x.startsWith('Cronium Desktop (serve mode) ready:')); if (l) res(l.split('ready:')[1].trim()); }));
const u = new URL(url); const token = new URLSearchParams(u.hash.slice(1)).get('token');
const rpc = (name, input) => new Promise((resolve, reject) => { const ws = new WebSocket(`ws://127.0.0.1:${u.port}/rpc`, { origin: u.origin, headers: { authorization: `Bearer ${token}` } }); ws.once('open', () => ws.send(JSON.stringify({ t: 'invoke', id: 1, name, input }))); ws.on('message', (d) => { const f = JSON.parse(String(d)); if (f.t !== 'result') return; ws.close(); f.result.ok ? resolve(f.result.value) : reject(new Error(f.result.error.message)); }); });
const server = await rpc('servers/save', { name: 'web-1', host: '127.0.0.1', port: 2222, username: 'x', authType: 'key', privateKey: fs.readFileSync('/tmp/ux16/k', 'utf8') });
const ev = {};
for (const n of ['extract', 'transform', 'notify']) ev[n] = (await rpc('events/save', { name: n, scriptType: 'bash', content: 'echo hi', timeoutSeconds: 60, serverIds: [server.id], executionMode: 'direct-ssh' })).id;
const node = (id, e) => ({ id, eventId: ev[e], label: e });
await rpc('workflows/save', { name: 'nightly ETL', nodes: [node('a', 'extract'), node('b', 'transform'), node('c', 'notify')], edges: [{ id: 'e1', source: 'a', target: 'b', kind: 'ON_SUCCESS' }, { id: 'e2', source: 'b', target: 'c', kind: 'ALWAYS' }, { id: 'e3', source: 'a', target: 'c', kind: 'ON_FAILURE' }] });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: Number(process.env.W ?? 1920), height: Number(process.env.H ?? 1080) } });
page.on('console', (m) => console.log('console', m.type(), m.text().slice(0, 300)));
page.on('pageerror', (e) => console.log('pageerror', e.message));
await page.goto(url);
await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Workflows', exact: true }).click();
await page.getByRole('navigation', { name: 'Workflows' }).getByRole('button', { name: /nightly/ }).click();
for (let i = 0; i < 10; i++) {
  await page.waitForTimeout(500);
  console.log(i, await page.locator('.wf-canvas').getAttribute('data-laid-out'), await page.locator('.react-flow__edge').count(), await page.locator('.react-flow__edge-text').count());
}
await page.screenshot({ path: '/tmp/ux16/debug.png' });
await browser.close(); child.kill();
