// The tray: how many jobs are running and the last results, driven by the jobs/changed events the core pushes.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { jobChanged } from './job-events';
import { resetFakeElectron, trays } from './fake-electron';
import type { TrayAction } from '../../../src-main/electron/tray-model';

vi.mock('electron', () => import('./fake-electron'));
const { TrayModel, buildTrayMenuTemplate, trayTooltip } = await import('../../../src-main/electron/tray-model');
const { TrayController } = await import('../../../src-main/electron/tray');

const labels = (model: InstanceType<typeof TrayModel>) =>
  buildTrayMenuTemplate(model.state()).map((i) => (i.kind === 'separator' ? '---' : i.label));

describe('the tray', () => {
  beforeEach(() => resetFakeElectron());

  describe('when nothing has run yet', () => {
    it('says so', () => {
      const model = new TrayModel();
      expect(trayTooltip(model.state())).toBe('Cronium Desktop: no jobs running');
      expect(labels(model)).toEqual(['No jobs running', '---', 'No results yet', '---', 'Open Cronium', 'Quit']);
    });
  });

  describe('when jobs start and finish', () => {
    it('counts running jobs and lists finished ones newest first', () => {
      const model = new TrayModel();
      model.apply('jobs/changed', jobChanged('a', 'QUEUED'));
      expect(model.state().runningCount).toBe(0);
      model.apply('jobs/changed', jobChanged('a', 'DISPATCHING'));
      model.apply('jobs/changed', jobChanged('b', 'RUNNING'));
      model.apply('jobs/changed', jobChanged('a', 'RUNNING'));
      expect(model.state().runningCount).toBe(2);
      expect(trayTooltip(model.state())).toBe('Cronium Desktop: 2 jobs running');

      model.apply('jobs/changed', jobChanged('a', 'SUCCESS'));
      model.apply('jobs/changed', jobChanged('b', 'FAILURE', { serverName: 'web-2' }));
      expect(model.state().runningCount).toBe(0);
      expect(labels(model)).toEqual([
        'No jobs running',
        '---',
        'Recent results',
        'backup b on web-2: failed',
        'backup a on db-1: succeeded',
        '---',
        'Open Cronium',
        'Quit',
      ]);
    });

    it('keeps only the last five results', () => {
      const model = new TrayModel();
      for (const id of ['1', '2', '3', '4', '5', '6', '7']) model.apply('jobs/changed', jobChanged(id, 'SUCCESS'));
      expect(model.state().recent.map((r) => r.jobId)).toEqual(['7', '6', '5', '4', '3']);
    });

    it('shows a job reported twice once, with its latest outcome', () => {
      const model = new TrayModel();
      model.apply('jobs/changed', jobChanged('r', 'PARTIAL'));
      model.apply('jobs/changed', jobChanged('x', 'TIMEOUT'));
      model.apply('jobs/changed', jobChanged('r', 'SUCCESS'));
      expect(model.state().recent.map((r) => `${r.jobId}:${r.status}`)).toEqual(['r:SUCCESS', 'x:TIMEOUT']);
    });

    it('names deleted events and servers instead of showing null, and cannot open a log that does not exist', () => {
      const model = new TrayModel();
      model.apply('jobs/changed', jobChanged('d', 'CANCELLED', { eventName: null, serverName: null, logId: null }));
      const entry = buildTrayMenuTemplate(model.state()).find((i) => i.kind === 'item' && i.label.includes('cancelled'));
      expect(entry).toEqual({ kind: 'item', label: 'Deleted event on deleted server: cancelled', enabled: false });
    });
  });

  describe('when the notification centre has unread entries', () => {
    it('counts them in the tooltip and offers to open the window, from the same source as the notifications', () => {
      const model = new TrayModel();
      model.apply('notifications/changed', { unread: 40, added: [] });
      expect(trayTooltip(model.state())).toBe('Cronium Desktop: no jobs running, 40 unread notifications');
      const entry = buildTrayMenuTemplate(model.state()).find((i) => i.kind === 'item' && i.label === '40 unread notifications');
      expect(entry).toEqual({ kind: 'item', label: '40 unread notifications', enabled: true, action: { type: 'open-window' } });
      model.apply('notifications/changed', { unread: 0, added: [] });
      expect(labels(model)).toEqual(['No jobs running', '---', 'No results yet', '---', 'Open Cronium', 'Quit']);
      model.apply('notifications/changed', { unread: -3 });
      expect(model.state().unreadNotifications).toBe(0);
    });
  });

  describe('when other or malformed events arrive', () => {
    it('ignores them', () => {
      const model = new TrayModel();
      model.apply('jobs/changed', jobChanged('a', 'RUNNING'));
      const before = model.state();
      expect(model.apply('logs/lines', { logId: 'l', lines: [] })).toEqual(before);
      expect(model.apply('jobs/changed', { job: { id: 'z', status: 'EXPLODED' } })).toEqual(before);
      expect(model.apply('jobs/changed', null)).toEqual(before);
      // Extra fields a later contract adds do not matter.
      model.apply('jobs/changed', { job: { id: 'b', status: 'RUNNING', newField: { deep: true } } });
      expect(model.state().runningCount).toBe(2);
    });
  });

  describe('when the user uses the tray menu', () => {
    it('shows the count in the tooltip and opens the log of a result it clicks', () => {
      const actions: TrayAction[] = [];
      const controller = new TrayController({ iconPath: '/app/resources/icons/tray.png', onAction: (a) => actions.push(a) });
      const tray = trays[0];
      expect(tray.image.path).toBe('/app/resources/icons/tray.png');
      expect(tray.tooltip).toBe('Cronium Desktop: no jobs running');

      controller.handleEvent('jobs/changed', jobChanged('a', 'RUNNING'));
      expect(tray.tooltip).toBe('Cronium Desktop: 1 job running');
      expect(tray.contextMenu?.items[0]).toMatchObject({ label: '1 job running', enabled: false });

      controller.handleEvent('jobs/changed', jobChanged('a', 'FAILURE'));
      tray.clickMenuItem('backup a on db-1: failed');
      tray.clickMenuItem('Open Cronium');
      tray.clickMenuItem('Quit');
      tray.emit('click');
      expect(actions).toEqual([{ type: 'open-log', logId: 'log-a' }, { type: 'open-window' }, { type: 'quit' }, { type: 'open-window' }]);
      expect(() => tray.clickMenuItem('No jobs running')).toThrow(/disabled/);

      controller.destroy();
      expect(tray.isDestroyed()).toBe(true);
    });

    it('does not rebuild the menu for events that change nothing', () => {
      const controller = new TrayController({ iconPath: '/t.png', onAction: () => undefined });
      const tray = trays[0];
      const menu = tray.contextMenu;
      controller.handleEvent('logs/lines', { logId: 'x' });
      controller.handleEvent('jobs/changed', jobChanged('q', 'QUEUED'));
      expect(tray.contextMenu).toBe(menu);
    });
  });
});
