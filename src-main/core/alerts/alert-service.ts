/**
 * AlertService: alert rules (per event, workflow or runner; failure, recovery, success, missed schedule) and their
 * deliveries to external channels (webhook, SMTP mail, a command on this workstation). It listens to the same bus
 * events as the rest of the app (jobs/changed, workflows/runChanged, runners/healthChanged, schedule/fired), decides
 * in the gate (alert-gate.ts) whether an alert is sent or folded into an earlier one, and hands deliveries to the
 * background queue: a bus listener here only enqueues, so no job, run or health check ever waits for an alert.
 * Channel secrets go to the keychain (alertChannelSecretRef); the database and every view hold no secret value.
 */
import type { z } from 'zod';
import {
  AlertRuleInput,
  EmailChannelConfig,
  WebhookChannelConfig,
  CommandChannelConfig,
  type AlertDeliveryView,
  type AlertRuleView,
  type AlertSubjectKind,
  type AlertTrigger,
} from '../../../src-shared/contract/alerts';
import type { EventName, EventPayload } from '../../../src-shared/contract';
import { isFailedJobStatus, TERMINAL_JOB_STATUSES } from '../../../src-shared/contract/jobs';
import type { Clock } from '../clock';
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import { AppError, messageOf, zodFieldErrors } from '../errors';
import type { EventBus } from '../event-bus';
import type { SecretStore } from '../secrets/secret-store';
import { alertChannelSecretRef } from '../secrets/secret-refs';
import { AlertDeliveryQueue, DEFAULT_DELIVERY_POLICY, type DeliveryPolicy } from './alert-delivery-queue';
import type { AlertMessage } from './alert-message';
import { AlertStore, type AlertDeliveryRow, type AlertRuleRow } from './alert-store';
import { decideAlert, gateLookbackMs } from './alert-gate';
import { DeliveryError } from './channels/delivery-error';
import { sendWebhook, webhookDisplay, webhookUrlProblem } from './channels/webhook-channel';
import { sendEmail } from './channels/email-channel';
import { commandProblem, runAlertCommand } from './channels/command-channel';

type ParsedRuleInput = z.output<typeof AlertRuleInput>;

/** Names of the things rules point at; NOT_FOUND (any AppError) when the id names nothing. */
export interface AlertSubjectNames {
  event(id: string): Promise<string>;
  workflow(id: string): Promise<string>;
  /** A runner is named by its server. */
  server(id: string): Promise<string>;
}

export interface AlertServiceDeps {
  db: AppDatabase;
  bus: EventBus;
  clock: Clock;
  secrets: SecretStore;
  names: AlertSubjectNames;
  policy?: Partial<DeliveryPolicy>;
}

/** One thing that happened, before rules are matched: raised from a bus event. */
interface RaisedAlert {
  subjectKind: AlertSubjectKind;
  subjectId: string;
  triggers: AlertTrigger[];
  /** Part of the dedup key besides rule, trigger and subject (the server of a job). */
  scope: string;
  message: Omit<AlertMessage, 'trigger' | 'ruleName' | 'summary'> & { summaries: Partial<Record<AlertTrigger, string>> };
}

/** Job ids (and run ids) already alerted for; bounded. */
const SEEN_LIMIT = 5000;

