/**
 * Composition root: createCore(config, ports) builds every core service once, in dependency order, for every entry
 * point (the Electron shell, serve mode, integration tests). Nothing here imports 'electron'; what differs between
 * entry points (the secret store, the clock, the notifier) comes in as a port.
 * To add a service: construct it here, add it to Core, start/stop it in start()/stop().
 */
import path from 'node:path';
import { EventBus } from './event-bus';
import { systemClock, type Clock } from './clock';
import type { SecretStore } from './secrets/secret-store';
import { openDatabase, type AppDatabase } from './db/database';
import { SettingsService } from './settings/settings-service';
import { createMetrics, type Metrics } from './metrics/metrics';
import { LocalListener } from './listener/local-listener';

export interface CoreConfig {
  /** Folder holding the SQLite file and the app's local caches. */
  dataDir: string;
  /** The numbered SQL migrations (the repo's migrations/ folder, or its copy inside app.asar). */
  migrationsDir: string;
  /** The repo's resources/ folder (icons, public keys, bundled runner artifacts). */
  resourcesDir: string;
  mode: 'electron' | 'serve';
  appVersion: string;
  /** Environment variables honoured as overrides (the change list's RUNNER_*, HELPER_*, LOG_STREAM_*). */
  env: Record<string, string | undefined>;
}

export interface CorePorts {
  secrets: SecretStore;
  clock?: Clock;
}

export interface Core {
  config: CoreConfig;
  bus: EventBus;
  clock: Clock;
  secrets: SecretStore;
  db: AppDatabase;
  settings: SettingsService;
  metrics: Metrics;
  listener: LocalListener;
  /** Starts background work (listener, monitors, scheduler). */
  start(): Promise<void>;
  /** Stops background work and closes the database; idempotent. */
  stop(): Promise<void>;
}

export async function createCore(config: CoreConfig, ports: CorePorts): Promise<Core> {
  const bus = new EventBus();
  const clock = ports.clock ?? systemClock;
  const db = openDatabase(path.join(config.dataDir, 'cronium.sqlite'), config.migrationsDir);
  const settings = new SettingsService(db, config.env, bus);
  const metrics = createMetrics();
  const listener = new LocalListener({ metrics, settings, appVersion: config.appVersion });

  let stopped = false;
  const core: Core = {
    config,
    bus,
    clock,
    secrets: ports.secrets,
    db,
    settings,
    metrics,
    listener,
    async start() {
      await listener.start(settings.current().listener.port);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await listener.stop();
      db.close();
    },
  };
  return core;
}
