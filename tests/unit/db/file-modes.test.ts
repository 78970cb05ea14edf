// The data folder and the database files are private whatever the umask: the folder 0700, the database and its
// -wal/-shm files 0600, at creation and again at every open when something loosened them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, preparePrivateDataDir, type AppDatabase } from '../../../src-main/core/db/database';

const MIGRATIONS = path.resolve(__dirname, '../../../migrations');
const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

let parent: string;
let previousUmask: number;
let db: AppDatabase | undefined;

beforeEach(() => {
  // The common default: files 0644, folders 0755, unless the app sets its own.
  previousUmask = process.umask(0o022);
  parent = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-modes-'));
});
afterEach(() => {
  db?.close();
  db = undefined;
  process.umask(previousUmask);
  fs.rmSync(parent, { recursive: true, force: true });
});

describe('data folder and database file modes', () => {
  describe('when the app starts on a new data folder with umask 022', () => {
    it('creates the folder 0700 and the database, its WAL and SHM 0600', () => {
      const dataDir = path.join(parent, 'data');
      preparePrivateDataDir(dataDir);
      db = openDatabase(path.join(dataDir, 'cronium.sqlite'), MIGRATIONS);
      db.sqlite.prepare("INSERT INTO settings (key, value, updated_at) VALUES ('probe', '1', 'x') ON CONFLICT DO NOTHING").run();
      expect(modeOf(dataDir)).toBe(0o700);
      for (const suffix of ['', '-wal', '-shm']) {
        const file = path.join(dataDir, `cronium.sqlite${suffix}`);
        expect(fs.existsSync(file), `${file} exists`).toBe(true);
        expect(modeOf(file), `${file} mode`).toBe(0o600);
      }
    });
  });

  describe('when an older version left the folder and the files readable by others', () => {
    it('puts them back to 0700 and 0600 at the next start', () => {
      const dataDir = path.join(parent, 'data');
      preparePrivateDataDir(dataDir);
      db = openDatabase(path.join(dataDir, 'cronium.sqlite'), MIGRATIONS);
      db.close();
      db = undefined;
      fs.chmodSync(dataDir, 0o755);
      for (const f of fs.readdirSync(dataDir)) fs.chmodSync(path.join(dataDir, f), 0o644);

      preparePrivateDataDir(dataDir);
      db = openDatabase(path.join(dataDir, 'cronium.sqlite'), MIGRATIONS);

      expect(modeOf(dataDir)).toBe(0o700);
      for (const f of fs.readdirSync(dataDir)) expect(modeOf(path.join(dataDir, f)), f).toBe(0o600);
    });
  });

  describe('when the data folder given is a shared one', () => {
    it('refuses it with a clear message instead of changing its mode', () => {
      const shared = path.join(parent, 'shared');
      fs.mkdirSync(shared);
      fs.chmodSync(shared, 0o1777);
      expect(() => preparePrivateDataDir(shared)).toThrow(/shared \(sticky bit set\).*--data-dir/);
      expect(modeOf(shared)).toBe(0o777);
    });
  });
});
