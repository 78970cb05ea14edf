/**
 * MigrationWizard: the change list's phase 3, "migrate existing events with user consent". It lists the events still
 * in direct-ssh, probes each of their servers once (TargetProbe) and reads each script's helper use, and says per
 * event what changes in runner mode and what blocks it. It switches only the events the user consented to, from a
 * scan they saw (an event edited since, or blocked, is skipped with the reason), records every switch in
 * mode_migrations and the audit log, and undoes a batch by putting each event back to the mode it had. A test run
 * runs the event once in runner-ssh without changing it. Nothing here changes an event without an apply call.
 */
import type { Clock } from '../clock';
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import { recordAudit } from '../audit-log';
import { AppError, messageOf } from '../errors';
import type { EventService } from '../events/event-service';
import type { JobService } from '../jobs/job-service';
import { resolveRunTargets } from '../execution/run-targets';
import type { ServerService } from '../servers/server-service';
import type { ModePolicy } from '../execution/mode-policy';
import { ModeMigrationStore } from './mode-migration-store';
import { scriptHelperUse } from './script-helpers';
import type { TargetProbe } from './target-probe';
import type {
  MigrationApplyResult,
  MigrationBatchView,
  MigrationCandidateView,
  MigrationScanView,
  MigrationTargetMode,
  MigrationTargetView,
  MigrationUndoResult,
} from '../../../src-shared/contract/rollout';
import type { ExecutionMode } from '../../../src-shared/contract/settings';
import type { JobView } from '../../../src-shared/contract/jobs';

/** Servers probed at the same time. */
const PROBE_PARALLELISM = 8;
/** Scans kept for apply (the newest ones); an older scan must be run again. */
const SCANS_KEPT = 20;

export interface MigrationWizardDeps {
  db: AppDatabase;
  clock: Clock;
  events: Pick<EventService, 'list' | 'get' | 'setExecutionMode'>;
  servers: Pick<ServerService, 'get'>;
  jobs: Pick<JobService, 'runEvent'>;
  policy: Pick<ModePolicy, 'runnerEnabled'>;
  probe: Pick<TargetProbe, 'probe'>;
}

export class MigrationWizard {
  private readonly store: ModeMigrationStore;
  private readonly scans = new Map<string, MigrationScanView>();

  constructor(private readonly deps: MigrationWizardDeps) {
    this.store = new ModeMigrationStore(deps.db);
  }