export class AlertService {
  readonly store: AlertStore;
  private readonly queue: AlertDeliveryQueue;
  private readonly policy: DeliveryPolicy;
  private unsubscribe: (() => void) | null = null;
  /** Last outcome per (subject, server), for 'recovery'. In memory: the first success after a restart is no recovery. */
  private readonly lastOutcome = new Map<string, 'failure' | 'success'>();
  private readonly seen = new Set<string>();
  /** Raised alerts pass the gate one at a time, so two jobs ending together cannot both slip under a limit. */
  private gateChain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: AlertServiceDeps) {
    this.store = new AlertStore(deps.db);
    this.policy = { ...DEFAULT_DELIVERY_POLICY, ...deps.policy };
    this.queue = new AlertDeliveryQueue({
      store: this.store,
      clock: deps.clock,
      bus: deps.bus,
      policy: this.policy,
      deliverOnce: (delivery, timeoutMs) => this.deliverOnce(delivery, timeoutMs),
    });
  }

  /** Subscribes to the bus and resumes deliveries left pending by the last stop. */
  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.queue.restart();
    this.unsubscribe = this.deps.bus.subscribe((name, payload) => this.onBusEvent(name, payload));
    for (const d of await this.store.pendingDeliveries()) this.queue.enqueue(d.id);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.gateChain;
    await this.queue.stop();
  }

  /** Resolves when every raised alert has passed the gate and every queued delivery is delivered or failed. */
  async idle(): Promise<void> {
    await this.gateChain;
    await this.queue.idle();
  }

  // ── Rules ─────────────────────────────────────────────────────────────────────────────────────────────────

  async listRules(): Promise<AlertRuleView[]> {
    const rows = await this.store.listRules();
    return Promise.all(rows.map((r) => this.ruleView(r)));
  }

  async getRule(id: string): Promise<AlertRuleView> {
    const row = await this.store.findRule(id);
    if (!row) throw new AppError('NOT_FOUND', `Alert rule ${id} was not found.`);
    return this.ruleView(row);
  }

  /**
   * Creates or replaces a rule. Every problem is reported at once (INVALID_INPUT with `fields`): the subject that
   * does not exist, a name already used, a webhook URL that is missing or not http(s), a command that is not an
   * executable file. The channel secret is written to the keychain only when everything else is valid.
   */
  async saveRule(raw: ParsedRuleInput | z.input<typeof AlertRuleInput>): Promise<AlertRuleView> {
    const parsed = AlertRuleInput.safeParse(raw);
    if (!parsed.success) {
      const fields = zodFieldErrors(parsed.error.issues);
      throw new AppError('INVALID_INPUT', `The alert rule has ${Object.keys(fields).length} problem(s).`, { fields });
    }
    const input = parsed.data;
    const existing = input.id ? await this.store.findRule(input.id) : undefined;
    if (input.id && !existing) throw new AppError('NOT_FOUND', `Alert rule ${input.id} was not found.`);
    const id = existing?.id ?? newId();
    const fields: Record<string, string> = {};

    const sameName = await this.store.ruleIdByName(input.name);
    if (sameName && sameName !== id) fields.name = `another rule is already named "${input.name}"`;
    if (input.subjectId !== null) {
      try {
        await this.subjectName(input.subjectKind, input.subjectId);
      } catch {
        fields.subjectId = `no ${input.subjectKind === 'runner' ? 'server' : input.subjectKind} with this id exists`;
      }
    }
    if (input.subjectKind === 'runner' && input.triggers.includes('missed')) fields.triggers = 'runners have no schedule to miss';

    const ref = alertChannelSecretRef(id);
    const channel = input.channel;
    const keptSecret = existing?.secret_ref !== null && existing?.secret_ref !== undefined && existing.channel_kind === channel.kind;
    let secretToStore: string | null = null;
    let config: Record<string, unknown>;
    if (channel.kind === 'webhook') {
      const url = channel.secret?.trim();
      if (url) {
        const problem = webhookUrlProblem(url);
        if (problem) fields['channel.secret'] = `the webhook URL ${problem}`;
        else secretToStore = url;
      } else if (!keptSecret) {
        fields['channel.secret'] = 'the webhook URL is required';
      }
      const display = url ? webhookDisplay(url) : (existing ? ((JSON.parse(existing.channel_config) as { display?: string }).display ?? '') : '');
      config = { ...channel.config, display };
    } else if (channel.kind === 'email') {
      if (channel.secret) secretToStore = channel.secret;
      config = { ...channel.config };
    } else {
      const problem = commandProblem(channel.config.command);
      if (problem) fields['channel.config.command'] = `the command ${problem}`;
      config = { ...channel.config };
    }
    if (Object.keys(fields).length > 0) {
      throw new AppError('INVALID_INPUT', `The alert rule has ${Object.keys(fields).length} problem(s).`, { fields });
    }

    const hasSecret = secretToStore !== null || (keptSecret && channel.kind !== 'command');
    if (secretToStore !== null) await this.deps.secrets.set(ref, secretToStore);
    else if (!hasSecret && existing?.secret_ref) await this.deps.secrets.delete(existing.secret_ref);
    const at = nowIso(this.deps.clock.now());
    const columns = {
      name: input.name,
      subject_kind: input.subjectKind,
      subject_id: input.subjectId,
      triggers: JSON.stringify(input.triggers),
      channel_kind: channel.kind,
      channel_config: JSON.stringify(config),
      secret_ref: hasSecret ? ref : null,
      max_per_window: input.maxPerWindow,
      window_seconds: input.windowSeconds,
      dedup_seconds: input.dedupSeconds,
      enabled: input.enabled ? 1 : 0,
      updated_at: at,
    };
    if (existing) await this.store.updateRule(id, columns);
    else await this.store.insertRule({ id, ...columns, created_at: at });
    return this.getRule(id);
  }

  async deleteRule(id: string): Promise<void> {
    const row = await this.store.findRule(id);
    if (!row) throw new AppError('NOT_FOUND', `Alert rule ${id} was not found.`);
    await this.store.deleteRule(id);
    if (row.secret_ref) await this.deps.secrets.delete(row.secret_ref);
  }

  /** Queues a test alert through the rule's channel, past the gate (a test is always sent). */
  async test(id: string): Promise<AlertDeliveryView> {
    const rule = await this.store.findRule(id);
    if (!rule) throw new AppError('NOT_FOUND', `Alert rule ${id} was not found.`);
    const at = nowIso(this.deps.clock.now());
    const message: AlertMessage = {
      trigger: 'test',
      subject: { kind: rule.subject_kind, id: rule.subject_id, name: rule.subject_id ? await this.subjectName(rule.subject_kind, rule.subject_id).catch(() => null) : null },
      serverName: null,
      status: 'TEST',
      summary: `Test alert of rule "${rule.name}": if you read this, the channel works.`,
      reason: null,
      at,
      jobId: null,
      workflowRunId: null,
      ruleName: rule.name,
    };
    const deliveryId = await this.insertDelivery(rule, message, `test:${newId()}`);
    this.queue.enqueue(deliveryId);
    return (await this.deliveryViews([(await this.store.findDelivery(deliveryId))!]))[0]!;
  }

  async history(filter: { ruleId?: string; limit?: number } = {}): Promise<AlertDeliveryView[]> {
    return this.deliveryViews(await this.store.history({ ruleId: filter.ruleId, limit: filter.limit ?? 100 }));
  }

  // ── Raising alerts from bus events ────────────────────────────────────────────────────────────────────────

  private onBusEvent<K extends EventName>(name: K, payload: EventPayload<K>): void {
    let raised: Promise<RaisedAlert | null>;
    switch (name) {
      case 'jobs/changed':
        raised = Promise.resolve(this.fromJob(payload as EventPayload<'jobs/changed'>));
        break;
      case 'workflows/runChanged':
        raised = this.fromWorkflowRun(payload as EventPayload<'workflows/runChanged'>);
        break;
      case 'runners/healthChanged':
        raised = Promise.resolve(this.fromRunnerHealth(payload as EventPayload<'runners/healthChanged'>));
        break;
      case 'schedule/fired':
        raised = this.fromMissedSchedule(payload as EventPayload<'schedule/fired'>);
        break;
      default:
        return;
    }
    // Never awaited by the emitter: the bus (and the job that emitted) goes on at once.
    this.gateChain = this.gateChain
      .then(async () => {
        const alert = await raised;
        if (alert) await this.raise(alert);
      })
      .catch((err) => console.error(`[alerts] could not raise an alert for ${name}:`, err));
  }

  private markSeen(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  /** Remembers the outcome; returns the triggers: failure, or success (+ recovery when the last one failed). */
  private outcomeTriggers(key: string, failed: boolean): AlertTrigger[] {
    const previous = this.lastOutcome.get(key);
    this.lastOutcome.set(key, failed ? 'failure' : 'success');
    if (failed) return ['failure'];
    return previous === 'failure' ? ['success', 'recovery'] : ['success'];
  }

  private fromJob({ job }: EventPayload<'jobs/changed'>): RaisedAlert | null {
    if (!TERMINAL_JOB_STATUSES.includes(job.status) || job.status === 'CANCELLED' || !job.eventId) return null;
    if (!this.markSeen(`job:${job.id}`)) return null;
    const failed = isFailedJobStatus(job.status);
    const triggers = this.outcomeTriggers(`event:${job.eventId}:${job.serverId ?? ''}`, failed);
    const name = job.eventName ?? job.eventId;
    const on = job.serverName ? ` on ${job.serverName}` : '';
    const why = job.reason ?? (job.exitCode !== null ? `exit code ${job.exitCode}` : job.status);
    return {
      subjectKind: 'event',
      subjectId: job.eventId,
      triggers,
      scope: job.serverId ?? '',
      message: {
        subject: { kind: 'event', id: job.eventId, name: job.eventName },
        serverName: job.serverName,
        status: job.status,
        reason: failed ? why : null,
        at: job.finishedAt ?? nowIso(this.deps.clock.now()),
        jobId: job.id,
        workflowRunId: job.workflowRunId,
        summaries: {
          failure: `${name} ${job.status === 'TIMEOUT' ? 'timed out' : 'failed'}${on}: ${why}`,
          success: `${name} succeeded${on}`,
          recovery: `${name} recovered${on}: it succeeded after a failure`,
        },
      },
    };
  }

  private async fromWorkflowRun({ run }: EventPayload<'workflows/runChanged'>): Promise<RaisedAlert | null> {
    if (run.status === 'RUNNING' || run.status === 'CANCELLED') return null;
    if (!this.markSeen(`run:${run.id}`)) return null;
    const failed = run.status === 'FAILURE' || run.status === 'TIMEOUT' || run.status === 'INTERRUPTED';
    const triggers = this.outcomeTriggers(`workflow:${run.workflowId}`, failed);
    const name = await this.deps.names.workflow(run.workflowId).catch(() => run.workflowId);
    return {
      subjectKind: 'workflow',
      subjectId: run.workflowId,
      triggers,
      scope: '',
      message: {
        subject: { kind: 'workflow', id: run.workflowId, name },
        serverName: null,
        status: run.status,
        reason: failed ? (run.reason ?? run.status) : null,
        at: run.finishedAt ?? nowIso(this.deps.clock.now()),
        jobId: null,
        workflowRunId: run.id,
        summaries: {
          failure: `workflow ${name} ended ${run.status}${run.reason ? `: ${run.reason}` : ''}`,
          success: `workflow ${name} succeeded`,
          recovery: `workflow ${name} recovered: it succeeded after a failure`,
        },
      },
    };
  }

  /** Unhealthy only (a degraded runner still runs jobs); the notification centre also lists degraded ones. */
  private fromRunnerHealth(p: EventPayload<'runners/healthChanged'>): RaisedAlert | null {
    if (!p.serverId) return null;
    let triggers: AlertTrigger[];
    if (p.to === 'unhealthy') triggers = ['failure'];
    else if (p.to === 'healthy' && p.from === 'unhealthy') triggers = ['recovery', 'success'];
    else return null;
    const name = p.serverName ?? p.serverId;
    return {
      subjectKind: 'runner',
      subjectId: p.serverId,
      triggers,
      scope: '',
      message: {
        subject: { kind: 'runner', id: p.serverId, name },
        serverName: p.serverName,
        status: p.to,
        reason: p.reason,
        at: nowIso(this.deps.clock.now()),
        jobId: null,
        workflowRunId: null,
        summaries: {
          failure: `the runner on ${name} is unhealthy${p.reason ? `: ${p.reason}` : ''}`,
          recovery: `the runner on ${name} is healthy again`,
          success: `the runner on ${name} is healthy again`,
        },
      },
    };
  }

  private async fromMissedSchedule(rec: EventPayload<'schedule/fired'>): Promise<RaisedAlert | null> {
    // A missed run only: skipped_overlap (the previous run still going) is the schedule doing as configured; the
    // notification centre lists both.
    if (rec.outcome !== 'skipped_misfire') return null;
    const kind = rec.ownerKind;
    const name = await (kind === 'event' ? this.deps.names.event(rec.ownerId) : this.deps.names.workflow(rec.ownerId)).catch(() => rec.ownerId);
    return {
      subjectKind: kind,
      subjectId: rec.ownerId,
      triggers: ['missed'],
      scope: '',
      message: {
        subject: { kind, id: rec.ownerId, name },
        serverName: null,
        status: rec.outcome,
        reason: rec.reason ?? null,
        at: rec.firedAt,
        jobId: null,
        workflowRunId: null,
        summaries: { missed: `${kind} ${name} missed its run of ${rec.scheduledFor}${rec.reason ? `: ${rec.reason}` : ''}` },
      },
    };
  }

  /** Matches the rules, passes the gate, records and queues deliveries. */
  private async raise(alert: RaisedAlert): Promise<void> {
    const rules = (await this.store.listRules()).filter(
      (r) => r.enabled === 1 && r.subject_kind === alert.subjectKind && (r.subject_id === null || r.subject_id === alert.subjectId),
    );
    for (const rule of rules) {
      const wanted = parseTriggers(rule.triggers);
      // One alert per rule and event: a recovery rule does not also get the success it implies.
      const trigger = alert.triggers.find((t) => wanted.includes(t));
      if (!trigger) continue;
      const dedupKey = `${trigger}:${alert.subjectKind}:${alert.subjectId}:${alert.scope}`;
      const now = this.deps.clock.now();
      const recent = await this.store.deliveriesOfRuleSince(rule.id, nowIso(now - gateLookbackMs(limitsOf(rule))));
      const decision = decideAlert(
        limitsOf(rule),
        now,
        dedupKey,
        recent.filter((d) => d.trigger !== 'test').map((d) => ({ id: d.id, dedupKey: d.dedup_key, createdAt: Date.parse(d.created_at) })),
      );
      if (!decision.send) {
        await this.store.addSuppressed(decision.foldInto);
        this.deps.bus.emit('alerts/deliveryChanged', { deliveryId: decision.foldInto, status: (await this.store.findDelivery(decision.foldInto))?.status ?? 'pending' });
        continue;
      }
      const { summaries, ...rest } = alert.message;
      const message: AlertMessage = { ...rest, trigger, ruleName: rule.name, summary: summaries[trigger] ?? `${alert.subjectKind} ${trigger}` };
      this.queue.enqueue(await this.insertDelivery(rule, message, dedupKey));
    }
  }

  private async insertDelivery(rule: AlertRuleRow, message: AlertMessage, dedupKey: string): Promise<string> {
    const id = newId();
    await this.store.insertDelivery({
      id,
      rule_id: rule.id,
      rule_name: rule.name,
      channel_kind: rule.channel_kind,
      trigger: message.trigger,
      subject_kind: message.subject.kind,
      subject_id: message.subject.id,
      subject_name: message.subject.name,
      dedup_key: dedupKey,
      summary: message.summary,
      message: JSON.stringify(message),
      status: 'pending',
      last_error: null,
      created_at: nowIso(this.deps.clock.now()),
      finished_at: null,
    });
    this.deps.bus.emit('alerts/deliveryChanged', { deliveryId: id, status: 'pending' });
    return id;
  }

  // ── Sending ───────────────────────────────────────────────────────────────────────────────────────────────

  private async deliverOnce(delivery: AlertDeliveryRow, timeoutMs: number): Promise<void> {
    const rule = delivery.rule_id ? await this.store.findRule(delivery.rule_id) : undefined;
    if (!rule) throw new DeliveryError('the rule was deleted before the alert could be sent', false);
    const message = JSON.parse(delivery.message) as AlertMessage;
    const clock = this.deps.clock;
    const config = JSON.parse(rule.channel_config) as unknown;
    switch (rule.channel_kind) {
      case 'webhook': {
        const url = rule.secret_ref ? await this.readSecret(rule.secret_ref) : null;
        if (!url) throw new DeliveryError('the webhook URL is missing from the keychain: edit the rule and enter it again', false);
        const { format } = WebhookChannelConfig.parse(pick(config, ['format']));
        return sendWebhook(message, { url, format, clock, timeoutMs });
      }
      case 'email': {
        const password = rule.secret_ref ? await this.readSecret(rule.secret_ref) : null;
        return sendEmail(message, { config: EmailChannelConfig.parse(config), password, clock, timeoutMs });
      }
      case 'command': {
        const { command, args } = CommandChannelConfig.parse(config);
        return runAlertCommand(message, { command, args, clock, timeoutMs });
      }
    }
  }

  private async readSecret(ref: string): Promise<string | null> {
    try {
      return await this.deps.secrets.get(ref);
    } catch (err) {
      // A locked keychain may be unlocked before the next attempt.
      throw new DeliveryError(`the keychain could not be read: ${messageOf(err)}`, true);
    }
  }

  // ── Views ─────────────────────────────────────────────────────────────────────────────────────────────────

  private subjectName(kind: AlertSubjectKind, id: string): Promise<string> {
    if (kind === 'event') return this.deps.names.event(id);
    if (kind === 'workflow') return this.deps.names.workflow(id);
    return this.deps.names.server(id);
  }

  private async ruleView(r: AlertRuleRow): Promise<AlertRuleView> {
    const config = JSON.parse(r.channel_config) as Record<string, unknown>;
    let target: string;
    if (r.channel_kind === 'webhook') target = typeof config.display === 'string' ? config.display : '';
    else if (r.channel_kind === 'email') target = Array.isArray(config.to) ? config.to.join(', ') : '';
    else target = String(config.command ?? '');
    return {
      id: r.id,
      name: r.name,
      subjectKind: r.subject_kind,
      subjectId: r.subject_id,
      subjectName: r.subject_id ? await this.subjectName(r.subject_kind, r.subject_id).catch(() => null) : null,
      triggers: parseTriggers(r.triggers),
      channelKind: r.channel_kind,
      channelConfig: config,
      hasSecret: r.secret_ref !== null,
      target,
      maxPerWindow: r.max_per_window,
      windowSeconds: r.window_seconds,
      dedupSeconds: r.dedup_seconds,
      enabled: r.enabled === 1,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }

  private async deliveryViews(rows: AlertDeliveryRow[]): Promise<AlertDeliveryView[]> {
    const attempts = await this.store.attemptsOf(rows.map((r) => r.id));
    return rows.map((r) => ({
      id: r.id,
      ruleId: r.rule_id,
      ruleName: r.rule_name,
      channelKind: r.channel_kind,
      trigger: r.trigger,
      subjectKind: r.subject_kind,
      subjectId: r.subject_id,
      subjectName: r.subject_name,
      summary: r.summary,
      status: r.status,
      attempts: (attempts.get(r.id) ?? []).map((a) => ({ attempt: a.attempt, at: a.at, ok: a.ok === 1, error: a.error, durationMs: a.duration_ms })),
      suppressed: r.suppressed,
      lastError: r.last_error,
      createdAt: r.created_at,
      finishedAt: r.finished_at,
    }));
  }
}

function parseTriggers(json: string): AlertTrigger[] {
  try {
    const value = JSON.parse(json) as unknown;
    return Array.isArray(value) ? (value.filter((t) => typeof t === 'string') as AlertTrigger[]) : [];
  } catch {
    return [];
  }
}

function limitsOf(rule: AlertRuleRow) {
  return { maxPerWindow: rule.max_per_window, windowSeconds: rule.window_seconds, dedupSeconds: rule.dedup_seconds };
}

function pick(value: unknown, keys: string[]): Record<string, unknown> {
  const src = (value ?? {}) as Record<string, unknown>;
  return Object.fromEntries(keys.filter((k) => k in src).map((k) => [k, src[k]]));
}
