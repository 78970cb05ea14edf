/**
 * ServerScheduleService (issue 15): keeps the resident runner on each server in step with the server-held schedules
 * and collects what it fired. For a server it builds the manifest of every enabled, scheduled, server-held event that
 * targets it (payload built and uploaded like any runner job's), signs it with the payload key, measures the clock
 * skew (refusing to install beyond MAX_SKEW_MS), installs it (`cronium-runner resident install`, stdin), makes sure
 * the resident runner runs (`resident ensure`: systemd --user or a background process, restarted here when it was
 * killed), then collects: every fire in the server's record whose job the app does not know yet becomes a job like an
 * app-fired one (fired_on_server), handed to the runner-ssh resumer, which replays its spool and its exit (or attaches
 * live). The fire key (`event:<id>:<scheduled ISO>`) is recorded in the schedule history, and the job id derives from
 * it, so nothing is recorded twice. Runs on start, on every sweep (SWEEP_INTERVAL_MS), after every event change
 * (soon), and on demand. One sync per server at a time. The runner's command comes from the runner provisioning (the
 * deployed runner's own start command), never spelled here.
 */
import { createHash } from 'node:crypto';
import type { AppDatabase } from '../db/database';
import { nowIso } from '../db/ids';
import { every, type Clock } from '../clock';
import type { EventBus } from '../event-bus';
import { AppError, messageOf } from '../errors';
import { EventStore } from '../events/event-store';
import { ServerStore } from '../servers/server-store';
import type { EventService } from '../events/event-service';
import { resolveRunTargets } from '../execution/run-targets';
import { SingleFlight } from '../execution/single-flight';
import type { RunnerProvisioning } from '../execution/runner-provisioning';
import type { JobService } from '../jobs/job-service';
import type { PayloadService } from '../payloads/payload-service';
import type { RunnerService } from '../runners/runner-service';
import { integrityGuard } from '../runners/runner-integrity';
import type { SqliteFireStore } from '../scheduler/fire-store';
import { resolveTimeZone } from '../scheduler/schedule-math';
import type { SshPool } from '../ssh/ssh-pool';
import { checkParameters, parameterEnv } from '../../../src-shared/contract/run-parameters';
import { DEFAULT_MISFIRE_WINDOW_SECONDS } from '../../../src-shared/contract/schedule';
import type { ServerScheduleView } from '../../../src-shared/contract/server-schedules';
import {
  RESIDENT_AFTER_ENV,
  RESIDENT_MANIFEST_FORMAT,
  RESIDENT_REMOVAL_SHELL,
  ResidentStatus,
  residentFireKey,
  residentJobIdFromHash,
  residentJobSeed,
  residentSignedString,
  type ResidentFire,
  type ResidentManifest,
  type ResidentSchedule,
} from '../../../src-shared/protocol/resident';
import { shellQuote } from '../ssh/shell-quote';
import { ResidentStore } from './resident-store';

/** A server clock further off than this refuses the install (the schedule would fire at the wrong time). */
export const MAX_SKEW_MS = 30_000;
/** Skew shown as a warning on the server from this much. */
export const SKEW_WARN_MS = 2_000;
export const SWEEP_INTERVAL_MS = 30_000;
/** An event change is synced to its servers this soon (edits in a row are sent once). */
export const CHANGE_DELAY_MS = 300;

export interface ServerScheduleDeps {
  db: AppDatabase;
  clock: Clock;
  bus: EventBus;
  ssh: Pick<SshPool, 'exec'>;
  provisioning: Pick<RunnerProvisioning, 'ensureRunner'>;
  /** To see that a runner was removed on purpose: then its schedules stay off the server until a deploy. */
  runners: Pick<RunnerService, 'listDeployments'>;
  payloads: Pick<PayloadService, 'generatePayload' | 'ensureOnServer' | 'publicKeyPem' | 'signText'>;
  events: Pick<EventService, 'getForRun'>;
  jobs: Pick<JobService, 'adoptServerFired' | 'store'>;
  fires: Pick<SqliteFireStore, 'claim' | 'appendJob'>;
}

export interface SyncResult {
  serverId: string;
  installed: number;
  collected: number;
  skewMs: number | null;
  started: boolean;
}

export function serverFireJobId(serverId: string, fireKey: string): string {
  return residentJobIdFromHash(createHash('sha256').update(residentJobSeed(serverId, fireKey)).digest('hex'));
}

