/**
 * Composition root: createCore(config, ports) builds every core service once, in dependency order, for every entry
 * point (the Electron shell, serve mode, integration tests). Nothing here imports 'electron'; what differs between
 * entry points (the secret store, the clock, the notifier) comes in as a port.
 * To add a service: construct it here, add it to Core, start/stop it in start()/stop().
 *
 * Wiring is explicit: every dependency is a constructor argument; no service sets a hook on another after the fact.
 * The one two-phase part is the Scheduler: it is built early (the event and workflow catalogues keep it current from
 * their constructors) and gets its fire targets (the JobService, the WorkflowService) from SchedulerWiring.start().
 *
 * Construction order: bus, clock, database, settings, metrics, listener -> servers + SSH pool -> Scheduler (schedule
 * book, not firing) -> events -> logs, variables, jobs + executors -> runners, payloads, runner streams, execution
 * -> workflows -> notifications -> SchedulerWiring -> ServerScheduleService. Then, before createCore returns: jobs.reconcile(), workflows.reconcile().
 * start(): notifications (listening first) -> listener -> re-attach handed-over jobs -> runners -> payload clean-up -> resume detached workflow runs ->
 *   scheduler (last: a fire may start jobs at once, so everything they need must be running) -> server schedules
 *   (sweep: collect server fires, install changed schedules).
 * stop(): scheduler -> server schedules -> workflows (detach: runs stay RUNNING, nothing is cancelled) -> jobs (runner jobs detach, direct
 *   ones end) -> runners -> notifications -> payload clean-up -> SSH -> log stream -> log store -> listener -> database.
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
import { tuneV8ForLogStreams } from './v8-tuning';
import { LogStore } from './logs/log-store';
import { LogRetention } from './logs/log-retention';
import { LogStreamService } from './logs/log-stream-service';
import { JobService } from './jobs/job-service';
import { EventRunService } from './jobs/event-run-service';
import { DirectSshExecutor } from './jobs/direct-ssh-executor';
import { ArtifactStore } from './runners/artifact-store';
import { loadTrustedKeys } from './runners/artifact-signing';
import { RunnerService } from './runners/runner-service';
import { JobLinks } from './runners/job-links';
import { registerRunnerRoutes } from './runners/runner-routes';
import { ListenerAuth } from './listener/auth';
import { WorkflowService } from './workflows/workflow-service';
import { CoreJobRunner } from './workflows/core-job-runner';
import { SchedulerWiring } from './scheduler/scheduler-wiring';
import { PayloadService } from './payloads/payload-service';
import { VariablesService } from './variables/variables-service';
import { RunnerStreamHub } from './listener/runner-websocket';
import { JobHosts } from './runners/job-hosts';
import { RunnerSshExecutor } from './jobs/runner-ssh-executor';
import { ExecutionService } from './execution/execution-service';
import { ModePolicy } from './execution/mode-policy';
import { RunnerProvisioning } from './execution/runner-provisioning';
import { JobHelpers } from './execution/job-helpers';
import { ServerScheduleService } from './server-schedules/server-schedule-service';
import { registerRunnerJobResumer } from './jobs/runner-job-resumer';
import { registerStreamingRoutes } from './listener/runner-routes-streaming';
import { Scheduler } from './scheduler/scheduler';
import { SqliteFireStore } from './scheduler/fire-store';
import { MigrationWizard } from './rollout/migration-wizard';
import { TargetProbe } from './rollout/target-probe';
import { NotificationService } from './notifications/notification-service';
import { AlertService } from './alerts/alert-service';
import type { DeliveryPolicy } from './alerts/alert-delivery-queue';
import { CatalogueService } from './catalogue/catalogue-service';

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
  /** Alert delivery retries and timeouts (defaults in alerts/alert-delivery-queue.ts); tests shorten them. */
  alertDelivery?: Partial<DeliveryPolicy>;
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
  /** Runs of an event over several servers: fleet summary, re-run failed, run again, cancel the rest. */
  runs: EventRunService;
  /** The one home of "run this event on this server": mode policy, ensureRunner, attempt start. */
  execution: ExecutionService;
  /** The job hosts (one resident runner per server that starts runner jobs without an exec; settings.runner.jobHost). */
  jobHosts: JobHosts;
  /** The log pipeline: `store` (lines, statuses, queries) and `stream` (live pushes to subscribed renderers). */
  logs: { store: LogStore; stream: LogStreamService; retention: LogRetention };
  /** Runner artifacts this workstation can deploy (verified on every load). */
  artifacts: ArtifactStore;
  /** Runner deployments, upgrades, rollbacks and health checks per server. */
  runners: RunnerService;
  /** Bearer tokens (HS256 JWT) for the listener's runner and automation routes. */
  listenerAuth: ListenerAuth;
  /** Execution payloads (build, sign, cache, upload, TTL cleanup). */
  payloads: PayloadService;
  /** The variables the helpers read and write. */
  variables: VariablesService;
  /** The listener's runner stream route (WS /api/runner/stream/:jobId). */
  runnerStreams: RunnerStreamHub;
  /** Workflows: the DAG catalogue, runs and their executor. */
  workflows: WorkflowService;
  /** Schedules of events and workflows (fires, misfires, overlap); `wiring.notifyWake()` after a power resume. */
  scheduler: { scheduler: Scheduler; wiring: SchedulerWiring };
  /** Server-held schedules (the resident runner on each server): install, keep in step, collect what fired there. */
  serverSchedules: ServerScheduleService;
  /** The rollout's phase 3: the migration wizard (check, consent, switch, test run, undo). */
  migration: MigrationWizard;
  /** The one source of notifications (centre history + alerts for the browser or native notifications). */
  notifications: NotificationService;
  /** Alert rules and their deliveries to webhooks, mail and commands (external channels; issue 17). */
  alerts: AlertService;
  /** Export and import of the catalogue as YAML (servers, events, schedules, workflows, variables). */
  catalogue: CatalogueService;
  /** Starts background work (listener, monitors, scheduler). */
  start(): Promise<void>;
  /** Stops background work and closes the database; idempotent. */
  stop(): Promise<void>;
}

