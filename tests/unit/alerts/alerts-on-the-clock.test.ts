// AlertService on a ManualClock, with real SQLite and a real command channel (a shell script that records each alert):
// the rate limit and deduplication windows and the retry delays move only when the test advances the clock, so a
// flapping job "10 times in a minute" and the waits between attempts are exact, not timing-dependent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertService } from '../../../src-main/core/alerts/alert-service';
import { decideAlert } from '../../../src-main/core/alerts/alert-gate';
import { webhookBody } from '../../../src-main/core/alerts/alert-message';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import type { JobView } from '../../../src-shared/contract/jobs';
import { ManualClock } from '../../harness/manual-clock';
import { MIGRATIONS_DIR } from '../../harness/test-core';

const T0 = Date.parse('2021-06-01T10:00:00.000Z');

let dir: string;
let db: AppDatabase;
let bus: EventBus;
let clock: ManualClock;
let alerts: AlertService;
let outFile: string;
let okFlag: string;
let script: string;
let jobNo = 0;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-alerts-clock-'));
  db = openDatabase(path.join(dir, 'db.sqlite'), MIGRATIONS_DIR);
  bus = new EventBus();
  clock = new ManualClock(T0);
  outFile = path.join(dir, 'alerts.out');
  okFlag = path.join(dir, 'pager-up');
  script = path.join(dir, 'page.sh');
  // Records the alert, then succeeds only while the "pager" is up.
  // One append per alert (O_APPEND, one small write), so alerts sent at the same time do not interleave.
  fs.writeFileSync(script, '#!/bin/sh\ndata=$(cat)\nprintf \'%s\\n\' "$data" >> "$1"\n[ -e "$2" ] && exit 0\necho "pager down" >&2\nexit 2\n', { mode: 0o755 });
  alerts = new AlertService({
    db, bus, clock, secrets: new MemorySecretStore(),
    names: { event: async () => 'sync', workflow: async () => 'wf', server: async () => 'host-1' },
  });
  await alerts.start();
});