export class ServerScheduleService {
  readonly store: ResidentStore;
  private readonly events: EventStore;
  private readonly flights = new SingleFlight<SyncResult>();
  private sweepTimer: { cancel(): void } | null = null;
  private changeTimer: { cancel(): void } | null = null;
  private offBus: (() => void) | null = null;
  private stopped = false;
  /** Refused fire records already logged (the server keeps them until it trims its record). */
  private readonly refusedSeen = new Set<string>();
  /** Server id -> fire key of the last record collected there: the server prints only later ones (all after a restart). */
  private readonly cursors = new Map<string, string>();

  constructor(private readonly deps: ServerScheduleDeps) {
    this.store = new ResidentStore(deps.db, () => deps.clock.now());
    this.events = new EventStore(deps.db);
  }

  /** First sweep now (collects what fired while the app was closed), then every SWEEP_INTERVAL_MS and after edits. */
  start(): void {
    this.stopped = false;
    this.offBus = this.deps.bus.subscribe((name) => {
      if (name === 'events/changed') this.soon();
    });
    void this.sweep();
    this.sweepTimer = every(this.deps.clock, SWEEP_INTERVAL_MS, () => void this.sweep());
  }

  stop(): void {
    this.stopped = true;
    this.offBus?.();
    this.sweepTimer?.cancel();
    this.changeTimer?.cancel();
  }

  private soon(): void {
    this.changeTimer?.cancel();
    this.changeTimer = this.deps.clock.setTimeout(() => void this.sweep(), CHANGE_DELAY_MS);
  }

  /** Syncs and collects every server that holds or should hold a schedule; an unreachable one is tried next time. */
  async sweep(): Promise<SyncResult[]> {
    if (this.stopped) return [];
    const servers = new Set([...(await this.store.serversToSweep()), ...(await this.wantedServers()).keys()]);
    // An unreachable server is tried again at the next sweep; its error is on its row (shown in the Schedules view).
    const results = await Promise.all(
      [...servers].map((id) =>
        this.sync(id).catch((err: unknown) => {
          console.warn(`[server-schedules] ${id}: ${messageOf(err)}`);
          return null;
        }),
      ),
    );
    return results.filter((r): r is SyncResult => r !== null);
  }

  /** Installs the server's manifest when its copy is stale, makes sure the resident runner runs, collects. */
  sync(serverId: string): Promise<SyncResult> {
    return this.flights.run(serverId, () => this.syncNow(serverId));
  }

