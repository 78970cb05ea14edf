// Alerts end to end: real jobs on a real sshd (user cronium-k170) raise alerts that a real core delivers to a local
// HTTP sink and a local SMTP server (smtp-server); a flapping job is held to the rule's limits; endpoints that answer
// 500, never answer, or show a self-signed certificate are retried and then shown failed with the reason, while the
// jobs go on. Retry delays and the attempt timeout are shortened through CoreConfig.alertDelivery.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../../src-main/core/core';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { EventInput } from '../../../src-shared/contract/events';
import type { AlertRuleInput } from '../../../src-shared/contract/alerts';
import { startSshd, type SshdHandle } from '../../harness/sshd';
import { MIGRATIONS_DIR, RESOURCES_DIR } from '../../harness/test-core';
import { startHttpSink, startSelfSignedHttpsSink, startSmtpSink, type HttpSink, type SmtpSink } from './alert-sinks';

const SMTP_PASSWORD = 'smtp-pass-7f3a9c';
const ATTEMPTS = 3;

let sshd: SshdHandle;
let core: Core;
let dataDir: string;
let serverId: string;
let secrets: MemorySecretStore;
let sink: HttpSink;
let tlsSink: HttpSink;
let smtp: SmtpSink;

beforeAll(async () => {
  sshd = await startSshd({ users: 1, firstUser: 170 });
  [sink, tlsSink, smtp] = await Promise.all([startHttpSink(), startSelfSignedHttpsSink(), startSmtpSink()]);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-alerts-'));
  secrets = new MemorySecretStore();
  core = await createCore(
    {
      dataDir, migrationsDir: MIGRATIONS_DIR, resourcesDir: RESOURCES_DIR, mode: 'serve', appVersion: '0.0.0-test', env: {},
      alertDelivery: { maxAttempts: ATTEMPTS, retryDelaysMs: [20, 40], attemptTimeoutMs: 400 },
    },
    { secrets },
  );
  await core.alerts.start();
  const user = sshd.extraUsers[0]!;
  const server = await core.servers.save({
    name: 'alerts-host', host: sshd.host, port: sshd.port, username: user.username, authType: 'key', privateKey: user.privateKey,
    tags: [], maxConcurrentJobs: 2, agentForwarding: false, jumpServerIds: [],
  });
  await core.servers.trustHostKey(server.id, sshd.hostKeyFingerprint, false);
  serverId = server.id;
}, 60_000);

