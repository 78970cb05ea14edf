/**
 * SettingsStore: the one holder of the SQL over `settings` (one JSON row per section) and `feature_flags`.
 * Synchronous (better-sqlite3 statements) so SettingsService.current() stays synchronous for every caller.
 * SettingsService validates and merges; this only reads and writes rows.
 */
import type { AppDatabase } from '../db/database';

export class SettingsStore {
  constructor(private readonly db: AppDatabase) {}

  sections(): Array<{ key: string; value: string }> {
    return this.db.sqlite.prepare('SELECT key, value FROM settings').all() as Array<{ key: string; value: string }>;
  }

  flags(): Array<{ name: string; enabled: number }> {
    return this.db.sqlite.prepare('SELECT name, enabled FROM feature_flags').all() as Array<{ name: string; enabled: number }>;
  }

  /** Writes the given sections (JSON text) and flags in one transaction. */
  save(sections: Array<[key: string, json: string]>, flags: Array<[name: string, enabled: boolean]>, at: string): void {
    const upsertSection = this.db.sqlite.prepare(
      'INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    );
    const upsertFlag = this.db.sqlite.prepare(
      'INSERT INTO feature_flags (name, enabled, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at',
    );
    this.db.sqlite.transaction(() => {
      for (const [key, json] of sections) upsertSection.run(key, json, at);
      for (const [name, enabled] of flags) upsertFlag.run(name, enabled ? 1 : 0, at);
    })();
  }
}
