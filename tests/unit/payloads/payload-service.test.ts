// Payloads as the runner meets them: deterministic (same event version -> same bytes, same checksum), registered
// once, signed so that the runner's own verifier accepts them and refuses them once altered, no secret inside, and a
// clear error above the size limit. The runner side is the real src-runner code, not a stand-in.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { SettingsService } from '../../../src-main/core/settings/settings-service';
import { createMetrics } from '../../../src-main/core/metrics/metrics';
import { SshPool } from '../../../src-main/core/ssh/ssh-pool';
import { systemClock } from '../../../src-main/core/clock';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { PAYLOAD_MISSING_EXIT_CODE, PayloadService } from '../../../src-main/core/payloads/payload-service';
import { BASH_SHIM_FILE, NODE_SHIM_FILE, PYTHON_SHIM_FILE } from '../../../src-main/core/payloads/helper-shims';
import { AppError } from '../../../src-main/core/errors';
import type { ExecutionEvent } from '../../../src-main/core/jobs/executor';
import { openPayload, untar } from '../../../src-runner/job/payload';
import { MIGRATIONS_DIR } from '../../harness/test-core';
import { ErrorCode } from '../../../src-shared/errors';

let dir: string;
let db: AppDatabase;
let payloads: PayloadService;
let settings: SettingsService;