  /** Server id -> the server-held events that should be installed there. */
  private async wantedServers(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const eventId of await this.events.serverHeldIds()) {
      const snap = await this.deps.events.getForRun(eventId).catch(() => null);
      if (!snap || !snap.enabled) continue;
      const targets = await resolveRunTargets(this.deps.db, { serverIds: snap.serverIds, tags: snap.targetTags }).catch(() => null);
      for (const serverId of targets?.serverIds ?? []) out.set(serverId, [...(out.get(serverId) ?? []), eventId]);
    }
    return out;
  }

  private async syncNow(serverId: string): Promise<SyncResult> {
    const wanted = (await this.wantedServers()).get(serverId) ?? [];
    const resident = await this.store.resident(serverId);
    if (wanted.length === 0 && !resident) return { serverId, installed: 0, collected: 0, skewMs: null, started: false };
    try {
      const latest = (await this.deps.runners.listDeployments(serverId))[0];
      if (latest?.status === 'removed') {
        // Its removal took the resident runner and its schedules with it: nothing is installed until a deploy.
        await this.store.removeResident(serverId);
        return { serverId, installed: 0, collected: 0, skewMs: null, started: false };
      }
      const runner = await this.deps.provisioning.ensureRunner(serverId, null);
      const cursor = this.cursors.get(serverId);
      const after = cursor ? `${RESIDENT_AFTER_ENV}=${shellQuote(cursor)} ` : '';
      const run = (args: string, stdin?: string) =>
        this.deps.ssh.exec(serverId, `${integrityGuard(runner)}${after}${runner.command} resident ${args}`, { ...(stdin !== undefined ? { stdin } : {}), timeoutMs: 30_000, maxCollectBytes: 32 * 1024 * 1024 });
      // Status first: the clock skew, the installed manifest, the fires to collect.
      const t0 = this.deps.clock.now();
      let status = parseStatus(await run('status'));
      // The events this app put in this server's manifest (before and after this sync's install): the only fires taken.
      const held = new Set((await this.store.copies({ serverId })).map((c) => c.event_id));
      const skewMs = Math.round(status.now - (t0 + this.deps.clock.now()) / 2);
      const manifest = await this.buildManifest(serverId, wanted);
      const text = JSON.stringify(manifest.manifest);
      const sha256 = createHash('sha256').update(text).digest('hex');
      const current = await this.store.resident(serverId);
      let installed = 0;
      // A manifest the server refused (bad signature, altered on disk) is reported, then replaced by a good one.
      const refused = status.manifestError;
      // Compared with what this app last installed (the manifest text carries an issue time, so not with the server's).
      const needsInstall =
        status.manifestError !== null || status.manifestSha256 === null || status.manifestSha256 !== current?.manifest_sha256 || current?.content_key !== manifest.contentKey;
      if (needsInstall) {
        if (Math.abs(skewMs) > MAX_SKEW_MS) {
          await this.store.saveResident(serverId, { skew_ms: skewMs, last_error: skewMessage(skewMs), last_contact_at: nowIso(this.deps.clock.now()) });
          throw new AppError('SERVER_CLOCK_SKEW', skewMessage(skewMs), { details: { serverId, skewMs } });
        }
        const sig = await this.deps.payloads.signText(residentSignedString(sha256));
        const request = JSON.stringify({ manifest: text, signature: { sha256, keyId: sig.keyId, signature: sig.signature }, publicKeyPem: await this.deps.payloads.publicKeyPem() });
        const r = await run('install', request);
        if (r.code !== 0) throw new AppError('RESIDENT_INSTALL_FAILED', `installing the schedules on the server failed (exit ${r.code ?? r.signal}): ${(r.stderr ?? '').trim().slice(0, 300)}`);
        status = parseStatus(r);
        installed = manifest.manifest.schedules.length;
        await this.store.replaceCopies(serverId, manifest.manifest.schedules.map((s) => ({ eventId: s.id, version: s.version, nextFire: nextOf(status, s.id) })));
      }
      // Nothing held here any more: the resident runner is left stopped only by an uninstall; an empty manifest idles it.
      const before = status;
      status = parseStatus(await run('ensure'));
      const started = !before.running && status.running;
      for (const n of status.next) await this.store.setNextFire(serverId, n.scheduleId, n.nextFire);
      for (const c of await this.store.copies({ serverId })) held.add(c.event_id);
      const { collected, refused: refusedFires } = await this.collectFires(serverId, status.fires, held);
      const lastKey = status.fires.at(-1)?.fireKey;
      if (lastKey !== undefined && lastKey.length <= 300) this.cursors.set(serverId, lastKey);
      else if (lastKey !== undefined) this.cursors.delete(serverId);
      await this.store.saveResident(serverId, {
        manifest_sha256: status.manifestSha256,
        content_key: needsInstall ? manifest.contentKey : (current?.content_key ?? null),
        installed_at: needsInstall ? nowIso(this.deps.clock.now()) : (current?.installed_at ?? null),
        start_mode: status.mode,
        systemd_note: status.systemdNote,
        linger_command: status.lingerCommand,
        running: status.running ? 1 : 0,
        restarts: status.restarts,
        skew_ms: skewMs,
        manifest_error: status.manifestError ?? (refused ? `refused at ${nowIso(this.deps.clock.now())} and installed again: ${refused}` : null),
        // Shown: records whose key is forged (never written by a resident runner). Records of events this app no longer
        // holds there stay in the server's record until trimmed, so those are only logged (refused all the same).
        last_error: [Math.abs(skewMs) >= SKEW_WARN_MS ? skewMessage(skewMs) : null, refusedMessage(refusedFires.filter((r) => r.forged))].filter(Boolean).join('; ') || null,
        last_contact_at: nowIso(this.deps.clock.now()),
        last_collected_at: nowIso(this.deps.clock.now()),
      });
      // The runner was removed while this sync ran (removal and sync are separate operations): undo what it put back.
      if ((await this.deps.runners.listDeployments(serverId))[0]?.status === 'removed') {
        await this.deps.ssh.exec(serverId, RESIDENT_REMOVAL_SHELL, { timeoutMs: 30_000 });
        await this.store.removeResident(serverId);
        return { serverId, installed: 0, collected, skewMs, started: false };
      }
      if (installed > 0 || collected > 0 || started) this.deps.bus.emit('serverSchedules/changed', { serverId });
      return { serverId, installed, collected, skewMs, started };
    } catch (err) {
      await this.store.saveResident(serverId, { last_error: messageOf(err) }).catch(() => undefined);
      this.deps.bus.emit('serverSchedules/changed', { serverId });
      throw err;
    }
  }

  /**
   * Every fired job the app has not seen becomes a job (then collected through the resumer); skipped fires are recorded.
   * The server's fire record is not trusted: a fire is taken only for an event in `held` (the events this app put in
   * this server's manifest) and with the fire key its schedule and time name; any other record (written by something
   * else on the server, which could otherwise cancel or fake fires of any event) is refused, logged and counted.
   */
  async collectFires(serverId: string, fires: ResidentFire[], held: ReadonlySet<string>): Promise<{ collected: number; refused: RefusedFire[] }> {
    let collected = 0;
    const refused: RefusedFire[] = [];
    for (const f of fires) {
      const why = fireRefusal(f, held);
      if (why) {
        refused.push({ fireKey: f.fireKey.slice(0, 300), why, forged: why === FORGED_KEY });
        continue;
      }
      const owner = { ownerKind: 'event' as const, ownerId: f.scheduleId, scheduledFor: f.scheduledFor, idempotencyKey: f.fireKey, firedAt: f.firedAt };
      if (f.outcome !== 'fired' || !f.jobId) {
        await this.deps.fires.claim({ ...owner, outcome: f.outcome === 'failed' ? 'fired' : f.outcome, jobIds: [], reason: `on the server: ${f.reason ?? f.outcome}` });
        continue;
      }
      // The job id must be the one the fire key names for this server: anything else is not a fire of ours.
      if (f.jobId !== serverFireJobId(serverId, f.fireKey)) continue;
      if (await this.deps.jobs.store.find(f.jobId)) continue;
      const adopted = await this.deps.jobs.adoptServerFired({
        jobId: f.jobId, eventId: f.scheduleId, eventVersion: f.version, serverId, fireKey: f.fireKey, startedAt: f.firedAt,
      });
      if (!adopted) continue;
      collected++;
      if (!(await this.deps.fires.claim({ ...owner, outcome: 'fired', jobIds: [f.jobId], reason: 'fired on the server' }))) await this.deps.fires.appendJob(f.fireKey, f.jobId);
      await this.store.noteCollected(serverId, f.scheduleId, f.scheduledFor);
    }
    const unseen = refused.filter((r) => !this.refusedSeen.has(`${serverId}\n${r.fireKey}`));
    if (unseen.length > 0) {
      if (this.refusedSeen.size > 10_000) this.refusedSeen.clear();
      for (const r of unseen) this.refusedSeen.add(`${serverId}\n${r.fireKey}`);
      console.warn(`[server-schedules] ${serverId}: ${refusedMessage(unseen)}`);
    }
    return { collected, refused };
  }

  /** The manifest for one server: each wanted event's schedule, its payload (built and uploaded) and policies. */
  private async buildManifest(serverId: string, eventIds: string[]): Promise<{ manifest: ResidentManifest; contentKey: string }> {
    const schedules: ResidentSchedule[] = [];
    for (const eventId of eventIds) {
      const snap = await this.deps.events.getForRun(eventId);
      const row = await this.events.find(eventId);
      if (!row?.schedule) continue;
      const checked = checkParameters(snap.options.filter((o) => !o.secret), snap.scheduleParameters);
      const event = { ...snap.event, env: { ...snap.event.env, ...parameterEnv(checked.values).plain } };
      const payload = await this.deps.payloads.generatePayload(event);
      await this.deps.payloads.ensureOnServer(serverId, payload);
      schedules.push({
        id: eventId,
        name: snap.event.name,
        version: snap.event.version,
        spec: JSON.parse(row.schedule),
        timeZone: resolveTimeZone(row.time_zone),
        misfirePolicy: row.misfire_policy as ResidentSchedule['misfirePolicy'],
        misfireWindowSeconds: DEFAULT_MISFIRE_WINDOW_SECONDS,
        overlapPolicy: row.overlap_policy as ResidentSchedule['overlapPolicy'],
        payload: payload.checksum,
        timeoutSeconds: snap.event.timeoutSeconds,
        activeSince: row.updated_at,
      });
    }
    const contentKey = createHash('sha256').update(JSON.stringify([serverId, schedules])).digest('hex');
    return { manifest: { formatVersion: RESIDENT_MANIFEST_FORMAT, issuedAt: nowIso(this.deps.clock.now()), serverId, schedules }, contentKey };
  }

  /** Per server-held event: where it fires, each server's copy (stale or not), next fire and last collected fire. */
  async views(): Promise<ServerScheduleView[]> {
    const wanted = await this.wantedServers();
    const residents = new Map((await this.store.residents()).map((r) => [r.server_id, r]));
    const copies = await this.store.copies();
    const out: ServerScheduleView[] = [];
    for (const eventId of await this.events.serverHeldIds()) {
      const row = await this.events.find(eventId);
      if (!row) continue;
      const servers = new Set<string>();
      for (const [serverId, ids] of wanted) if (ids.includes(eventId)) servers.add(serverId);
      for (const c of copies) if (c.event_id === eventId) servers.add(c.server_id);
      const list: ServerScheduleView['servers'] = [];
      for (const serverId of servers) {
        const copy = copies.find((c) => c.event_id === eventId && c.server_id === serverId);
        const res = residents.get(serverId);
        const shouldHold = wanted.get(serverId)?.includes(eventId) === true;
        list.push({
          serverId,
          serverName: (await this.serverName(serverId)) ?? serverId,
          installedVersion: copy?.installed_version ?? null,
          stale: shouldHold ? copy?.installed_version !== row.version : copy !== undefined,
          nextFire: copy?.next_fire ?? null,
          lastCollectedFire: copy?.last_collected_fire ?? null,
          startMode: (res?.start_mode as ServerScheduleView['servers'][number]['startMode']) ?? null,
          running: res?.running === 1,
          systemdNote: res?.systemd_note ?? null,
          lingerCommand: res?.linger_command ?? null,
          skewMs: res?.skew_ms ?? null,
          manifestError: res?.manifest_error ?? null,
          lastError: res?.last_error ?? null,
          lastContactAt: res?.last_contact_at ?? null,
        });
      }
      out.push({ eventId, eventName: row.name, enabled: row.enabled === 1, version: row.version, servers: list });
    }
    return out;
  }

  private async serverName(serverId: string): Promise<string | null> {
    return (await new ServerStore(this.deps.db).find(serverId))?.name ?? null;
  }

  /** The runner on this server was removed (its removal also removed the resident runner): forget its rows. */
  async forgetServer(serverId: string): Promise<void> {
    await this.store.removeResident(serverId);
  }
}

