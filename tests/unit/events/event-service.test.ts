// EventService over a real SQLite file and the in-memory keychain: versions, secrets only in the keychain, field
// errors, duplicate and delete, the run snapshot, and the schedule hook.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { EventInput } from '../../../src-shared/contract/events';
import { nowIso } from '../../../src-main/core/db/ids';

let test: TestCore;
let secrets: MemorySecretStore;

beforeEach(async () => {
  secrets = new MemorySecretStore();
  test = await createTestCore({ secrets });
  const at = nowIso();
  await test.core.db.kysely
    .insertInto('servers')
    .values({ id: 's1', name: 'db-1', host: '127.0.0.1', username: 'u', auth_type: 'password', credential_ref: 'server:s1:credential', host_key_fingerprint: null, host_key_algorithm: null, last_connection_at: null, last_connection_ok: null, last_connection_message: null, last_latency_ms: null, created_at: at, updated_at: at })
    .execute();
});
afterEach(async () => {
  await test.cleanup();
});

const base = (extra: Partial<EventInput> = {}) =>
  EventInput.parse({ name: 'backup', scriptType: 'bash', content: 'echo hi', timeoutSeconds: 60, serverIds: ['s1'], ...extra });

describe('EventService', () => {
  describe('when the user saves an event with secrets', () => {
    it('keeps values only in the keychain and never in the view or the row', async () => {
      const ev = await test.core.events.save(base({ secrets: [{ name: 'TOKEN', value: 's3cr3t-value' }] }));
      expect(ev.version).toBe(1);
      expect(ev.secrets).toEqual([{ name: 'TOKEN', isSet: true }]);
      expect(JSON.stringify(ev)).not.toContain('s3cr3t-value');
      const row = await test.core.db.kysely.selectFrom('events').selectAll().where('id', '=', ev.id).executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain('s3cr3t-value');
      expect(secrets.accounts()).toEqual([`event:${ev.id}:secret:TOKEN`]);
      const snap = await test.core.events.getForRun(ev.id);
      expect(snap.secrets).toEqual({ TOKEN: 's3cr3t-value' });
      expect(snap.serverIds).toEqual(['s1']);
    });

    it('increments the version on every edit, keeps a secret given without value, removes one left out', async () => {
      const ev = await test.core.events.save(base({ secrets: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }));
      const edited = await test.core.events.save(base({ id: ev.id, content: 'echo two', secrets: [{ name: 'A' }] }));
      expect(edited.version).toBe(2);
      expect(edited.secrets.map((s) => s.name)).toEqual(['A']);
      expect(secrets.accounts()).toEqual([`event:${ev.id}:secret:A`]);
      expect((await test.core.events.getForRun(ev.id)).secrets).toEqual({ A: '1' });
      expect((await test.core.events.save(base({ id: ev.id, secrets: [{ name: 'A' }] }))).version).toBe(3);
    });
  });

  describe('when the input is wrong', () => {
    it('refuses an unknown server at the field', async () => {
      await expect(test.core.events.save(base({ serverIds: ['nope'] }))).rejects.toMatchObject({ code: 'INVALID_INPUT', extra: { fields: { serverIds: expect.stringContaining('nope') } } });
    });

    it('refuses a new secret without a value at the field', async () => {
      await expect(test.core.events.save(base({ secrets: [{ name: 'X' }] }))).rejects.toMatchObject({ extra: { fields: { 'secrets.0.value': 'enter a value for this secret' } } });
    });

    it('refuses an invalid cron expression at the schedule field', async () => {
      const err = await test.core.events.save(base({ schedule: { kind: 'cron', expression: '99 * * * *' } })).catch((e) => e);
      expect(err.code).toBe('INVALID_SCHEDULE');
      expect(Object.keys(err.extra.fields)[0]).toMatch(/^schedule\./);
    });
  });

  describe('when the user duplicates and deletes', () => {
    it('copies secrets to new accounts and removes them with the event', async () => {
      const seen: unknown[] = [];
      test.core.events.onScheduleChanged = (e) => seen.push('deleted' in e ? `deleted ${e.id}` : `saved ${e.name}`);
      const ev = await test.core.events.save(base({ secrets: [{ name: 'K', value: 'v' }] }));
      const copy = await test.core.events.duplicate(ev.id);
      expect(copy.name).toBe('backup (copy)');
      expect(copy.version).toBe(1);
      expect(copy.servers).toEqual([{ id: 's1', name: 'db-1' }]);
      expect((await test.core.events.getForRun(copy.id)).secrets).toEqual({ K: 'v' });
      await test.core.events.delete(ev.id);
      expect(secrets.accounts()).toEqual([`event:${copy.id}:secret:K`]);
      await expect(test.core.events.get(ev.id)).rejects.toMatchObject({ code: 'EVENT_NOT_FOUND' });
      expect(seen).toEqual(['saved backup', 'saved backup (copy)', `deleted ${ev.id}`]);
    });
  });
});