  /** Checks the events still in direct-ssh (all of them, or the given ones) and their servers. Changes nothing. */
  async scan(eventIds?: string[]): Promise<MigrationScanView> {
    const wanted = eventIds ? new Set(eventIds) : null;
    const events = (await this.deps.events.list()).filter((e) => e.executionMode === 'direct-ssh' && (!wanted || wanted.has(e.id)));
    const globalBlocker = this.deps.policy.runnerEnabled()
      ? null
      : 'runner mode is turned off (Settings: runner enabled / ssh_runner_enabled): turn it on before moving events to it';

    // Each event's servers as a run would resolve them now: chosen ones and every server carrying its tags.
    const eventTargets = new Map<string, string[]>();
    for (const e of events) {
      const resolved = await resolveRunTargets(this.deps.db, { serverIds: e.servers.map((s) => s.id), tags: e.targetTags }).catch(() => null);
      eventTargets.set(e.id, resolved?.serverIds ?? e.servers.map((s) => s.id));
    }
    const serverIds = [...new Set([...eventTargets.values()].flat())];
    const targets = new Map<string, MigrationTargetView>();
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < serverIds.length; i = next++) {
        const id = serverIds[i];
        const name = (await this.deps.servers.get(id).catch(() => null))?.name ?? id;
        targets.set(id, await this.deps.probe.probe(id, name));
      }
    };
    await Promise.all(Array.from({ length: Math.min(PROBE_PARALLELISM, serverIds.length) }, worker));

    const candidates: MigrationCandidateView[] = events.map((e) => {
      const use = scriptHelperUse(e.content, e.scriptType);
      const blockers: string[] = [];
      const eventServerIds = eventTargets.get(e.id) ?? [];
      if (globalBlocker) blockers.push(globalBlocker);
      for (const id of eventServerIds) blockers.push(...(targets.get(id)?.blockers ?? []));
      for (const d of use.directOnly) {
        blockers.push(`the script reads $${d.name}, which only direct-ssh sets: use ${d.instead} in runner mode, then check again`);
      }
      const changes = [
        'runs through a runner on each server: the job keeps running if the SSH link, the Wi-Fi or the app goes away, and its log is replayed without gaps',
        'log lines stream live and are spooled on the server until the app has them',
      ];
      if (use.helpers.length) changes.push(`helpers it calls (${use.helpers.join(', ')}) are answered live: variables, output and conditions are stored`);
      for (const id of eventServerIds) changes.push(...(targets.get(id)?.notes ?? []));
      return {
        eventId: e.id,
        name: e.name,
        scriptType: e.scriptType,
        version: e.version,
        currentMode: e.executionMode,
        serverIds: eventServerIds,
        helpers: use.helpers,
        changes,
        blockers: [...new Set(blockers)],
        ready: blockers.length === 0,
      };
    });

    const view: MigrationScanView = {
      scanId: newId(),
      checkedAt: nowIso(this.deps.clock.now()),
      globalBlocker,
      targets: serverIds.map((id) => targets.get(id)!),
      events: candidates,
    };
    this.scans.set(view.scanId, view);
    while (this.scans.size > SCANS_KEPT) this.scans.delete(this.scans.keys().next().value!);
    return view;
  }

  /**
   * Switches the consented events of a scan to `mode`. Each must be in the scan and ready, and unedited since
   * (its version still the scanned one); the others are skipped with the reason. One batch, one audit line each.
   */
  async apply(scanId: string, eventIds: string[], mode: MigrationTargetMode): Promise<MigrationApplyResult> {
    const scan = this.scans.get(scanId);
    if (!scan) throw new AppError('MIGRATION_NOT_FOUND', 'that check is no longer known (the app restarted or it is too old): check the events again');
    const batchId = newId();
    const result: MigrationApplyResult = { batchId: null, switched: [], skipped: [] };
    for (const eventId of [...new Set(eventIds)]) {
      const candidate = scan.events.find((e) => e.eventId === eventId);
      if (!candidate) {
        result.skipped.push({ eventId, name: eventId, reason: 'not part of this check (not in direct-ssh when it was checked)' });
        continue;
      }
      if (!candidate.ready) {
        result.skipped.push({ eventId, name: candidate.name, reason: candidate.blockers.join('; ') });
        continue;
      }
      let after;
      try {
        after = await this.deps.events.setExecutionMode(eventId, mode, candidate.version);
      } catch (err) {
        result.skipped.push({ eventId, name: candidate.name, reason: messageOf(err) });
        continue;
      }
      const at = this.deps.clock.now();
      await this.store.insert({
        id: newId(), batch_id: batchId, event_id: eventId, previous_mode: candidate.currentMode, new_mode: mode,
        event_version: after.version, migrated_at: nowIso(at), undone_at: null,
      });
      await recordAudit(this.deps.db, {
        actor: 'user', action: 'event.mode.migrated', subject: eventId, at,
        detail: { event: candidate.name, from: candidate.currentMode, to: mode, batchId, version: after.version },
      });
      result.switched.push({ eventId, name: candidate.name, from: candidate.currentMode, to: mode });
    }
    if (result.switched.length) result.batchId = batchId;
    return result;
  }

  /** One run of the event in runner-ssh on its servers; the event itself is not changed. */
  async testRun(eventId: string): Promise<{ jobs: JobView[] }> {
    const event = await this.deps.events.get(eventId);
    const jobs = await this.deps.jobs.runEvent({ eventId: event.id, trigger: 'manual', executionMode: 'runner-ssh' });
    return { jobs };
  }

  /**
   * Puts every event of the batch back to the mode it had. An event whose mode was changed again since (by a
   * person) is left as it is, with the reason; a deleted event is gone with its record.
   */
  async undo(batchId: string): Promise<MigrationUndoResult> {
    const rows = await this.store.batch(batchId);
    if (rows.length === 0) throw new AppError('MIGRATION_NOT_FOUND', 'no migration batch has that id');
    const result: MigrationUndoResult = { restored: [], skipped: [] };
    for (const row of rows) {
      if (row.undone_at) continue;
      const event = await this.deps.events.get(row.event_id).catch(() => null);
      if (!event) continue;
      if (event.executionMode !== row.new_mode) {
        result.skipped.push({ eventId: event.id, name: event.name, reason: `its mode was changed to ${event.executionMode} since; left as it is` });
        continue;
      }
      await this.deps.events.setExecutionMode(event.id, row.previous_mode as ExecutionMode);
      const at = this.deps.clock.now();
      await this.store.markUndone(row.id, nowIso(at));
      await recordAudit(this.deps.db, {
        actor: 'user', action: 'event.mode.migration-undone', subject: event.id, at,
        detail: { event: event.name, from: row.new_mode, to: row.previous_mode, batchId },
      });
      result.restored.push({ eventId: event.id, name: event.name, mode: row.previous_mode });
    }
    return result;
  }

  async batches(): Promise<MigrationBatchView[]> {
    return (await this.store.batches()).map((b) => ({ batchId: b.batch_id, migratedAt: b.migrated_at, total: b.total, active: b.active }));
  }
}
