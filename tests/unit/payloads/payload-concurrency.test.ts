// Issue 13 item 1: payload get-or-create under concurrency. Forty jobs of a new event registering its payload at once
// (the fan-out that ended 1 SUCCESS / 39 FAILURE) must all get the id of the one stored row; a payload registered
// earlier keeps its id; forty concurrent uploads of one payload to one server send it once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { SettingsService } from '../../../src-main/core/settings/settings-service';
import { createMetrics } from '../../../src-main/core/metrics/metrics';
import type { SshPool } from '../../../src-main/core/ssh/ssh-pool';
import { systemClock } from '../../../src-main/core/clock';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { PayloadService } from '../../../src-main/core/payloads/payload-service';
import type { ExecutionEvent } from '../../../src-main/core/jobs/executor';
import { MIGRATIONS_DIR } from '../../harness/test-core';

let dir: string;
let db: AppDatabase;
let payloads: PayloadService;
const uploads: string[] = [];
const remoteFiles = new Map<string, number>();

const event: ExecutionEvent = {
  id: 'ev-fan', version: 1, name: 'fan', scriptType: 'bash', content: 'echo fan\n', env: {}, timeoutSeconds: 60, runnerRequirements: null,
};

/** A stand-in SSH connection that records uploads and answers stat from what was uploaded (slowly, as a network would). */
const fakeSsh = {
  async acquire() {
    const tick = () => new Promise((r) => setTimeout(r, 5));
    return {
      async stat(p: string) {
        await tick();
        return remoteFiles.has(p) ? { size: remoteFiles.get(p)! } : null;
      },
      async mkdirp() {
        await tick();
      },
      async uploadFile(src: string | Buffer, dest: string) {
        await tick();
        if (!dest.endsWith('last-used')) uploads.push(dest);
        remoteFiles.set(dest, typeof src === 'string' ? fs.statSync(src).size : src.length);
      },
    };
  },
} as unknown as SshPool;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-payload-race-'));
  db = openDatabase(path.join(dir, 'db.sqlite'), MIGRATIONS_DIR);
  const now = new Date().toISOString();
  await db.kysely.insertInto('events').values({ id: event.id, name: 'fan', script_type: 'bash', content: event.content, created_at: now, updated_at: now, version: 1 } as never).execute();
  payloads = new PayloadService({
    db, settings: new SettingsService(db, {}, new EventBus()), secrets: new MemorySecretStore(), metrics: createMetrics(), clock: systemClock,
    dir: path.join(dir, 'payloads'), ssh: fakeSsh,
  });
  uploads.length = 0;
  remoteFiles.clear();
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('payload get-or-create under concurrency', () => {
  it('gives forty concurrent first registrations of a new event the id of the one stored row', async () => {
    const all = await Promise.all(Array.from({ length: 40 }, () => payloads.generatePayload(event)));
    const rows = await db.kysely.selectFrom('execution_payloads').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(new Set(all.map((p) => p.id))).toEqual(new Set([rows[0]!.id]));
  });

  it('keeps the stored id when the same payload is registered again (separately built, not shared in flight)', async () => {
    const first = await payloads.generatePayload(event);
    // A payload object with a fresh id (what a second process, or a build outside the flight, would carry).
    const again = await payloads.cachePayload({ ...first, id: 'another-id' });
    expect(again.id).toBe(first.id);
    expect(await payloads.getById(first.id)).not.toBeNull();
  });

  it('uploads a payload to a server once when forty jobs on that server need it at once', async () => {
    const p = await payloads.generatePayload(event);
    const results = await Promise.all(Array.from({ length: 40 }, () => payloads.ensureOnServer('server-1', p)));
    expect(uploads.filter((u) => u.endsWith('payload.tar.gz') || u.includes(p.checksum))).toHaveLength(2); // archive + signature
    expect(results.every((r) => r.uploaded)).toBe(true);
    // Later, with the payload there: nothing is sent.
    expect((await payloads.ensureOnServer('server-1', p)).uploaded).toBe(false);
  });
});
