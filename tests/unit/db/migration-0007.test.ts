/**
 * Migration 0007 on a real SQLite file: runs recorded as SUCCESS before issue 16 although a step failed (the failure was
 * handled by a connection) become HANDLED_FAILURE; clean successes and failures stay as they were.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { nowIso } from '../../../src-main/core/db/ids';

const REPO_MIGRATIONS = path.resolve(__dirname, '../../../migrations');
let tmp: string;
const opened: AppDatabase[] = [];

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-mig7-'));
});
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('migration 0007 (workflow runs that succeeded with a handled failure)', () => {
  it('reclassifies only the SUCCESS runs that have a failed step', () => {
    const before = path.join(tmp, 'migrations-before');
    fs.mkdirSync(before);
    for (const f of fs.readdirSync(REPO_MIGRATIONS).filter((f) => f < '0007')) fs.copyFileSync(path.join(REPO_MIGRATIONS, f), path.join(before, f));
    const file = path.join(tmp, 'cronium.sqlite');
    const old = openDatabase(file, before);
    const at = nowIso(Date.now());
    old.sqlite.prepare("INSERT INTO workflows (id, name, created_at, updated_at) VALUES ('w1', 'etl', ?, ?)").run(at, at);
    const run = old.sqlite.prepare("INSERT INTO workflow_runs (id, workflow_id, workflow_version, status, started_at) VALUES (?, 'w1', 1, ?, ?)");
    const step = old.sqlite.prepare("INSERT INTO workflow_step_runs (id, run_id, node_id, status) VALUES (?, ?, ?, ?)");
    run.run('handled', 'SUCCESS', at);
    step.run('h1', 'handled', 'a', 'FAILURE');
    step.run('h2', 'handled', 'b', 'SUCCESS');
    run.run('clean', 'SUCCESS', at);
    step.run('c1', 'clean', 'a', 'SUCCESS');
    step.run('c2', 'clean', 'b', 'SKIPPED');
    run.run('failed', 'FAILURE', at);
    step.run('f1', 'failed', 'a', 'FAILURE');
    old.close();

    const db = openDatabase(file, REPO_MIGRATIONS);
    opened.push(db);
    const status = (id: string) => (db.sqlite.prepare('SELECT status FROM workflow_runs WHERE id = ?').get(id) as { status: string }).status;
    expect(status('handled')).toBe('HANDLED_FAILURE');
    expect(status('clean')).toBe('SUCCESS');
    expect(status('failed')).toBe('FAILURE');
  });
});
