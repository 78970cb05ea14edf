// The rollout and update settings on a real SQLite file: their defaults, an update that persists, a feed URL that is
// not http(s) refused, and the runner update policy "automatic" stored by earlier builds read as "on-next-use".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { SettingsService } from '../../../src-main/core/settings/settings-service';
import { SettingsStore } from '../../../src-main/core/settings/settings-store';
import { defaultSettings } from '../../../src-main/core/settings/defaults';

const MIGRATIONS = path.resolve(__dirname, '../../../migrations');
let tmp: string;
let file: string;
const opened: AppDatabase[] = [];
const open = () => {
  const db = openDatabase(file, MIGRATIONS);
  opened.push(db);
  return db;
};

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-rollout-settings-'));
  file = path.join(tmp, 'cronium.sqlite');
});
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('rollout and update settings', () => {
  it('start with phase 2 on, phase 5 off, the stable channel and the published feed', () => {
    const s = new SettingsService(open(), {}, new EventBus()).current();
    expect(s.rollout).toEqual({ newEventsUseRunner: true, directSshDeprecated: false, directSshFallbackOnly: false });
    expect(s.updates).toEqual({ channel: 'stable', feedUrl: '' });
    expect(s.runner.updatePolicy).toBe('manual');
  });

  it('persist an update and refuse a feed that is not https (or plain http on loopback)', () => {
    const settings = new SettingsService(open(), {}, new EventBus());
    settings.update({ rollout: { directSshDeprecated: true }, updates: { channel: 'beta', feedUrl: 'https://updates.example.org/cronium' }, runner: { updatePolicy: 'eager' } });
    expect(() => settings.update({ updates: { feedUrl: 'file:///etc/passwd' } })).toThrow(/updates\.feedUrl/);
    // Plain http would let anyone on the network serve a forged update with a matching sha512.
    expect(() => settings.update({ updates: { feedUrl: 'http://updates.example.org/cronium' } })).toThrow(/updates\.feedUrl/);
    expect(() => settings.update({ updates: { feedUrl: 'http://127.0.0.1:8080/feed' } })).not.toThrow();
    settings.update({ updates: { feedUrl: 'https://updates.example.org/cronium' } });
    for (const db of opened.splice(0)) db.close();
    const again = new SettingsService(open(), {}, new EventBus()).current();
    expect(again.rollout.directSshDeprecated).toBe(true);
    expect(again.updates).toEqual({ channel: 'beta', feedUrl: 'https://updates.example.org/cronium' });
    expect(again.runner.updatePolicy).toBe('eager');
  });

  it('read the update policy "automatic" of earlier builds as "on-next-use", keeping the rest of the section', () => {
    const db = open();
    const runner = { ...defaultSettings().runner, updatePolicy: 'automatic', deploymentTimeout: 300 };
    new SettingsStore(db).save([['runner', JSON.stringify(runner)]], [], new Date(0).toISOString());
    const s = new SettingsService(db, {}, new EventBus()).current();
    expect(s.runner.updatePolicy).toBe('on-next-use');
    expect(s.runner.deploymentTimeout).toBe(300);
  });
});