export async function createCore(config: CoreConfig, ports: CorePorts): Promise<Core> {
  tuneV8ForLogStreams();
  const bus = new EventBus();
  const clock = ports.clock ?? systemClock;
  const db = openDatabase(path.join(config.dataDir, 'cronium.sqlite'), config.migrationsDir, clock);
  const settings = new SettingsService(db, config.env, bus, clock);
  const metrics = createMetrics();
  const listener = new LocalListener({ metrics, settings, appVersion: config.appVersion, clock });
  // The pool asks the server catalogue for targets; the catalogue uses the pool to test and to drop stale connections.
  const servers: ServerService = new ServerService({ db, secrets: ports.secrets, bus, clock, ssh: () => ssh });
  const ssh = new SshPool((serverId) => servers.resolveTarget(serverId), { clock });
  // Built before the catalogues that keep it current; it fires only once SchedulerWiring.start() gives it its targets.
  const fireStore = new SqliteFireStore(db);
  const scheduler = new Scheduler({ clock, store: fireStore, onRecord: (rec) => bus.emit('schedule/fired', rec) });
  const events = new EventService({ db, secrets: ports.secrets, bus, clock, schedules: scheduler });
  const logStore = new LogStore(db, bus, clock);
  const logStream = new LogStreamService(logStore, bus);
  const logRetention = new LogRetention(logStore, () => settings.current().logs, clock);
  const variables = new VariablesService({ db, secrets: ports.secrets, clock });
  // Link state of runner jobs: every change is a fresh 'jobs/changed' (the job view carries it).
  const jobLinks = new JobLinks((jobId) => {
    void jobs.get(jobId).then((job) => bus.emit('jobs/changed', { job }), () => undefined);
  });
  const jobs = new JobService({ db, bus, clock, variables, logs: logStore, events, servers, links: jobLinks });
  const directExecutor = new DirectSshExecutor(ssh, { clock });
  const artifacts = new ArtifactStore({
    db,
    metrics,
    trustedKeys: loadTrustedKeys(path.join(config.resourcesDir, 'keys')),
    artifactDir: () => settings.current().runner.artifactCachePath || path.join(config.dataDir, 'runner-artifacts'),
    bundledDir: path.join(config.resourcesDir, 'runner-artifacts'),
    clock,
  });
  const jobHosts = new JobHosts({ ssh, clock, enabled: () => settings.current().runner.jobHost !== false, debug: (line) => console.debug(line) });
  const runners = new RunnerService({ db, settings, bus, metrics, clock, ssh, artifacts, jobHosts });
  const listenerAuth = new ListenerAuth({ settings, secrets: ports.secrets, clock });
  registerRunnerRoutes(listener, { runners, artifacts, auth: listenerAuth });
  listener.serveMetrics(listenerAuth.bearer(['automation']));
  // Execution (core/execution): the one ensureRunner, the mode policy, the start of every attempt; then re-attach.
  const provisioning = new RunnerProvisioning({ runners, ssh, clock });
  const policy = new ModePolicy({ settings, provisioning });
  const jobHelpers = new JobHelpers({ jobs: jobs.store, variables });
  const payloads = new PayloadService({ db, secrets: ports.secrets, settings, metrics, ssh, clock, dir: path.join(config.dataDir, 'payloads') });
  const runnerStreams = new RunnerStreamHub(listener, listenerAuth);
  const runnerExecutor = new RunnerSshExecutor({
    db, clock, ssh, listener, hub: runnerStreams, auth: listenerAuth, logs: logStore, metrics, settings, bus, variables, payloads, runners: provisioning, runnerIntegrity: runners, links: jobLinks, events,
    helpers: jobHelpers, streamingLogs: () => policy.streamingLogs(), jobHosts,
  });
  const execution = new ExecutionService({ policy, provisioning, jobs: jobs.store, executors: [directExecutor, runnerExecutor], helpers: jobHelpers });
  jobs.useLauncher(execution);
  registerRunnerJobResumer(jobs, runnerExecutor);
  registerStreamingRoutes({ listener, auth: listenerAuth, db, bus, logs: logStore, events, payloads, hub: runnerStreams, helpers: jobHelpers });
  const workflows = new WorkflowService({ db, bus, clock, schedules: scheduler, jobs: new CoreJobRunner({ jobs }) });
  const notifications = new NotificationService({
    db,
    bus,
    clock,
    preferences: () => settings.current().notifications,
    jobs,
    ownerName: async (kind, id) =>
      kind === 'event' ? ((await events.store.names([id])).get(id) ?? null) : await workflows.get(id).then((w) => w.name, () => null),
  });
  const alerts = new AlertService({
    db,
    bus,
    clock,
    secrets: ports.secrets,
    policy: config.alertDelivery,
    names: {
      event: async (id) => (await events.get(id)).name,
      workflow: async (id) => (await workflows.get(id)).name,
      server: async (id) => (await servers.get(id)).name,
    },
  });
  const catalogue = new CatalogueService({
    db, bus, clock, secrets: ports.secrets, schedules: scheduler, events, workflows, variables, workflowJobs: new CoreJobRunner({ jobs }), ssh: () => ssh,
  });
  const schedulerWiring = new SchedulerWiring({ scheduler, clock, bus, events, jobs, workflows });
  // Server-held schedules: the resident runner on each target fires them; this keeps it in step and collects.
  const serverSchedules = new ServerScheduleService({ db, clock, bus, ssh, provisioning, runners, payloads, events, jobs, fires: fireStore });
  const migration = new MigrationWizard({
    db, clock, events, servers, jobs, policy,
    probe: new TargetProbe({ ssh, runners, artifacts, settings, clock }),
  });

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
    runs: new EventRunService(jobs),
    logs: { store: logStore, stream: logStream, retention: logRetention },
    artifacts,
    runners,
    listenerAuth,
    payloads,
    execution,
    jobHosts,
    variables,
    runnerStreams,
    workflows,
    scheduler: { scheduler, wiring: schedulerWiring },
    serverSchedules,
    migration,
    notifications,
    alerts,
    catalogue,
    async start() {
      // First: outcomes recorded while the rest starts (re-attached jobs, missed schedules) must reach the centre.
      notifications.start();
      // Also first, for the same reason: alert rules see every outcome from here on.
      await alerts.start();
      listenerAuth.assertConfigured(); // a too short HELPER_JWT_SECRET stops start-up here
      await listener.start(settings.current().listener.port);
      jobs.resumeHandedOver();
      runners.start();
      payloads.startCleanup(() => servers.store.ids());
      logRetention.start();
      // After the handed-over jobs began re-attaching: runs detached at the last quit go on where they were.
      await workflows.resumeDetached();
      // Last: a fire may start jobs at once, so everything they need must be running.
      await schedulerWiring.start();
      // Then the servers' resident runners: collects what fired while the app was away, installs what changed.
      serverSchedules.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Every step runs even when an earlier one fails (a stuck scheduler must not leave SSH, the listener or the
      // database open); each failure is logged and the first one is rethrown at the end.
      const steps: Array<[string, () => unknown]> = [
        ['scheduler', () => schedulerWiring.stop()],
        ['server schedules', () => serverSchedules.stop()],
        // Detach, never cancel: runs stay RUNNING and resume at the next start (their runner jobs go on remotely).
        ['workflows', () => workflows.stop()],
        ['jobs', () => jobs.stop()],
        ['runners', () => runners.stop()],
        // After jobs and runners: their last outcomes still reach the centre.
        ['notifications', () => notifications.stop()],
        ['alerts', () => alerts.stop()],
        ['payload cleanup', () => payloads.stopCleanup()],
        ['log retention', () => logRetention.stop()],
        ['SSH connections', () => ssh.closeAll()],
        ['log stream', () => logStream.close()],
        ['log store', () => logStore.close()],
        ['listener', () => listener.stop()],
        ['database', () => db.close()],
      ];
      let first: unknown = undefined;
      let failed = false;
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (err) {
          console.error(`[core] stopping the ${name} failed:`, err);
          if (!failed) first = err;
          failed = true;
        }
      }
      if (failed) throw first;
    },
  };
  // Last, once every executor and resumer is registered: end or hand over the jobs a crash left unfinished.
  await jobs.reconcile();
  // After the jobs: a running step whose job could not survive the stop ends INTERRUPTED; the rest resume at start().
  await workflows.reconcile();
  return core;
}
