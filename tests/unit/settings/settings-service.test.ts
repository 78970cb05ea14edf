/**
 * SettingsService on real SQLite files: defaults, updates that persist across a re-open, refused updates that save
 * nothing, the change list's environment overrides (valid and invalid) and the feature flags.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Settings, type SettingsView } from '../../../src-shared/contract/settings';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { defaultSettings, RUNNER_DEFAULT_VERSION } from '../../../src-main/core/settings/defaults';
import { SettingsService } from '../../../src-main/core/settings/settings-service';
import { refusal } from '../../harness/refusal';
import { ErrorCode } from '../../../src-shared/errors';

const MIGRATIONS = path.resolve(__dirname, '../../../migrations');

let tmp: string;
let file: string;
const opened: AppDatabase[] = [];

function openService(env: Record<string, string | undefined> = {}, bus = new EventBus()) {
  const db = openDatabase(file, MIGRATIONS);
  opened.push(db);
  return { db, bus, settings: new SettingsService(db, env, bus) };
}

function reopen(env: Record<string, string | undefined> = {}) {
  for (const db of opened.splice(0)) db.close();
  return openService(env);
}


beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-settings-test-'));
  file = path.join(tmp, 'cronium.sqlite');
});
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  vi.restoreAllMocks();
});

describe('settings', () => {
  describe('when the app starts with an empty database', () => {
    it('uses the defaults, which satisfy the contract', () => {
      const { settings } = openService();
      expect(Settings.parse(defaultSettings())).toEqual(defaultSettings());
      const s = settings.current();
      expect(s.runner).toMatchObject({
        enabled: true,
        defaultExecutionMode: 'auto',
        fallbackToDirect: true,
        deploymentTimeout: 120,
        healthCheckInterval: 60,
        defaultVersion: RUNNER_DEFAULT_VERSION,
        updatePolicy: 'manual',
        cacheTtlDays: 90,
        downloadTimeout: 30,
        maxPayloadBytes: 10 * 1024 * 1024,
        jobHost: true,
      });
      expect(s.streaming).toEqual({ bufferSize: 65536, timeoutSeconds: 300 });
      expect(s.listener.port).toBe(0);
      expect(s.notifications).toEqual({
        onFailure: true,
        onSuccess: false,
        onRecovered: true,
        onRunnerUnhealthy: true,
        onLinkLost: true,
        onScheduleMissed: true,
        quietHours: { enabled: false, start: '22:00', end: '07:00' },
        groupWindowSeconds: 5,
      });
      expect(s.flags).toEqual({
        ssh_runner_enabled: true,
        ssh_runner_streaming_logs: true,
        ssh_runner_auto_deploy: true,
        ssh_runner_fallback: true,
      });
      expect(settings.view().overrides).toEqual({});
    });
  });

  describe('when the user changes a setting', () => {
    it('saves it, tells listeners, and still has it after the app restarts', () => {
      const { settings, bus } = openService();
      const seen: SettingsView[] = [];
      bus.subscribe((name, payload) => {
        if (name === 'settings/changed') seen.push(payload as SettingsView);
      });

      const view = settings.update({ runner: { cacheTtlDays: 30, health: { cpuDegradedPercent: 70 } }, flags: { ssh_runner_fallback: false } });
      expect(view.settings.runner.cacheTtlDays).toBe(30);
      expect(view.settings.runner.health.cpuDegradedPercent).toBe(70);
      // Fields not in the patch keep their values.
      expect(view.settings.runner.health.cpuUnhealthyPercent).toBe(95);
      expect(view.settings.runner.deploymentTimeout).toBe(120);
      expect(settings.flag('ssh_runner_fallback')).toBe(false);
      expect(seen).toHaveLength(1);
      expect(seen[0].settings.runner.cacheTtlDays).toBe(30);

      const { settings: after } = reopen();
      expect(after.current().runner.cacheTtlDays).toBe(30);
      expect(after.current().runner.health.cpuDegradedPercent).toBe(70);
      expect(after.flag('ssh_runner_fallback')).toBe(false);
      expect(after.flag('ssh_runner_enabled')).toBe(true);
    });

    it('stores one JSON row per section and one row per flag', () => {
      const { settings, db } = openService();
      settings.update({ streaming: { bufferSize: 4096 }, flags: { ssh_runner_auto_deploy: false } });
      const rows = db.sqlite.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[];
      expect(rows.map((r) => r.key)).toEqual(['streaming']);
      expect(JSON.parse(rows[0].value)).toEqual({ bufferSize: 4096, timeoutSeconds: 300 });
      expect(db.sqlite.prepare('SELECT name, enabled FROM feature_flags').all()).toEqual([{ name: 'ssh_runner_auto_deploy', enabled: 0 }]);
    });

    it('refuses a bad value with a message naming the field, and saves nothing of that update', () => {
      const { settings, bus } = openService();
      const listener = vi.fn();
      bus.subscribe(listener);

      const err = refusal(() => settings.update({ runner: { cacheTtlDays: 0, deploymentTimeout: 300 } }));
      expect(err.code).toBe(ErrorCode.INVALID_SETTING);
      expect(err.extra.fields).toHaveProperty(['runner.cacheTtlDays']);
      expect(err.message).toMatch(/runner\.cacheTtlDays/);
      expect(settings.current().runner.deploymentTimeout).toBe(120);
      expect(listener).not.toHaveBeenCalled();

      const { settings: after } = reopen();
      expect(after.current().runner.deploymentTimeout).toBe(120);
      expect(after.current().runner.cacheTtlDays).toBe(90);
    });

    it('refuses a version that is not a version and an unknown execution mode', () => {
      const { settings } = openService();
      expect(refusal(() => settings.update({ runner: { defaultVersion: 'latest' } })).extra.fields).toHaveProperty(['runner.defaultVersion']);
      expect(refusal(() => settings.update({ runner: { defaultExecutionMode: 'telnet' as never } })).code).toBe(ErrorCode.INVALID_SETTING);
    });

    it('refuses health thresholds where "degraded" could never be reported', () => {
      const { settings } = openService();
      const err = refusal(() => settings.update({ runner: { health: { cpuDegradedPercent: 99, cpuUnhealthyPercent: 90 } } }));
      expect(err.extra.fields).toHaveProperty(['runner.health.cpuDegradedPercent']);
      expect(settings.current().runner.health.cpuUnhealthyPercent).toBe(95);
    });
  });

  describe('when the environment sets the change list variables', () => {
    const env = {
      RUNNER_ARTIFACT_PATH: '/var/cronium/runners',
      RUNNER_CACHE_TTL_DAYS: '14',
      RUNNER_DEFAULT_VERSION: '1.2.3',
      RUNNER_HEALTH_CHECK_INTERVAL: '30',
      HELPER_API_PORT: '8081',
      HELPER_DOWNLOAD_TIMEOUT: '45',
      LOG_STREAM_BUFFER_SIZE: '131072',
      LOG_STREAM_TIMEOUT: '600',
      HELPER_JWT_SECRET: 'super-secret-value',
    };

    it('overrides the stored values and reports which variable pins which field', () => {
      const { settings } = openService(env);
      const view = settings.view();
      expect(view.settings.runner).toMatchObject({
        artifactCachePath: '/var/cronium/runners',
        cacheTtlDays: 14,
        defaultVersion: '1.2.3',
        healthCheckInterval: 30,
        downloadTimeout: 45,
      });
      expect(view.settings.listener.port).toBe(8081);
      expect(view.settings.streaming).toEqual({ bufferSize: 131072, timeoutSeconds: 600 });
      expect(view.overrides).toEqual({
        'runner.artifactCachePath': 'RUNNER_ARTIFACT_PATH',
        'runner.cacheTtlDays': 'RUNNER_CACHE_TTL_DAYS',
        'runner.defaultVersion': 'RUNNER_DEFAULT_VERSION',
        'runner.healthCheckInterval': 'RUNNER_HEALTH_CHECK_INTERVAL',
        'listener.port': 'HELPER_API_PORT',
        'runner.downloadTimeout': 'HELPER_DOWNLOAD_TIMEOUT',
        'streaming.bufferSize': 'LOG_STREAM_BUFFER_SIZE',
        'streaming.timeoutSeconds': 'LOG_STREAM_TIMEOUT',
      });
    });

    it('keeps HELPER_JWT_SECRET out of the settings and the database', () => {
      const { settings, db } = openService(env);
      settings.update({ runner: { enabled: false } });
      expect(settings.helperJwtSecretFromEnv()).toBe('super-secret-value');
      expect(JSON.stringify(settings.view())).not.toContain('super-secret-value');
      const stored = db.sqlite.prepare('SELECT value FROM settings').all();
      expect(JSON.stringify(stored)).not.toContain('super-secret-value');
      expect(openService({}).settings.helperJwtSecretFromEnv()).toBeUndefined();
    });

    it('still saves a pinned field, which takes effect once the variable is gone', () => {
      const { settings } = openService(env);
      const view = settings.update({ runner: { cacheTtlDays: 7 } });
      expect(view.settings.runner.cacheTtlDays).toBe(14);
      expect(view.overrides['runner.cacheTtlDays']).toBe('RUNNER_CACHE_TTL_DAYS');

      const { settings: unpinned } = reopen({});
      expect(unpinned.current().runner.cacheTtlDays).toBe(7);
      expect(unpinned.view().overrides).toEqual({});
    });

    it('ignores an invalid value with a warning instead of failing to start', () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const { settings } = openService({ RUNNER_CACHE_TTL_DAYS: 'ninety', HELPER_API_PORT: '70000', LOG_STREAM_TIMEOUT: '1e3', RUNNER_DEFAULT_VERSION: 'v2', LOG_STREAM_BUFFER_SIZE: '8192' });
      const s = settings.current();
      expect(s.runner.cacheTtlDays).toBe(90);
      expect(s.listener.port).toBe(0);
      expect(s.streaming.timeoutSeconds).toBe(300);
      expect(s.runner.defaultVersion).toBe(RUNNER_DEFAULT_VERSION);
      expect(s.streaming.bufferSize).toBe(8192);
      expect(settings.view().overrides).toEqual({ 'streaming.bufferSize': 'LOG_STREAM_BUFFER_SIZE' });
      const warnings = warn.mock.calls.map((c) => String(c[0])).join('\n');
      for (const v of ['RUNNER_CACHE_TTL_DAYS', 'HELPER_API_PORT', 'LOG_STREAM_TIMEOUT', 'RUNNER_DEFAULT_VERSION']) expect(warnings).toContain(v);
    });
  });

  describe('when the stored settings were damaged', () => {
    it('falls back to the defaults for that section and keeps the others', () => {
      const { settings, db } = openService();
      settings.update({ runner: { cacheTtlDays: 12 }, streaming: { bufferSize: 2048 } });
      db.sqlite.prepare("UPDATE settings SET value = '{\"bufferSize\": -5}' WHERE key = 'streaming'").run();
      vi.spyOn(console, 'warn').mockImplementation(() => {});

      const { settings: after } = reopen();
      expect(after.current().streaming.bufferSize).toBe(65536);
      expect(after.current().runner.cacheTtlDays).toBe(12);
    });
  });
});
