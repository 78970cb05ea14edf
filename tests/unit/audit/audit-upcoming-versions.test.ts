// The read sides behind the Audit pane, the Upcoming view and the script diff, on a real core (SQLite): changes to
// servers, events, workflows and settings are audited and filterable; every saved script version is kept; the next
// fires of every enabled schedule come out in order, each in its own zone.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventInput } from '../../../src-shared/contract/events';
import { auditObjectKind, listAudit } from '../../../src-main/core/audit-log';
import { upcomingFires } from '../../../src-main/core/scheduler/upcoming';
import { ManualClock } from '../../harness/manual-clock';
import { createTestCore, type TestCore } from '../../harness/test-core';

const NOW = '2026-03-02T12:00:00.000Z';

describe('audit, upcoming fires and script versions', () => {
  let t: TestCore;
  let serverId: string;

  beforeEach(async () => {
    t = await createTestCore({ clock: new ManualClock(NOW) });
    serverId = (await t.core.servers.save({ name: 'db-1', host: '127.0.0.1', port: 22, username: 'u', authType: 'password', password: 'not-used-here' } as never)).id;
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const saveEvent = (content: string, id?: string) =>
    t.core.events.save(EventInput.parse({ ...(id ? { id } : {}), name: 'backup', scriptType: 'bash', content, timeoutSeconds: 60, serverIds: [serverId], executionMode: 'direct-ssh' }));

  describe('the audit log', () => {
    it('records who changed which server, event and setting, and filters by object, actor and text', async () => {
      const e = await saveEvent('echo 1');
      await saveEvent('echo 2', e.id);
      t.core.settings.update({ notifications: { onSuccess: true } });
      t.core.settings.update({ notifications: { onSuccess: true } }); // no change: nothing recorded
      await t.core.events.delete(e.id);

      const all = await listAudit(t.core.db, { limit: 100 });
      expect(all.entries.map((x) => x.action)).toEqual(['event.delete', 'settings.update', 'event.update', 'event.create', 'server.create']);
      expect(all.entries.every((x) => x.actor === 'user')).toBe(true);
      expect(all.entries.find((x) => x.action === 'settings.update')!.detail).toEqual({ changed: { 'notifications.onSuccess': true } });

      const events = await listAudit(t.core.db, { limit: 100, objectKind: 'event' });
      expect(events.entries.map((x) => x.action)).toEqual(['event.delete', 'event.update', 'event.create']);
      // The event is gone: the entries keep its recorded name and say it no longer exists.
      expect(events.entries[0]).toMatchObject({ objectKind: 'event', objectId: e.id, objectName: 'backup', objectExists: false });

      const byName = await listAudit(t.core.db, { limit: 100, search: 'db-1' }, async (kind, ids) => new Map(kind === 'server' ? ids.map((id) => [id, 'db-1']) : []));
      expect(byName.entries.map((x) => [x.action, x.objectName, x.objectExists])).toEqual([['server.create', 'db-1', true]]);
      expect((await listAudit(t.core.db, { limit: 100, actor: 'scheduler' })).entries).toEqual([]);

      const paged = await listAudit(t.core.db, { limit: 2 });
      expect(paged.hasMore).toBe(true);
      const next = await listAudit(t.core.db, { limit: 2, beforeId: paged.entries[1]!.id });
      expect(next.entries.map((x) => x.action)).toEqual(['event.update', 'event.create']);
    });

    it('reads host keys, runners and workflows from the action', () => {
      expect(auditObjectKind('server.trust_host_key')).toBe('host_key');
      expect(auditObjectKind('server.host_key_unpinned')).toBe('host_key');
      expect(auditObjectKind('server.delete')).toBe('server');
      expect(auditObjectKind('runner.deploy')).toBe('runner');
      expect(auditObjectKind('workflow.update')).toBe('workflow');
      expect(auditObjectKind('settings.update')).toBe('setting');
      expect(auditObjectKind('something.else')).toBe('other');
    });
  });

  describe('script versions', () => {
    it('keeps every saved version of the script for the diff', async () => {
      const e = await saveEvent('echo one\n');
      await saveEvent('echo one\necho two\n', e.id);
      await saveEvent('echo three\n', e.id);
      const versions = await t.core.events.scriptVersions(e.id);
      expect(versions.map((v) => [v.version, v.lines])).toEqual([[3, 2], [2, 3], [1, 2]]);
      expect((await t.core.events.scriptVersion(e.id, 2)).content).toBe('echo one\necho two\n');
      await expect(t.core.events.scriptVersion(e.id, 9)).rejects.toMatchObject({ code: 'EVENT_VERSION_NOT_FOUND' });
    });
  });

  describe('upcoming fires', () => {
    it('lists the next fires of enabled schedules in order, each in its own zone, and skips disabled ones', () => {
      const from = Date.parse(NOW);
      const week = from + 7 * 24 * 3600 * 1000;
      const { fires, truncated } = upcomingFires(
        [
          { ownerKind: 'event', ownerId: 'e1', name: 'paris', schedule: { kind: 'cron', expression: '30 2 * * *' }, timeZone: 'Europe/Paris', enabled: true },
          { ownerKind: 'workflow', ownerId: 'w1', name: 'tokyo', schedule: { kind: 'cron', expression: '0 9 * * 1-5' }, timeZone: 'Asia/Tokyo', enabled: true },
          { ownerKind: 'event', ownerId: 'e2', name: 'off', schedule: { kind: 'interval', everySeconds: 60 }, timeZone: null, enabled: false },
          { ownerKind: 'event', ownerId: 'e3', name: 'manual', schedule: null, timeZone: null, enabled: true },
        ],
        from,
        week,
        1000,
      );
      expect(truncated).toBe(false);
      expect(fires.filter((f) => f.name === 'paris')).toHaveLength(7);
      expect(fires.filter((f) => f.name === 'tokyo')).toHaveLength(5);
      expect(fires.map((f) => f.at)).toEqual([...fires.map((f) => f.at)].sort());
      // 02:30 in Paris in March (CET, UTC+1) is 01:30 UTC.
      expect(fires.find((f) => f.name === 'paris')).toMatchObject({ at: '2026-03-03T01:30:00.000Z', timeZone: 'Europe/Paris' });
      expect(fires.find((f) => f.name === 'paris')!.wallClock).toMatch(/02:30:00/);
    });

    it('says when it had to cut the list', () => {
      const from = Date.parse(NOW);
      const { fires, truncated } = upcomingFires(
        [{ ownerKind: 'event', ownerId: 'e', name: 'often', schedule: { kind: 'interval', everySeconds: 1 }, timeZone: 'UTC', enabled: true }],
        from,
        from + 3600_000,
        100,
      );
      expect(fires).toHaveLength(100);
      expect(truncated).toBe(true);
    });
  });
});
