// Native notifications: told when a job fails or times out (and succeeds, if asked), and a click opens its log.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultSettings } from '../../../src-main/core/settings/defaults';
import { jobChanged } from './job-events';
import { nativeImage, notificationSupport, notifications, resetFakeElectron } from './fake-electron';

vi.mock('electron', () => import('./fake-electron'));
const { NotificationController } = await import('../../../src-main/electron/notifications');

describe('notifications', () => {
  let prefs: { onFailure: boolean; onSuccess: boolean };
  let opened: string[];
  let controller: InstanceType<typeof NotificationController>;

  beforeEach(() => {
    resetFakeElectron();
    // What a fresh install has in Settings.
    prefs = { ...defaultSettings().notifications };
    opened = [];
    controller = new NotificationController({
      preferences: () => prefs,
      onOpenLog: (logId) => opened.push(logId),
      icon: nativeImage.createFromPath('/app/resources/icons/icon.png') as never,
    });
  });

  describe('when a runner job has been unreachable longer than the setting', () => {
    it('shows a notification naming the event, the server and for how long', () => {
      controller.handleEvent('jobs/unreachable', { jobId: 'j', eventName: 'backup', serverName: 'db-1', since: '2026-12-06T00:00:00Z', seconds: 60 });
      expect(notifications).toHaveLength(1);
      expect(JSON.stringify(notifications[0])).toContain('backup');
      expect(JSON.stringify(notifications[0])).toContain('db-1: unreachable for 60 s');
    });
  });

  describe('when a job fails', () => {
    it('shows a notification naming the event, the server, the outcome and the reason', () => {
      controller.handleEvent('jobs/changed', jobChanged('a', 'RUNNING'));
      expect(notifications).toHaveLength(0);
      controller.handleEvent('jobs/changed', jobChanged('a', 'FAILURE', { reason: 'exit code 2' }));
      expect(notifications).toHaveLength(1);
      expect(notifications[0].shown).toBe(true);
      expect(notifications[0].options).toMatchObject({ title: 'backup a', body: 'db-1: failed (exit code 2)' });
    });

    it('falls back to the exit code when the core gave no reason', () => {
      controller.handleEvent('jobs/changed', jobChanged('a', 'FAILURE', { exitCode: 127 }));
      expect(notifications[0].options.body).toBe('db-1: failed (exit code 127)');
    });

    it('keeps a long reason short', () => {
      controller.handleEvent('jobs/changed', jobChanged('a', 'FAILURE', { reason: 'x'.repeat(500) }));
      expect(notifications[0].options.body!.length).toBeLessThan(200);
      expect(notifications[0].options.body).toMatch(/…\)$/);
    });

    it('does not repeat itself when the same outcome is reported again', () => {
      controller.handleEvent('jobs/changed', jobChanged('a', 'FAILURE'));
      controller.handleEvent('jobs/changed', jobChanged('a', 'FAILURE'));
      expect(notifications).toHaveLength(1);
    });

    describe('and the user clicks the notification', () => {
      it('opens that job’s log', () => {
        controller.handleEvent('jobs/changed', jobChanged('a', 'FAILURE'));
        notifications[0].click();
        expect(opened).toEqual(['log-a']);
      });
    });
  });

  describe('when a job times out', () => {
    it('notifies', () => {
      controller.handleEvent('jobs/changed', jobChanged('t', 'TIMEOUT', { reason: 'ran longer than 30 s' }));
      expect(notifications.map((n) => n.options.body)).toEqual(['db-1: timed out (ran longer than 30 s)']);
    });
  });

  describe('when a job succeeds', () => {
    it('stays quiet by default', () => {
      expect(prefs.onSuccess).toBe(false);
      controller.handleEvent('jobs/changed', jobChanged('s', 'SUCCESS'));
      expect(notifications).toHaveLength(0);
    });

    it('notifies once the user turned success notifications on in Settings', () => {
      prefs.onSuccess = true;
      controller.handleEvent('jobs/changed', jobChanged('s', 'SUCCESS'));
      expect(notifications.map((n) => [n.options.title, n.options.body])).toEqual([['backup s', 'db-1: succeeded']]);
    });
  });

  describe('when the user turned failure notifications off', () => {
    it('stays quiet for failures', () => {
      prefs.onFailure = false;
      controller.handleEvent('jobs/changed', jobChanged('a', 'FAILURE'));
      expect(notifications).toHaveLength(0);
    });
  });

  describe('when a job is cancelled or only partly known', () => {
    it('does not notify (the user caused it, or the job is still being recovered)', () => {
      controller.handleEvent('jobs/changed', jobChanged('c', 'CANCELLED'));
      controller.handleEvent('jobs/changed', jobChanged('p', 'PARTIAL'));
      expect(notifications).toHaveLength(0);
    });
  });

  describe('when the desktop has no notification support', () => {
    it('shows nothing and does not fail', () => {
      notificationSupport.supported = false;
      expect(() => controller.handleEvent('jobs/changed', jobChanged('a', 'FAILURE'))).not.toThrow();
      expect(notifications).toHaveLength(0);
    });
  });
});