afterEach(async () => {
  await alerts.stop();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function jobEnded(status: 'SUCCESS' | 'FAILURE'): JobView {
  jobNo++;
  return {
    id: `job-${jobNo}`, eventId: 'ev-1', eventName: 'sync', eventVersion: 1, serverId: 'srv-1', serverName: 'host-1', workflowRunId: null,
    status, trigger: 'schedule', attempt: 1, maxAttempts: 1, exitCode: status === 'SUCCESS' ? 0 : 1, signal: null,
    reason: status === 'SUCCESS' ? null : 'exited with code 1', requestedMode: null, executionMode: null, fallbackReason: null,
    logId: null, condition: null, createdAt: new Date(clock.now()).toISOString(), startedAt: null,
    finishedAt: new Date(clock.now()).toISOString(), durationMs: 5,
  } as JobView;
}

async function rule(extra: Record<string, unknown>) {
  return alerts.saveRule({
    name: 'page on-call', subjectKind: 'event', subjectId: null, triggers: ['failure', 'recovery'],
    channel: { kind: 'command', config: { command: script, args: [outFile, okFlag] } },
    ...extra,
  });
}

/** Alerts the command received, in order. */
function received(): Array<{ trigger: string; summary: string }> {
  if (!fs.existsSync(outFile)) return [];
  return fs.readFileSync(outFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { trigger: string; summary: string });
}

describe('alerts on the injected clock', () => {
  describe('when a job flaps 10 times in one minute', () => {
    it('sends at most maxPerWindow, and again once the window has passed', async () => {
      fs.writeFileSync(okFlag, '');
      await rule({ maxPerWindow: 3, windowSeconds: 60, dedupSeconds: 0 });
      for (let i = 0; i < 10; i++) {
        bus.emit('jobs/changed', { job: jobEnded(i % 2 === 0 ? 'FAILURE' : 'SUCCESS') });
        await alerts.idle();
        await clock.advance(5_000);
      }
      expect(received().map((a) => a.trigger)).toEqual(['failure', 'recovery', 'failure']);
      const history = await alerts.history();
      expect(history).toHaveLength(3);
      expect(history.reduce((n, d) => n + d.suppressed, 0)).toBe(7);

      // 50 s have passed since the first alert; 10 s more and the first falls out of the window.
      await clock.advance(10_000);
      bus.emit('jobs/changed', { job: jobEnded('FAILURE') });
      await alerts.idle();
      expect(received()).toHaveLength(4);
    });

    it('folds a repeated failure into the first within the dedup window, and not after it', async () => {
      fs.writeFileSync(okFlag, '');
      await rule({ triggers: ['failure'], maxPerWindow: 100, dedupSeconds: 600 });
      for (let i = 0; i < 5; i++) {
        bus.emit('jobs/changed', { job: jobEnded('FAILURE') });
        await alerts.idle();
        await clock.advance(60_000);
      }
      expect(received()).toHaveLength(1);
      await clock.advance(600_000);
      bus.emit('jobs/changed', { job: jobEnded('FAILURE') });
      await alerts.idle();
      expect(received()).toHaveLength(2);
      expect((await alerts.history()).map((d) => d.suppressed)).toEqual([0, 4]);
    });
  });

  describe('when the channel fails', () => {
    it('waits the backoff delays on the clock between attempts and records each attempt with its error', async () => {
      await rule({ triggers: ['failure'] });
      bus.emit('jobs/changed', { job: jobEnded('FAILURE') });
      const attempts = async () => (await alerts.history())[0]?.attempts ?? [];
      await eventually(async () => (await attempts()).length === 1);
      expect((await attempts())[0]).toMatchObject({ ok: false, error: 'exited with code 2: pager down' });

      // The first retry waits 30 s on the clock: nothing happens before.
      await clock.advance(29_000);
      expect(await attempts()).toHaveLength(1);
      await clock.advance(1_000);
      await eventually(async () => (await attempts()).length === 2);

      fs.writeFileSync(okFlag, '');
      await clock.advance(120_000);
      await alerts.idle();
      const [delivery] = await alerts.history();
      expect(delivery!.status).toBe('delivered');
      expect(delivery!.attempts.map((a) => a.ok)).toEqual([false, false, true]);
      expect(received()).toHaveLength(3);
    });
  });
});

describe('alerts for workflows, runners and missed schedules', () => {
  it('raises failure and recovery for a workflow run and a runner, and missed for a misfired schedule', async () => {
    fs.writeFileSync(okFlag, '');
    const channel = { kind: 'command' as const, config: { command: script, args: [outFile, okFlag] } };
    await alerts.saveRule({ name: 'wf', subjectKind: 'workflow', subjectId: null, triggers: ['failure', 'recovery', 'missed'], channel, dedupSeconds: 0 });
    await alerts.saveRule({ name: 'runner', subjectKind: 'runner', subjectId: null, triggers: ['failure', 'recovery'], channel, dedupSeconds: 0 });
    const run = (id: string, status: 'FAILURE' | 'SUCCESS') => ({
      run: { id, workflowId: 'wf-1', workflowVersion: 1, status, trigger: 'schedule' as const, reason: status === 'FAILURE' ? 'step backup failed' : null, startedAt: 'x', finishedAt: 'y', steps: [] },
    });
    bus.emit('workflows/runChanged', run('r1', 'FAILURE'));
    bus.emit('workflows/runChanged', run('r1', 'FAILURE')); // pushed twice: alerted once
    bus.emit('workflows/runChanged', run('r2', 'SUCCESS'));
    bus.emit('runners/healthChanged', { serverId: 'srv-1', serverName: 'host-1', deploymentId: 'd1', from: 'healthy', to: 'unhealthy', reason: 'disk 10 MB free' });
    bus.emit('runners/healthChanged', { serverId: 'srv-1', serverName: 'host-1', deploymentId: 'd1', from: 'unhealthy', to: 'healthy', reason: null });
    bus.emit('schedule/fired', { ownerKind: 'workflow', ownerId: 'wf-1', scheduledFor: '2021-06-01T09:00:00.000Z', idempotencyKey: 'k', outcome: 'skipped_misfire', reason: 'the app was closed', jobIds: [], firedAt: 'z' });
    await alerts.idle();
    // Deliveries of different rules run side by side: compare as a set.
    expect(received().map((a) => `${a.trigger}: ${a.summary}`).sort()).toEqual([
      'failure: workflow wf ended FAILURE: step backup failed',
      'recovery: workflow wf recovered: it succeeded after a failure',
      'failure: the runner on host-1 is unhealthy: disk 10 MB free',
      'recovery: the runner on host-1 is healthy again',
      'missed: workflow wf missed its run of 2021-06-01T09:00:00.000Z: the app was closed',
    ].sort());
  });

  it('refuses a rule with a command that is not an executable file, with every other mistake', async () => {
    const err = await alerts
      .saveRule({ name: 'x', subjectKind: 'runner', subjectId: null, triggers: ['missed'], channel: { kind: 'command', config: { command: path.join(dir, 'nope') } } })
      .then(() => null, (e: unknown) => e as { code: string; extra: { fields: Record<string, string> } });
    expect(err).toMatchObject({ code: 'INVALID_INPUT' });
    expect(err!.extra.fields).toEqual({ triggers: 'runners have no schedule to miss', 'channel.config.command': 'the command is not an executable file on this workstation' });
  });
});

describe('webhook payloads', () => {
  const message = {
    trigger: 'failure' as const, subject: { kind: 'event' as const, id: 'e1', name: 'backup' }, serverName: 'db-1', status: 'FAILURE', summary: 'backup failed on db-1: exit code 3',
    reason: 'exit code 3', at: '2021-06-01T10:00:00.000Z', jobId: 'j1', workflowRunId: null, ruleName: 'r',
  };
  it('speaks Slack (text + blocks), Teams (MessageCard) and a versioned generic JSON', () => {
    expect(webhookBody('slack', message)).toMatchObject({ text: '[Cronium] backup failed on db-1: backup failed on db-1: exit code 3', blocks: [{ type: 'header' }, { type: 'section' }, { type: 'section' }] });
    expect(webhookBody('teams', message)).toMatchObject({ '@type': 'MessageCard', '@context': 'https://schema.org/extensions', title: '[Cronium] backup failed on db-1', themeColor: 'D13438' });
    expect(webhookBody('json', message)).toMatchObject({ version: 1, trigger: 'failure', jobId: 'j1' });
  });
});

describe('decideAlert', () => {
  const limits = { maxPerWindow: 2, windowSeconds: 60, dedupSeconds: 30 };
  it('sends the first alert, folds a duplicate, then rate-limits whatever the key', () => {
    expect(decideAlert(limits, 1000, 'a', [])).toEqual({ send: true });
    const recent = [{ id: 'd1', dedupKey: 'a', createdAt: 0 }];
    expect(decideAlert(limits, 29_999, 'a', recent)).toEqual({ send: false, foldInto: 'd1', why: 'duplicate' });
    expect(decideAlert(limits, 30_000, 'a', recent)).toEqual({ send: true });
    const two = [{ id: 'd2', dedupKey: 'b', createdAt: 40_000 }, ...recent];
    expect(decideAlert(limits, 50_000, 'c', two)).toEqual({ send: false, foldInto: 'd2', why: 'rate limit' });
    expect(decideAlert(limits, 60_000, 'c', two)).toEqual({ send: true });
  });
});

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached');
}