const event: ExecutionEvent = {
  id: 'ev-1', version: 3, name: 'backup', scriptType: 'bash', content: 'echo "$GREETING"\n', env: { GREETING: 'hi', A: '1' }, timeoutSeconds: 60, runnerRequirements: null,
};

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-payloads-'));
  db = openDatabase(path.join(dir, 'db.sqlite'), MIGRATIONS_DIR);
  const now = new Date().toISOString();
  await db.kysely.insertInto('events').values({ id: 'ev-1', name: 'backup', script_type: 'bash', content: event.content, created_at: now, updated_at: now, version: 3 } as never).execute();
  settings = new SettingsService(db, {}, new EventBus());
  payloads = new PayloadService({
    db, settings, secrets: new MemorySecretStore(), metrics: createMetrics(), clock: systemClock, dir: path.join(dir, 'payloads'),
    ssh: new SshPool(async () => {
      throw new Error('no server in unit tests');
    }),
  });
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('PayloadService', () => {
  describe('when a payload is generated twice for the same event version', () => {
    it('produces the same bytes and checksum and registers one row', async () => {
      const a = await payloads.generatePayload(event);
      const bytesA = fs.readFileSync(a.path);
      fs.rmSync(path.dirname(a.path), { recursive: true });
      const b = await payloads.generatePayload(event);
      expect(b.checksum).toBe(a.checksum);
      expect(fs.readFileSync(b.path).equals(bytesA)).toBe(true);
      expect(b.id).toBe(a.id);
      expect(await db.kysely.selectFrom('execution_payloads').selectAll().execute()).toHaveLength(1);
      expect((await payloads.getPayload('ev-1', 3))?.checksum).toBe(a.checksum);
      const changed = await payloads.generatePayload({ ...event, version: 4, content: 'echo changed\n' });
      expect(changed.checksum).not.toBe(a.checksum);
    });
  });

  describe('when the runner opens a payload', () => {
    it('verifies it with the app key and unpacks manifest, script and helpers', async () => {
      const p = await payloads.generatePayload(event);
      const into = path.join(dir, 'job');
      const manifest = openPayload(path.dirname(p.path), p.checksum, await payloads.publicKeyPem(), into);
      expect(manifest).toMatchObject({ formatVersion: 1, interpreter: 'bash', entry: 'script.sh', env: { A: '1', GREETING: 'hi' }, timeoutSeconds: 60, job: { eventId: 'ev-1', eventVersion: 3 } });
      expect(fs.readFileSync(path.join(into, 'script.sh'), 'utf8')).toBe(event.content);
      expect(fs.readdirSync(into).sort()).toEqual(['cronium.js', 'cronium.py', 'cronium.sh', 'manifest.json', 'script.sh']);
    });

    it('refuses one altered on the server, or signed by another key', async () => {
      const p = await payloads.generatePayload(event);
      const folder = path.dirname(p.path);
      const otherKey = (await new PayloadService({
        db, settings, secrets: new MemorySecretStore(), metrics: createMetrics(), clock: systemClock, dir: path.join(dir, 'other'), ssh: null as never,
      }).publicKeyPem());
      expect(() => openPayload(folder, p.checksum, otherKey, path.join(dir, 'j1'))).toThrow(/does not verify/);
      const tampered = zlib.gzipSync(Buffer.concat([zlib.gunzipSync(fs.readFileSync(p.path)), Buffer.alloc(512)]));
      fs.writeFileSync(p.path, tampered);
      const key = await payloads.publicKeyPem();
      expect(() => openPayload(folder, p.checksum, key, path.join(dir, 'j2'))).toThrow(/altered on the server/);
    });
  });

  describe('when the event has secrets', () => {
    it('never puts a secret value in the payload (secrets are not part of an ExecutionEvent; env is plain)', async () => {
      const p = await payloads.generatePayload(event);
      // The helper shims are the same text in every payload (they name the `secret` option of setVariable); what is
      // the event's own (manifest, script) carries nothing secret.
      const shims = new Set([BASH_SHIM_FILE, PYTHON_SHIM_FILE, NODE_SHIM_FILE]);
      const entries = untar(zlib.gunzipSync(fs.readFileSync(p.path)));
      expect(entries.map((e) => e.name)).toEqual(expect.arrayContaining([...shims]));
      const text = entries.filter((e) => !shims.has(e.name)).map((e) => e.data.toString('utf8')).join('\n');
      expect(text).not.toMatch(/secret/i);
    });
  });

  describe('when the payload is larger than runner.maxPayloadBytes', () => {
    it('fails with a clear error and registers nothing', async () => {
      settings.update({ runner: { maxPayloadBytes: 2048 } });
      const big = { ...event, content: Array.from({ length: 3000 }, (_, i) => `echo ${i} ${Math.random()}`).join('\n') };
      const err = await payloads.generatePayload(big).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
      expect((err as AppError).message).toMatch(/above the 2048-byte limit \(runner.maxPayloadBytes\)/);
      expect(await db.kysely.selectFrom('execution_payloads').selectAll().execute()).toHaveLength(0);
    });
  });

  describe('when payloads have not been used for the TTL', () => {
    it('removes their rows and archives', async () => {
      const p = await payloads.generatePayload(event);
      await db.kysely.updateTable('execution_payloads').set({ last_used: new Date(Date.now() - 100 * 86400_000).toISOString() }).execute();
      expect(await payloads.cleanupOldPayloads(90)).toBe(1);
      expect(fs.existsSync(p.path)).toBe(false);
      expect(await payloads.getPayload('ev-1', 3)).toBeNull();
    });
  });
  describe("when a runner job's start exec checks the payload on the server (presenceCheck, run by a real sh)", () => {
    it('goes on and marks it used when archive and signature are there, and exits 96 when either is missing or cut', async () => {
      const p = await payloads.generatePayload(event);
      const home = path.join(dir, 'home');
      const remote = path.join(home, '.cronium/payloads', p.checksum);
      const run = () => spawnSync('sh', ['-c', `umask 077; ${payloads.presenceCheck(p)}echo started`], { env: { PATH: process.env.PATH, HOME: home }, encoding: 'utf8' });
      const expectMissing = () => {
        const r = run();
        expect(r.status).toBe(PAYLOAD_MISSING_EXIT_CODE);
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe('');
      };
      expectMissing(); // no folder
      fs.mkdirSync(remote, { recursive: true });
      fs.copyFileSync(p.path, path.join(remote, 'payload.tar.gz'));
      expectMissing(); // no signature: an unfinished upload
      fs.writeFileSync(path.join(remote, 'payload.sig'), JSON.stringify(p.signature));
      fs.truncateSync(path.join(remote, 'payload.tar.gz'), p.sizeBytes - 1);
      expectMissing(); // cut short
      fs.copyFileSync(p.path, path.join(remote, 'payload.tar.gz'));
      const r = run();
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('started\n');
      const used = fs.statSync(path.join(remote, 'last-used'));
      expect(used.mode & 0o777).toBe(0o600);
      expect(Date.parse(fs.readFileSync(path.join(remote, 'last-used'), 'utf8'))).toBeGreaterThan(Date.now() - 60_000);
    });
  });
});
