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
import { SshPool } from './ssh/ssh-pool';
import { ServerService } from './servers/server-service';
import { EventService } from './events/event-service';
import { LogStore } from './logs/log-store';
import { LogStreamService } from './logs/log-stream-service';
import { JobService } from './jobs/job-service';
import { DirectSshExecutor } from './jobs/direct-ssh-executor';
import { ArtifactStore } from './runners/artifact-store';
import { loadTrustedKeys } from './runners/artifact-signing';
import { RunnerService } from './runners/runner-service';
import { registerRunnerRoutes } from './runners/runner-routes';
import { ListenerAuth } from './listener/auth';

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
  /** The one SSH connection pool; targets resolved by core.servers. */
  ssh: SshPool;
  servers: ServerService;
  events: EventService;
  jobs: JobService;
  /** The log pipeline: `store` (lines, statuses, queries) and `stream` (live pushes to subscribed renderers). */
  logs: { store: LogStore; stream: LogStreamService };
  /** Runner artifacts this workstation can deploy (verified on every load). */
  artifacts: ArtifactStore;
  /** Runner deployments, upgrades, rollbacks and health checks per server. */
  runners: RunnerService;
  /** Bearer tokens (HS256 JWT) for the listener's runner and automation routes. */
  listenerAuth: ListenerAuth;
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
  // The pool asks the server catalogue for targets; the catalogue uses the pool to test and to drop stale connections.
  const servers: ServerService = new ServerService({ db, secrets: ports.secrets, bus, clock, ssh: () => ssh });
  const ssh = new SshPool((serverId) => servers.resolveTarget(serverId));
  const events = new EventService({ db, secrets: ports.secrets, bus, clock });
  const logStore = new LogStore(db, bus, () => clock.now());
  const logStream = new LogStreamService(logStore, bus);
  const jobs = new JobService({ db, bus, clock, secrets: ports.secrets, logs: logStore, events, servers });
  jobs.registerExecutor(new DirectSshExecutor(ssh));
  const artifacts = new ArtifactStore({
    db,
    metrics,
    trustedKeys: loadTrustedKeys(path.join(config.resourcesDir, 'keys')),
    artifactDir: () => settings.current().runner.artifactCachePath || path.join(config.dataDir, 'runner-artifacts'),
    bundledDir: path.join(config.resourcesDir, 'runner-artifacts'),
  });
  const runners = new RunnerService({ db, settings, bus, metrics, clock, ssh, artifacts });
  const listenerAuth = new ListenerAuth({ settings, secrets: ports.secrets });
  registerRunnerRoutes(listener, { runners, artifacts, auth: listenerAuth });

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
    ssh,
    servers,
    events,
    jobs,
    logs: { store: logStore, stream: logStream },
    artifacts,
    runners,
    listenerAuth,
    async start() {
      await listener.start(settings.current().listener.port);
      jobs.resumeHandedOver();
      runners.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await jobs.stop();
      await runners.stop();
      ssh.closeAll();
      logStream.close();
      logStore.close();
      await listener.stop();
      db.close();
    },
  };
  // Last, once every executor and resumer is registered: end or hand over the jobs a crash left unfinished.
  await jobs.reconcile();
  return core;
}
