// The notification service, on a real core (SQLite, event bus) driven by a ManualClock: bus events become centre
// entries and alerts; 40 failures at once are one grouped alert and 40 entries; preferences and quiet hours apply.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventPayload } from '../../../src-shared/contract';
import type { JobView } from '../../../src-shared/contract/jobs';
import type { NotificationAlert } from '../../../src-shared/contract/notifications';
import { inQuietHours } from '../../../src-main/core/notifications/notification-content';
import { NotificationService } from '../../../src-main/core/notifications/notification-service';
import { EventBus } from '../../../src-main/core/event-bus';
import { ManualClock } from '../../harness/manual-clock';
import { createTestCore, type TestCore } from '../../harness/test-core';

const START = '2026-03-02T12:00:00.000Z';

function job(n: number, status: JobView['status'], over: Partial<JobView> = {}): JobView {
  return {
    id: `job-${n}`, eventId: `event-${n}`, eventName: `backup ${n}`, eventVersion: 1, serverId: `server-${n}`, serverName: `db-${n}`,
    workflowRunId: null, status, trigger: 'schedule', attempt: 1, maxAttempts: 1, exitCode: status === 'FAILURE' ? 2 : status === 'SUCCESS' ? 0 : null, signal: null,
    reason: status === 'FAILURE' ? 'exit code 2' : null, requestedMode: 'direct-ssh', executionMode: 'direct-ssh', fallbackReason: null,
    logId: `log-${n}`, condition: null, createdAt: START, startedAt: START, finishedAt: START, durationMs: 10, link: null, ...over,
  } as JobView;
}

