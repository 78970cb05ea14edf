// Native notifications: the core's alerts ('notifications/alert', already filtered and grouped by the notification
// service) shown by the system; a click opens the log of a single job, or the window for anything else.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { NotificationAlert } from '../../../src-shared/contract/notifications';
import { jobChanged } from './job-events';
import { nativeImage, notificationSupport, notifications, resetFakeElectron } from './fake-electron';

vi.mock('electron', () => import('./fake-electron'));
const { NotificationController } = await import('../../../src-main/electron/notifications');

const single: NotificationAlert = {
  groupId: 'g1', kind: 'job_failed', title: 'backup a', body: 'db-1: failed (exit code 2)', count: 1, entryIds: ['n1'], target: { kind: 'log', id: 'log-a' },
};
const grouped: NotificationAlert = {
  groupId: 'g2', kind: 'job_failed', title: '40 jobs failed', body: 'backup 1: db-1: failed\nand 39 more', count: 40, entryIds: Array.from({ length: 40 }, (_, i) => `n${i}`), target: null,
};

describe('native notifications', () => {
  let openedLogs: string[];
  let openedWindow: number;
  let controller: InstanceType<typeof NotificationController>;

  beforeEach(() => {
    resetFakeElectron();
    openedLogs = [];
    openedWindow = 0;
    controller = new NotificationController({
      onOpenLog: (logId) => openedLogs.push(logId),
      onOpenWindow: () => openedWindow++,
      icon: nativeImage.createFromPath('/app/resources/icons/icon.png') as never,
    });
  });

  describe('when the core raises an alert for one failed job', () => {
    it('shows it as the core worded it, and a click opens that log', () => {
      controller.handleEvent('notifications/alert', single);
      expect(notifications).toHaveLength(1);
      expect(notifications[0].shown).toBe(true);
      expect(notifications[0].options).toMatchObject({ title: 'backup a', body: 'db-1: failed (exit code 2)' });
      notifications[0].click();
      expect(openedLogs).toEqual(['log-a']);
    });
  });

  describe('when the core raises one grouped alert for 40 failures', () => {
    it('shows one notification, and a click brings the window forward', () => {
      controller.handleEvent('notifications/alert', grouped);
      expect(notifications.map((n) => n.options.title)).toEqual(['40 jobs failed']);
      notifications[0].click();
      expect(openedWindow).toBe(1);
      expect(openedLogs).toEqual([]);
    });
  });

  describe('when other events pass by', () => {
    it('shows nothing for them: deciding is the core’s job', () => {
      controller.handleEvent('jobs/changed', jobChanged('a', 'FAILURE'));
      controller.handleEvent('notifications/changed', { unread: 3, added: [] });
      controller.handleEvent('notifications/alert', { title: 'not an alert' });
      expect(notifications).toHaveLength(0);
    });
  });

  describe('when an alert body is very long', () => {
    it('keeps it short', () => {
      controller.handleEvent('notifications/alert', { ...single, body: 'x'.repeat(5000) });
      expect(notifications[0].options.body!.length).toBeLessThanOrEqual(600);
      expect(notifications[0].options.body).toMatch(/…$/);
    });
  });

  describe('when the desktop has no notification support', () => {
    it('shows nothing and does not fail', () => {
      notificationSupport.supported = false;
      expect(() => controller.handleEvent('notifications/alert', single)).not.toThrow();
      expect(notifications).toHaveLength(0);
    });
  });
});