export interface RefusedFire {
  fireKey: string;
  why: string;
  /** Its fire key is not the one its schedule and time name: no resident runner wrote it. */
  forged: boolean;
}

const FORGED_KEY = 'its fire key does not match its schedule and time';

/** Why a record of the server's fires.jsonl is not a fire of this app's (null: it is one). */
export function fireRefusal(f: ResidentFire, held: ReadonlySet<string>): string | null {
  const at = Date.parse(f.scheduledFor);
  if (!Number.isFinite(at) || f.scheduledFor !== new Date(at).toISOString() || f.fireKey !== residentFireKey(f.scheduleId, at)) return FORGED_KEY;
  if (!held.has(f.scheduleId)) return 'its schedule is not one this app installed on the server';
  return null;
}

function refusedMessage(refused: RefusedFire[]): string | null {
  if (refused.length === 0) return null;
  const first = refused[0];
  return `${refused.length} fire record(s) on the server were refused (not written by this app's schedules), e.g. ${first.fireKey.slice(0, 120)}: ${first.why}`;
}

function parseStatus(r: { code: number | null; signal?: string | null; stdout?: string; stderr?: string }): ResidentStatus {
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = null;
  }
  const status = ResidentStatus.safeParse(parsed);
  if (r.code !== 0 || !status.success) {
    throw new AppError('RESIDENT_INSTALL_FAILED', `the resident runner did not answer (exit ${r.code ?? r.signal}): ${(r.stderr ?? '').trim().slice(0, 300) || 'no message'}`);
  }
  return status.data;
}

function nextOf(status: ResidentStatus, scheduleId: string): string | null {
  return status.next.find((n) => n.scheduleId === scheduleId)?.nextFire ?? null;
}

function skewMessage(skewMs: number): string {
  const s = (Math.abs(skewMs) / 1000).toFixed(1);
  return Math.abs(skewMs) > MAX_SKEW_MS
    ? `the server's clock is ${s} s ${skewMs > 0 ? 'ahead of' : 'behind'} this computer's (more than ${MAX_SKEW_MS / 1000} s): schedules are not installed until it is set right`
    : `the server's clock is ${s} s ${skewMs > 0 ? 'ahead of' : 'behind'} this computer's`;
}
