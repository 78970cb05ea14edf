/**
 * The database and its migrations, on real SQLite files in temp folders: a fresh install, an upgrade in place from
 * an older migration set, re-opening, and the refusals (an edited applied migration, a database from a newer app).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { readMigrations } from '../../../src-main/core/db/migrator';
import { newId, nowIso } from '../../../src-main/core/db/ids';
import type { DB } from '../../../src-main/core/db/schema';
import { refusal } from '../../harness/refusal';
import { ErrorCode } from '../../../src-shared/errors';

const REPO_MIGRATIONS = path.resolve(__dirname, '../../../migrations');

/** Every table the schema types declare, apart from the migrator's own. */
const SCHEMA_TABLES: (keyof DB)[] = [
  'servers', 'events', 'event_servers', 'jobs', 'logs', 'log_blocks', 'variables', 'workflows', 'workflow_nodes',
  'workflow_edges', 'workflow_runs', 'workflow_step_runs', 'settings', 'feature_flags', 'audit_log', 'schedule_fires',
  'runner_artifacts', 'runner_deployments', 'execution_payloads', 'notifications', 'event_script_versions', 'event_runs',
  'mode_migrations', 'alert_rules', 'alert_deliveries', 'alert_attempts', 'server_residents', 'server_schedule_copies',
];

let tmp: string;
const opened: AppDatabase[] = [];

function open(file: string, migrationsDir = REPO_MIGRATIONS): AppDatabase {
  const db = openDatabase(file, migrationsDir);
  opened.push(db);
  return db;
}

function tables(db: AppDatabase): string[] {
  return (db.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );
}