describe('the notification service', () => {
  let t: TestCore;
  let clock: ManualClock;
  let alerts: NotificationAlert[];
  let changes: Array<EventPayload<'notifications/changed'>>;

  beforeEach(async () => {
    clock = new ManualClock(START);
    t = await createTestCore({ clock });
    t.core.settings.update({ notifications: { groupWindowSeconds: 5 } });
    t.core.notifications.start();
    alerts = [];
    changes = [];
    t.core.bus.subscribe((name, payload) => {
      if (name === 'notifications/alert') alerts.push(payload as NotificationAlert);
      if (name === 'notifications/changed') changes.push(payload as EventPayload<'notifications/changed'>);
    });
  });

  afterEach(async () => {
    await t.cleanup();
  });

  describe('when 40 jobs fail at the same moment', () => {
    it('raises one grouped alert ("40 jobs failed", listing them) and keeps 40 entries in the centre', async () => {
      for (let i = 1; i <= 40; i++) t.core.bus.emit('jobs/changed', { job: job(i, 'FAILURE') });
      await t.core.notifications.idle();
      expect(alerts).toHaveLength(0); // still inside the group window

      await clock.advance(5_000);
      expect(alerts).toHaveLength(1);
      const [alert] = alerts;
      expect(alert!.title).toBe('40 jobs failed');
      expect(alert!.count).toBe(40);
      expect(alert!.entryIds).toHaveLength(40);
      expect(alert!.body.split('\n')).toEqual([
        'backup 1: db-1: failed (exit code 2)',
        'backup 2: db-2: failed (exit code 2)',
        'backup 3: db-3: failed (exit code 2)',
        'backup 4: db-4: failed (exit code 2)',
        'backup 5: db-5: failed (exit code 2)',
        'and 35 more',
      ]);

      const centre = await t.core.notifications.list({ limit: 1000, unreadOnly: false });
      expect(centre.items).toHaveLength(40);
      expect(centre.unread).toBe(40);
      expect(new Set(centre.items.map((e) => e.groupId))).toEqual(new Set([alert!.groupId]));
      expect(centre.items.map((e) => e.target)).toContainEqual({ kind: 'log', id: 'log-7' });
      expect(changes.at(-1)!.unread).toBe(40);

      // Nothing more comes later: the group was announced once.
      await clock.advance(60_000);
      expect(alerts).toHaveLength(1);
    });

    it('starts a new group for failures after the window closed', async () => {
      t.core.bus.emit('jobs/changed', { job: job(1, 'FAILURE') });
      await t.core.notifications.idle();
      await clock.advance(5_000);
      t.core.bus.emit('jobs/changed', { job: job(2, 'TIMEOUT') });
      await t.core.notifications.idle();
      await clock.advance(5_000);
      expect(alerts.map((a) => [a.title, a.body, a.count])).toEqual([
        ['backup 1', 'db-1: failed (exit code 2)', 1],
        ['backup 2', 'db-2: timed out', 1],
      ]);
      expect(alerts[0]!.target).toEqual({ kind: 'log', id: 'log-1' });
    });
  });

  describe('when the same outcome is reported twice', () => {
    it('records it once', async () => {
      t.core.bus.emit('jobs/changed', { job: job(1, 'FAILURE') });
      t.core.bus.emit('jobs/changed', { job: job(1, 'FAILURE') });
      await t.core.notifications.idle();
      expect((await t.core.notifications.list({ limit: 10, unreadOnly: false })).items).toHaveLength(1);
    });
  });

  describe('when the user marks entries read', () => {
    it('lowers the unread count and keeps the history', async () => {
      for (let i = 1; i <= 3; i++) t.core.bus.emit('jobs/changed', { job: job(i, 'FAILURE') });
      await t.core.notifications.idle();
      const { items } = await t.core.notifications.list({ limit: 10, unreadOnly: false });
      expect((await t.core.notifications.markRead([items[0]!.id])).unread).toBe(2);
      expect((await t.core.notifications.list({ limit: 10, unreadOnly: true })).items).toHaveLength(2);
      expect((await t.core.notifications.markRead()).unread).toBe(0);
      expect((await t.core.notifications.list({ limit: 10, unreadOnly: false })).items).toHaveLength(3);
    });
  });

  describe('per-kind preferences', () => {
    it('records nothing for a kind turned off, and successes only when asked', async () => {
      t.core.settings.update({ notifications: { onFailure: false } });
      t.core.bus.emit('jobs/changed', { job: job(1, 'FAILURE') });
      t.core.bus.emit('jobs/changed', { job: job(2, 'SUCCESS') });
      await t.core.notifications.idle();
      expect((await t.core.notifications.list({ limit: 10, unreadOnly: false })).items).toHaveLength(0);

      t.core.settings.update({ notifications: { onSuccess: true } });
      t.core.bus.emit('jobs/changed', { job: job(3, 'SUCCESS') });
      await t.core.notifications.idle();
      const { items } = await t.core.notifications.list({ limit: 10, unreadOnly: false });
      expect(items.map((e) => [e.kind, e.body])).toEqual([['job_succeeded', 'db-3: succeeded']]);
    });

    it('tells a runner that became unhealthy, with its reason, and a missed schedule', async () => {
      t.core.bus.emit('runners/healthChanged', { serverId: 's1', serverName: 'web-1', deploymentId: 'd1', from: 'healthy', to: 'unhealthy', reason: 'disk 100 MB free, below 256 MB' });
      t.core.bus.emit('runners/healthChanged', { serverId: 's1', serverName: 'web-1', deploymentId: 'd1', from: 'unhealthy', to: 'healthy', reason: null });
      t.core.bus.emit('schedule/fired', { ownerKind: 'event', ownerId: 'gone', scheduledFor: '2026-03-02T03:00:00.000Z', idempotencyKey: 'event:gone:x', outcome: 'skipped_misfire', reason: 'missed while the app was closed', jobIds: [], firedAt: START });
      await t.core.notifications.idle();
      const { items } = await t.core.notifications.list({ limit: 10, unreadOnly: false });
      expect(items.map((e) => [e.kind, e.title, e.body, e.target]).sort()).toEqual([
        ['runner_unhealthy', 'Runner unhealthy on web-1', 'disk 100 MB free, below 256 MB', { kind: 'server', id: 's1' }],
        ['schedule_missed', 'Deleted event', 'run for 2026-03-02T03:00:00.000Z skipped: missed while the app was closed', { kind: 'event', id: 'gone' }],
      ]);
    });
  });

  describe('when a job succeeds after the previous run of the same event on the same server failed', () => {
    it('records a recovery (and a plain success stays quiet by default)', async () => {
      const bus = new EventBus();
      const previous: Record<string, JobView[]> = {
        'event-1': [job(1, 'SUCCESS', { id: 'job-1b' }), job(1, 'FAILURE', { id: 'job-1a' })],
        'event-2': [job(2, 'SUCCESS', { id: 'job-2b' }), job(2, 'SUCCESS', { id: 'job-2a' })],
      };
      const service = new NotificationService({
        db: t.core.db,
        bus,
        clock,
        preferences: () => t.core.settings.current().notifications,
        // Stands in for JobService.list: the recent runs of one event on one server, newest first.
        jobs: { list: async ({ eventId }) => previous[eventId!] ?? [], get: async () => job(9, 'RUNNING') },
        ownerName: async () => null,
        timeZone: 'UTC',
      });
      service.start();
      bus.emit('jobs/changed', { job: job(1, 'SUCCESS', { id: 'job-1b' }) });
      bus.emit('jobs/changed', { job: job(2, 'SUCCESS', { id: 'job-2b' }) });
      await service.idle();
      const { items } = await service.list({ limit: 10, unreadOnly: false });
      expect(items.map((e) => [e.kind, e.title, e.body])).toEqual([['job_recovered', 'backup 1', 'db-1: succeeded again after a failure']]);
      await service.stop();
    });
  });

  describe('during quiet hours', () => {
    it('records entries in the centre and raises no alert', async () => {
      // 12:00 UTC is inside 11:00-13:00 read in UTC; the workstation zone of the test machine may differ, so ask the
      // same question the service asks.
      t.core.settings.update({ notifications: { quietHours: { enabled: true, start: '00:00', end: '23:59' } } });
      t.core.bus.emit('jobs/changed', { job: job(1, 'FAILURE') });
      await t.core.notifications.idle();
      await clock.advance(10_000);
      expect(alerts).toHaveLength(0);
      expect((await t.core.notifications.list({ limit: 10, unreadOnly: false })).items).toHaveLength(1);
    });

    it('reads the hours on the wall clock, spanning midnight when the end is before the start', () => {
      const quiet = { enabled: true, start: '22:00', end: '07:00' };
      expect(inQuietHours(Date.parse('2026-03-02T23:30:00Z'), quiet, 'UTC')).toBe(true);
      expect(inQuietHours(Date.parse('2026-03-02T06:59:00Z'), quiet, 'UTC')).toBe(true);
      expect(inQuietHours(Date.parse('2026-03-02T07:00:00Z'), quiet, 'UTC')).toBe(false);
      expect(inQuietHours(Date.parse('2026-03-02T12:00:00Z'), quiet, 'UTC')).toBe(false);
      // 21:30 UTC is 22:30 in Paris (CET): quiet there.
      expect(inQuietHours(Date.parse('2026-03-02T21:30:00Z'), quiet, 'Europe/Paris')).toBe(true);
      expect(inQuietHours(Date.parse('2026-03-02T23:30:00Z'), { ...quiet, enabled: false }, 'UTC')).toBe(false);
    });
  });

  describe('after a restart', () => {
    it('keeps the centre history (it lives in SQLite)', async () => {
      t.core.bus.emit('jobs/changed', { job: job(1, 'FAILURE') });
      await t.core.notifications.idle();
      const dataDir = t.dataDir;
      await t.core.stop();
      const again = await createTestCore({ dataDir, clock });
      try {
        expect((await again.core.notifications.list({ limit: 10, unreadOnly: false })).items.map((e) => e.title)).toEqual(['backup 1']);
      } finally {
        await again.cleanup();
      }
    });
  });
});
