// EventService over a real SQLite file and the in-memory keychain: versions, secrets only in the keychain, field
// errors, duplicate and delete (refused while a workflow uses the event), the run snapshot, the schedule hook with the
// next run it yields, and the last run read from the jobs table.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { EventInput } from '../../../src-shared/contract/events';
import { WorkflowInput } from '../../../src-shared/contract/workflows';
import { nowIso } from '../../../src-main/core/db/ids';
import { ErrorCode } from '../../../src-shared/errors';

let test: TestCore;
let secrets: MemorySecretStore;

beforeEach(async () => {
  secrets = new MemorySecretStore();
  test = await createTestCore({ secrets });
  const at = nowIso(Date.now());
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
      const ev = await test.core.events.save(base({ secrets: [{ name: 'A', value: 'one' }, { name: 'B', value: 'two' }] }));
      const edited = await test.core.events.save(base({ id: ev.id, content: 'echo two', secrets: [{ name: 'A' }] }));
      expect(edited.version).toBe(2);
      expect(edited.secrets.map((s) => s.name)).toEqual(['A']);
      expect(secrets.accounts()).toEqual([`event:${ev.id}:secret:A`]);
      expect((await test.core.events.getForRun(ev.id)).secrets).toEqual({ A: 'one' });
      expect((await test.core.events.save(base({ id: ev.id, secrets: [{ name: 'A' }] }))).version).toBe(3);
    });
  });

  describe('when the input is wrong', () => {
    it('refuses an unknown server at the field', async () => {
      await expect(test.core.events.save(base({ serverIds: ['nope'] }))).rejects.toMatchObject({ code: ErrorCode.INVALID_INPUT, extra: { fields: { serverIds: expect.stringContaining('nope') } } });
    });

    it('refuses a new secret without a value at the field', async () => {
      await expect(test.core.events.save(base({ secrets: [{ name: 'X' }] }))).rejects.toMatchObject({ extra: { fields: { 'secrets.0.value': 'enter a value for this secret' } } });
    });

    it('refuses an invalid cron expression at the schedule field', async () => {
      const err = await test.core.events.save(base({ schedule: { kind: 'cron', expression: '99 * * * *' } })).catch((e) => e);
      expect(err.code).toBe(ErrorCode.INVALID_SCHEDULE);
      expect(Object.keys(err.extra.fields)[0]).toMatch(/^schedule\./);
    });
  });

  describe('when the user duplicates and deletes', () => {
    it('copies secrets to new accounts and removes them with the event', async () => {
      // The scheduler is told of every change (an event without a schedule is removed from its book).
      const seen: string[] = [];
      const book = test.core.scheduler.scheduler;
      const remove = book.remove.bind(book);
      book.remove = (kind, id) => {
        seen.push(`${kind} ${id}`);
        remove(kind, id);
      };
      const ev = await test.core.events.save(base({ secrets: [{ name: 'K', value: 'v-1' }] }));
      const copy = await test.core.events.duplicate(ev.id);
      expect(copy.name).toBe('backup (copy)');
      expect(copy.version).toBe(1);
      expect(copy.servers).toEqual([{ id: 's1', name: 'db-1' }]);
      expect((await test.core.events.getForRun(copy.id)).secrets).toEqual({ K: 'v-1' });
      await test.core.events.delete(ev.id);
      expect(secrets.accounts()).toEqual([`event:${copy.id}:secret:K`]);
      await expect(test.core.events.get(ev.id)).rejects.toMatchObject({ code: ErrorCode.EVENT_NOT_FOUND });
      expect(seen).toEqual([`event ${ev.id}`, `event ${copy.id}`, `event ${ev.id}`]);
    });
  });

  describe('when the user deletes an event that is a step of a workflow', () => {
    it('refuses with EVENT_IN_USE naming the workflows, and deletes it once they no longer use it', async () => {
      const ev = await test.core.events.save(base());
      const nightly = await test.core.workflows.save(WorkflowInput.parse({ name: 'nightly', nodes: [{ id: 'a', eventId: ev.id }], edges: [] }));
      await test.core.workflows.save(WorkflowInput.parse({ name: 'adhoc', nodes: [{ id: 'b', eventId: ev.id }, { id: 'c', eventId: ev.id }], edges: [] }));

      const err = await test.core.events.delete(ev.id).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCode.EVENT_IN_USE, message: '“backup” is a step of workflows “adhoc”, “nightly”; remove it from them first' });
      expect((await test.core.events.get(ev.id)).name).toBe('backup');

      await test.core.workflows.delete(nightly.id);
      const adhoc = (await test.core.workflows.list()).find((w) => w.name === 'adhoc')!;
      await expect(test.core.events.delete(ev.id)).rejects.toMatchObject({ message: '“backup” is a step of workflow “adhoc”; remove it from them first' });
      await test.core.workflows.delete(adhoc.id);
      await test.core.events.delete(ev.id);
      await expect(test.core.events.get(ev.id)).rejects.toMatchObject({ code: ErrorCode.EVENT_NOT_FOUND });
    });
  });

  describe('when the user saves an event with a cron schedule', () => {
    it('returns and pushes the next run the scheduler now holds, and null once the schedule is removed', async () => {
      await test.core.start();
      const pushed: Array<string | null> = [];
      test.core.bus.subscribe((name, payload) => {
        if (name === 'events/changed') pushed.push((payload as { event: { nextRunAt: string | null } | null }).event?.nextRunAt ?? null);
      });
      const before = Date.now();
      const ev = await test.core.events.save(base({ schedule: { kind: 'cron', expression: '*/5 * * * *' }, timeZone: 'UTC' }));
      expect(ev.nextRunAt).not.toBeNull();
      const next = Date.parse(ev.nextRunAt!);
      expect(next).toBeGreaterThan(before);
      expect(next - before).toBeLessThanOrEqual(5 * 60_000);
      expect(new Date(next).getUTCMinutes() % 5).toBe(0);
      expect(ev.nextRunAt).toBe(test.core.scheduler.scheduler.nextFire('event', ev.id)?.toISOString());
      expect((await test.core.events.get(ev.id)).nextRunAt).toBe(ev.nextRunAt);

      const manual = await test.core.events.save(base({ id: ev.id, schedule: null }));
      expect(manual.nextRunAt).toBeNull();
      expect(pushed).toEqual([ev.nextRunAt, null]);
    });
  });

  describe('when the event has run', () => {
    it('reports as lastRun the newest job of the event', async () => {
      const ev = await test.core.events.save(base());
      const other = await test.core.events.save(base({ name: 'other' }));
      expect(ev.lastRun).toBeNull();
      const job = (id: string, eventId: string, status: string, createdAt: string) =>
        test.core.db.kysely
          .insertInto('jobs')
          .values({ id, event_id: eventId, server_id: 's1', status, created_at: createdAt, updated_at: createdAt })
          .execute();
      await job('j-new', ev.id, 'FAILURE', '2030-01-02T00:00:00.000Z');
      await job('j-old', ev.id, 'SUCCESS', '2030-01-01T00:00:00.000Z');
      await job('j-other', other.id, 'RUNNING', '2030-01-03T00:00:00.000Z');
      expect((await test.core.events.get(ev.id)).lastRun).toEqual({ jobId: 'j-new', status: 'FAILURE', at: '2030-01-02T00:00:00.000Z' });
      // Two jobs of one run (one per server) share created_at: the one inserted last is the newest.
      await job('j-b', ev.id, 'RUNNING', '2030-01-04T00:00:00.000Z');
      await job('j-a', ev.id, 'QUEUED', '2030-01-04T00:00:00.000Z');
      const listed = (await test.core.events.list()).find((e) => e.id === ev.id)!;
      expect(listed.lastRun).toEqual({ jobId: 'j-a', status: 'QUEUED', at: '2030-01-04T00:00:00.000Z' });
    });
  });
});