function columns(db: AppDatabase, table: string): string[] {
  return (db.sqlite.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((r) => r.name);
}

function applied(db: AppDatabase): string[] {
  return (db.sqlite.prepare('SELECT name FROM migrations ORDER BY name').all() as { name: string }[]).map((r) => r.name);
}


beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-db-test-'));
});
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the database', () => {
  describe('when the app starts for the first time', () => {
    it('creates the data folder and every table of every migration', () => {
      const file = path.join(tmp, 'nested', 'data', 'cronium.sqlite');
      const db = open(file);
      expect(fs.existsSync(file)).toBe(true);
      expect(tables(db)).toEqual([...SCHEMA_TABLES, 'migrations'].sort());
      expect(applied(db)).toEqual(readMigrations(REPO_MIGRATIONS).map((m) => m.name));
    });

    it('runs in WAL mode with foreign keys enforced', () => {
      const db = open(path.join(tmp, 'cronium.sqlite'));
      expect(db.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.sqlite.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
      expect(Number(db.sqlite.pragma('busy_timeout', { simple: true }))).toBeGreaterThan(0);
      expect(fs.existsSync(path.join(tmp, 'cronium.sqlite-wal'))).toBe(true);
      expect(() =>
        db.sqlite
          .prepare("INSERT INTO event_servers (event_id, server_id) VALUES ('no-such-event', 'no-such-server')")
          .run(),
      ).toThrow(/FOREIGN KEY/);
    });

    it('gives typed kysely access to the change list tables and columns', async () => {
      const db = open(path.join(tmp, 'cronium.sqlite'));
      const serverId = newId();
      const at = nowIso(Date.now());
      await db.kysely
        .insertInto('servers')
        .values({ id: serverId, name: 'db-1', host: '127.0.0.1', username: 'ops', auth_type: 'key', credential_ref: 'server:db-1', created_at: at, updated_at: at })
        .execute();
      const deploymentId = newId();
      await db.kysely
        .insertInto('runner_deployments')
        .values({ id: deploymentId, server_id: serverId, runner_version: '1.0.0', deployed_at: at, status: 'active', metadata: '{}' })
        .execute();
      await db.kysely
        .insertInto('jobs')
        .values({ id: newId(), server_id: serverId, status: 'QUEUED', runner_id: deploymentId, execution_mode: 'runner-ssh', created_at: at, updated_at: at })
        .execute();
      const job = await db.kysely.selectFrom('jobs').selectAll().executeTakeFirstOrThrow();
      expect(job).toMatchObject({ runner_id: deploymentId, execution_mode: 'runner-ssh', trigger: 'manual', attempt: 1 });
      const server = await db.kysely.selectFrom('servers').select(['port', 'tags', 'max_concurrent_jobs']).executeTakeFirstOrThrow();
      expect(server).toEqual({ port: 22, tags: '[]', max_concurrent_jobs: 4 });
    });
  });

  describe('when the user opens a database written by an older version of the app', () => {
    it('upgrades it in place and keeps its rows', () => {
      const oldMigrations = path.join(tmp, 'migrations-v1');
      fs.mkdirSync(oldMigrations);
      fs.copyFileSync(path.join(REPO_MIGRATIONS, '0001_base.sql'), path.join(oldMigrations, '0001_base.sql'));
      const file = path.join(tmp, 'cronium.sqlite');

      const old = open(file, oldMigrations);
      expect(tables(old)).not.toContain('runner_deployments');
      expect(columns(old, 'jobs')).not.toContain('runner_id');
      const at = nowIso(Date.now());
      old.sqlite
        .prepare("INSERT INTO servers (id, name, host, username, auth_type, credential_ref, created_at, updated_at) VALUES ('s1', 'web-1', '10.0.0.5', 'ops', 'password', 'server:s1', ?, ?)")
        .run(at, at);
      old.sqlite.prepare("INSERT INTO jobs (id, server_id, status, reason, created_at, updated_at) VALUES ('j1', 's1', 'FAILURE', 'cannot reach web-1', ?, ?)").run(at, at);
      old.sqlite.prepare("INSERT INTO logs (id, job_id, status, created_at, updated_at) VALUES ('l1', 'j1', 'FAILURE', ?, ?)").run(at, at);
      old.close();

      const db = open(file);
      expect(applied(db)).toEqual(readMigrations(REPO_MIGRATIONS).map((m) => m.name));
      expect(tables(db)).toEqual(expect.arrayContaining(['runner_artifacts', 'runner_deployments', 'execution_payloads']));
      expect(columns(db, 'jobs')).toEqual(expect.arrayContaining(['runner_id', 'payload_id', 'execution_mode']));
      expect(columns(db, 'logs')).toEqual(expect.arrayContaining(['runner_version', 'stream_started_at', 'partial_output', 'runner_metadata']));
      expect(db.sqlite.prepare("SELECT name, host FROM servers WHERE id = 's1'").get()).toEqual({ name: 'web-1', host: '10.0.0.5' });
      expect(db.sqlite.prepare("SELECT status, runner_id FROM jobs WHERE id = 'j1'").get()).toEqual({ status: 'FAILURE', runner_id: null });
      // A log that ended before logs.reason existed takes its job's reason.
      expect(db.sqlite.prepare("SELECT reason FROM logs WHERE id = 'l1'").get()).toEqual({ reason: 'cannot reach web-1' });
    });

    it('applies nothing when it is opened again', () => {
      const file = path.join(tmp, 'cronium.sqlite');
      const first = open(file);
      const recorded = first.sqlite.prepare('SELECT name, applied_at, checksum FROM migrations ORDER BY name').all();
      first.sqlite.prepare("INSERT INTO feature_flags (name, enabled, updated_at) VALUES ('ssh_runner_fallback', 0, ?)").run(nowIso(Date.now()));
      first.close();

      const again = open(file);
      expect(again.sqlite.prepare('SELECT name, applied_at, checksum FROM migrations ORDER BY name').all()).toEqual(recorded);
      expect(again.sqlite.prepare('SELECT enabled FROM feature_flags').get()).toEqual({ enabled: 0 });
    });

    it('leaves the database as it was when a migration fails half way', () => {
      const dir = path.join(tmp, 'migrations-broken');
      fs.mkdirSync(dir);
      fs.copyFileSync(path.join(REPO_MIGRATIONS, '0001_base.sql'), path.join(dir, '0001_base.sql'));
      fs.writeFileSync(path.join(dir, '0002_half.sql'), 'CREATE TABLE half_done (id TEXT);\nALTER TABLE no_such_table ADD COLUMN x TEXT;\n');
      const file = path.join(tmp, 'cronium.sqlite');
      const err = refusal(() => open(file, dir));
      expect(err.code).toBe(ErrorCode.MIGRATION_FAILED);
      expect(err.message).toContain('0002_half.sql');

      fs.rmSync(path.join(dir, '0002_half.sql'));
      const db = open(file, dir);
      expect(applied(db)).toEqual(['0001_base.sql']);
      expect(tables(db)).not.toContain('half_done');
    });
  });

  describe('when the migrations do not match the database', () => {
    it('refuses a database whose applied migration file was edited afterwards', () => {
      const dir = path.join(tmp, 'migrations');
      fs.cpSync(REPO_MIGRATIONS, dir, { recursive: true });
      const file = path.join(tmp, 'cronium.sqlite');
      open(file, dir).close();
      fs.appendFileSync(path.join(dir, '0001_base.sql'), '\nCREATE TABLE sneaky (id TEXT);\n');

      const err = refusal(() => open(file, dir));
      expect(err.code).toBe(ErrorCode.MIGRATION_CHANGED);
      expect(err.message).toMatch(/0001_base\.sql was changed after it was applied/);
    });

    it('refuses a database upgraded by a newer version of the app', () => {
      const file = path.join(tmp, 'cronium.sqlite');
      const db = open(file);
      db.sqlite.prepare("INSERT INTO migrations (name, applied_at, checksum) VALUES ('0099_future.sql', ?, 'abc')").run(nowIso(Date.now()));
      db.close();

      const err = refusal(() => open(file));
      expect(err.code).toBe(ErrorCode.DATABASE_TOO_NEW);
      expect(err.message).toContain('0099_future.sql');
    });
  });
});