afterAll(async () => {
  await core?.stop();
  await Promise.all([sink?.close(), tlsSink?.close(), smtp?.close()]);
  await sshd?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function saveEvent(name: string, content: string) {
  return core.events.save(EventInput.parse({ name, scriptType: 'bash', content, timeoutSeconds: 60, executionMode: 'direct-ssh', serverIds: [serverId] }));
}

async function run(eventId: string) {
  const [job] = await core.jobs.runEvent({ eventId, trigger: 'manual' });
  return core.jobs.waitForJob(job!.id);
}

function webhookRule(name: string, eventId: string, url: string, extra: Partial<AlertRuleInput> = {}, format: 'json' | 'slack' | 'teams' = 'json'): AlertRuleInput {
  return { name, subjectKind: 'event', subjectId: eventId, triggers: ['failure'], channel: { kind: 'webhook', config: { format }, secret: url }, ...extra };
}

function mailRule(name: string, eventId: string, extra: Partial<AlertRuleInput> = {}): AlertRuleInput {
  return {
    name, subjectKind: 'event', subjectId: eventId, triggers: ['failure'],
    channel: { kind: 'email', config: { host: '127.0.0.1', port: smtp.port, security: 'none', username: 'alerts', from: 'cronium@example.test', to: ['ops@example.test'] }, secret: SMTP_PASSWORD },
    ...extra,
  };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('alerts', () => {
  describe('when a job fails', () => {
    it('delivers one webhook to the HTTP sink and one mail to the SMTP sink', async () => {
      const ev = await saveEvent('nightly-backup', 'echo copying\nexit 3');
      const hook = await core.alerts.saveRule(webhookRule('backup to chat', ev.id, sink.url('/ok/backup?token=s3cr3t')));
      await core.alerts.saveRule(mailRule('backup to ops mail', ev.id));
      expect(hook.hasSecret).toBe(true);
      expect(hook.target).toBe(`http://127.0.0.1:${sink.url('').split(':')[2]}/…`);

      const job = await run(ev.id);
      expect(job.status).toBe('FAILURE');
      await core.alerts.idle();

      const hooks = sink.on('/ok/backup');
      expect(hooks).toHaveLength(1);
      const body = hooks[0]!.body as Record<string, unknown>;
      expect(body).toMatchObject({ version: 1, trigger: 'failure', status: 'FAILURE', jobId: job.id, serverName: 'alerts-host', ruleName: 'backup to chat' });
      expect(body.subject).toEqual({ kind: 'event', id: ev.id, name: 'nightly-backup' });
      expect(String(body.summary)).toContain('nightly-backup failed on alerts-host');

      expect(smtp.mails).toHaveLength(1);
      expect(smtp.mails[0]!.to).toEqual(['ops@example.test']);
      expect(smtp.mails[0]!.raw).toContain('Subject: [Cronium] nightly-backup failed on alerts-host');
      expect(smtp.logins).toEqual([{ username: 'alerts', password: SMTP_PASSWORD }]);

      const history = await core.alerts.history();
      const mine = history.filter((d) => d.subjectId === ev.id);
      expect(mine.map((d) => [d.ruleName, d.status, d.attempts.length, d.attempts[0]!.ok])).toEqual(
        expect.arrayContaining([
          ['backup to chat', 'delivered', 1, true],
          ['backup to ops mail', 'delivered', 1, true],
        ]),
      );
    });

    it('keeps channel secrets in the keychain only, never in the database or a view', async () => {
      const rules = await core.alerts.listRules();
      expect(JSON.stringify(rules)).not.toContain(SMTP_PASSWORD);
      expect(JSON.stringify(rules)).not.toContain('s3cr3t');
      core.db.sqlite.pragma('wal_checkpoint(TRUNCATE)');
      const file = fs.readFileSync(path.join(dataDir, 'cronium.sqlite'));
      expect(file.includes(SMTP_PASSWORD)).toBe(false);
      expect(file.includes('s3cr3t')).toBe(false);
      const stored = await Promise.all(rules.map((r) => secrets.get(`alert:${r.id}:channel-secret`)));
      expect(stored).toEqual(expect.arrayContaining([SMTP_PASSWORD, sink.url('/ok/backup?token=s3cr3t')]));
    });
  });

  describe('when a job flaps 10 times in a row', () => {
    it('delivers no more than each rule allows and counts the rest', async () => {
      const marker = `.cronium-flap-${Date.now()}`;
      // Fails, succeeds, fails, ... : five failures and five recoveries.
      const ev = await saveEvent('flapping-sync', `if [ -e "$HOME/${marker}" ]; then rm "$HOME/${marker}"; exit 0; else touch "$HOME/${marker}"; exit 1; fi`);
      await core.alerts.saveRule(webhookRule('flap to chat', ev.id, sink.url('/ok/flap'), { triggers: ['failure', 'recovery'], maxPerWindow: 3, windowSeconds: 3600, dedupSeconds: 0 }, 'slack'));
      await core.alerts.saveRule(mailRule('flap to mail', ev.id, { maxPerWindow: 5, dedupSeconds: 900 }));
      const mailsBefore = smtp.mails.length;

      const statuses: string[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await run(ev.id)).status);
      expect(statuses).toEqual(['FAILURE', 'SUCCESS', 'FAILURE', 'SUCCESS', 'FAILURE', 'SUCCESS', 'FAILURE', 'SUCCESS', 'FAILURE', 'SUCCESS']);
      await core.alerts.idle();

      // Rate limit: 3 per hour, whatever the trigger; the other 7 are folded into the last one sent.
      const hooks = sink.on('/ok/flap');
      expect(hooks).toHaveLength(3);
      expect(hooks.map((h) => String((h.body as { text: string }).text))).toEqual([
        expect.stringContaining('flapping-sync failed'),
        expect.stringContaining('flapping-sync recovered'),
        expect.stringContaining('flapping-sync failed'),
      ]);
      // Deduplication: the same failure again within 15 minutes is the same alert.
      expect(smtp.mails.length - mailsBefore).toBe(1);

      const history = (await core.alerts.history()).filter((d) => d.subjectId === ev.id);
      const chat = history.filter((d) => d.ruleName === 'flap to chat');
      const mail = history.filter((d) => d.ruleName === 'flap to mail');
      expect(chat).toHaveLength(3);
      expect(chat.reduce((n, d) => n + d.suppressed, 0)).toBe(7);
      expect(mail).toHaveLength(1);
      expect(mail[0]!.suppressed).toBe(4);
    });
  });

  describe('when an endpoint fails', () => {
    it('retries a 500, a timeout and a bad certificate, then shows each failed with its reason, without holding up jobs', async () => {
      const ev = await saveEvent('report', 'echo done');
      await core.alerts.saveRule(webhookRule('to a failing endpoint', ev.id, sink.url('/fail/report'), { triggers: ['success'] }));
      await core.alerts.saveRule(webhookRule('to a silent endpoint', ev.id, sink.url('/hang/report'), { triggers: ['success'] }));
      await core.alerts.saveRule(webhookRule('to a self-signed endpoint', ev.id, tlsSink.url('/ok/report'), { triggers: ['success'] }));

      const first = await run(ev.id);
      expect(first.status).toBe('SUCCESS');
      // While the silent endpoint holds the first alert's request open, the next job runs and ends all the same.
      await until('the silent endpoint to be called', () => sink.on('/hang/report').length >= 1);
      const second = await run(ev.id);
      expect(second.status).toBe('SUCCESS');
      const meanwhile = (await core.alerts.history()).filter((d) => d.ruleName === 'to a silent endpoint');
      expect(meanwhile.some((d) => d.status === 'pending')).toBe(true);

      await core.alerts.idle();
      const history = (await core.alerts.history()).filter((d) => d.subjectId === ev.id);
      const byRule = (name: string) => history.filter((d) => d.ruleName === name);
      for (const name of ['to a failing endpoint', 'to a silent endpoint', 'to a self-signed endpoint']) {
        // Two successes: one delivery each (the second is a duplicate of the first within the dedup window).
        const [d] = byRule(name);
        expect(byRule(name)).toHaveLength(1);
        expect(d!.status).toBe('failed');
        expect(d!.attempts.map((a) => a.ok)).toEqual(Array(ATTEMPTS).fill(false));
        expect(d!.suppressed).toBe(1);
      }
      expect(byRule('to a failing endpoint')[0]!.lastError).toBe('HTTP 500 Internal Server Error: sink says no');
      expect(byRule('to a silent endpoint')[0]!.lastError).toMatch(/^timed out after 0\.4 s/);
      expect(byRule('to a self-signed endpoint')[0]!.lastError).toMatch(/^bad certificate: self[- ]signed certificate/);
      expect(sink.on('/fail/report')).toHaveLength(ATTEMPTS);
      // The TLS handshake fails before any request is sent.
      expect(tlsSink.on('/ok/report')).toHaveLength(0);
    });
  });

  describe('when a rule is saved with several mistakes', () => {
    it('reports every field at once', async () => {
      const err = await core.alerts
        .saveRule({
          name: 'backup to chat', subjectKind: 'event', subjectId: 'no-such-event', triggers: ['failure'],
          channel: { kind: 'webhook', config: { format: 'json' }, secret: 'ftp://example.test/hook' },
        })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'INVALID_INPUT' });
      const fields = (err as { extra: { fields: Record<string, string> } }).extra.fields;
      expect(Object.keys(fields).sort()).toEqual(['channel.secret', 'name', 'subjectId']);
    });
  });
});
