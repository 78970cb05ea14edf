// The change list's payload, helper and log-stream routes on the real listener, with real tokens: payload generate
// and download (the archive is the registered one), helper shims download, the helper variables route, a live log
// stream that replays stored lines then follows the runner job to its end, and lines posted over HTTP
// (POST /api/logs/:logId/partial) going through the same duplicate rules. Every route refuses requests without a
// token, and a runner token opens none of them (automation only).
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCore } from '../../harness/test-core';
import { FIRST_USER, saveEvent, start, startRunnerSuite, stdoutOf, waitFor, type RunnerSuite } from './runner-exec-fixtures';

let suite: RunnerSuite;
let tc: TestCore;
let serverId: string;
let automation: string;

beforeAll(async () => {
  suite = await startRunnerSuite({ userIndex: FIRST_USER + 6, serverName: 'runner-routes' });
  ({ tc, serverId } = suite);
  automation = await tc.core.listenerAuth.mintToken({ aud: 'automation', sub: 'route-test' }, 300);
}, 120_000);

afterAll(async () => {
  await suite?.stop();
});

const url = (p: string) => `http://127.0.0.1:${tc.core.listener.port}${p}`;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('the streaming routes of the local listener', () => {
  describe('when automation generates and downloads a payload', () => {
    it('returns the registered, signed archive; without a token it is refused', async () => {
      const event = await saveEvent(tc.core, serverId, { scriptType: 'bash', content: 'echo payload-route\n' });
      expect((await fetch(url('/api/payloads/generate'), { method: 'POST', body: JSON.stringify({ eventId: event.id }), headers: { 'content-type': 'application/json' } })).status).toBe(401);
      const res = await fetch(url('/api/payloads/generate'), { method: 'POST', body: JSON.stringify({ eventId: event.id }), headers: { 'content-type': 'application/json', ...bearer(automation) } });
      expect(res.status).toBe(200);
      const p = (await res.json()) as { id: string; checksum: string; eventVersion: number };
      expect(p.eventVersion).toBe(event.version);
      const dl = await fetch(url(`/api/payloads/${p.id}/download`), { headers: bearer(automation) });
      expect(dl.status).toBe(200);
      const bytes = Buffer.from(await dl.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.checksum);
      expect(dl.headers.get('x-payload-checksum')).toBe(p.checksum);
      expect((await fetch(url(`/api/payloads/${p.id}/download`))).status).toBe(401);
    });
  });

  describe('when a helper shim is downloaded', () => {
    it('serves bash, python and node shims of format 1 only', async () => {
      const py = await fetch(url('/api/helpers/download/python/1'), { headers: bearer(automation) });
      expect(py.status).toBe(200);
      expect(await py.text()).toMatch(/def getVariable\(key\)/);
      expect((await fetch(url('/api/helpers/download/ruby/1'), { headers: bearer(automation) })).status).toBe(404);
      expect((await fetch(url('/api/helpers/download/bash/9'), { headers: bearer(automation) })).status).toBe(404);
    });
  });

  describe('when a live log stream is opened on a runner job, and lines are posted over HTTP', () => {
    it('replays stored lines, follows live lines to the end, and applies the duplicate rules to posted lines', async () => {
      const N = 2000;
      const event = await saveEvent(tc.core, serverId, {
        scriptType: 'bash',
        content: `for i in $(seq 1 ${N}); do echo "line $i"; if [ $((i % 200)) -eq 0 ]; then sleep 0.2; fi; done\n`,
      });
      const job = await start(tc.core, event.id);
      const logId = await waitFor('the log', async () => (await tc.core.jobs.get(job.id)).logId);
      await waitFor('streamed lines', async () => (await tc.core.logs.store.get(logId)).lastSequence >= 10, 60_000);

      // The helper variables route: automation only. The job's own runner token (which a local user squatting an old
      // tunnel port could overhear) opens no HTTP route; the runner's helper calls go over the proven WebSocket.
      const jobToken = await tc.core.listenerAuth.mintToken({ aud: 'runner', sub: job.id, jobId: job.id, serverId }, 60);
      const setVar = (t: string) =>
        fetch(url(`/api/helpers/variables/${job.id}`), { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(t) }, body: JSON.stringify({ op: 'set', key: 'route-var', value: 'v1' }) });
      expect((await setVar(jobToken)).status).toBe(401);
      await expect(tc.core.variables.get('route-var', { eventId: event.id })).resolves.toBeNull();
      expect((await setVar(automation)).status).toBe(200);
      const got = await fetch(url(`/api/helpers/variables/${job.id}`), { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(automation) }, body: JSON.stringify({ op: 'get', key: 'route-var' }) });
      expect(await got.json()).toEqual({ key: 'route-var', value: 'v1' });
      expect((await fetch(url('/api/helpers/download/bash/1'), { headers: bearer(jobToken) })).status).toBe(401);

      // Posted lines the log already has are duplicates: nothing changes.
      const posted = await fetch(url(`/api/logs/${logId}/partial`), {
        method: 'POST', headers: { 'content-type': 'application/json', ...bearer(automation) },
        body: JSON.stringify({ lines: [{ seq: 1, stream: 'stdout', ts: new Date().toISOString(), text: 'line 1' }] }),
      });
      expect(posted.status).toBe(200);
      expect(await posted.json()).toMatchObject({ accepted: 0, duplicates: 1 });
      expect((await fetch(url(`/api/logs/${logId}/partial`), { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(jobToken) }, body: '{"lines":[]}' })).status).toBe(401);

      const seen: string[] = [];
      const statuses: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${tc.core.listener.port}/api/logs/stream/${logId}`, { headers: bearer(automation) });
        ws.on('message', (d) => {
          const f = JSON.parse(String(d));
          if (f.type === 'lines') for (const l of f.lines) if (l.stream === 'stdout') seen.push(l.text);
          if (f.type === 'status') statuses.push(f.status);
        });
        ws.on('close', () => resolve());
        ws.on('error', reject);
      });
      expect(seen).toEqual(Array.from({ length: N }, (_, i) => `line ${i + 1}`));
      expect(statuses[0]).toBe('STREAMING');
      expect(statuses.at(-1)).toBe('SUCCESS');
      expect(await stdoutOf(tc.core, logId)).toEqual(seen);

      const refused = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${tc.core.listener.port}/api/logs/stream/${logId}`, { headers: bearer(jobToken) });
        ws.on('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => undefined);
      });
      expect(refused).toBe(401);
    }, 120_000);
  });
});
