/**
 * CatalogueService: exports the catalogue (servers without credentials, events with their version and schedule,
 * workflows, variables without secret values) as one YAML document in a stable order, and imports such a document
 * all or nothing. An import is judged as a whole first (YAML syntax, format version, strict schemas, references by
 * name, conflicts), then applied in one database transaction through the same services a person's edits go through
 * (ServerService, EventService, WorkflowService, each table's store); the preview runs the very same apply and rolls it
 * back, so it reports everything the apply would meet. Side effects outside the database (bus events, the scheduler,
 * keychain deletions, dropping pooled SSH connections) are held back and released only after the commit.
 *
 * A file is not trusted with a server's safety: its host key fingerprints are never taken as pins (a new server's key
 * is approved on first contact; an existing one keeps its pin only while host and port stay), and it never turns
 * agent forwarding on (ServerService.save with from: 'catalogue').
 */
import { Document, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { CataloguePreview, CataloguePreviewItem, CatalogueItemKind } from '../../../src-shared/contract/catalogue';
import type { EventView } from '../../../src-shared/contract/events';
import type { WorkflowView } from '../../../src-shared/contract/workflows';
import { recordAudit } from '../audit-log';
import type { Clock } from '../clock';
import type { AppDatabase } from '../db/database';
import { nowIso } from '../db/ids';
import { inTransaction } from '../db/transaction';
import { AppError, messageOf } from '../errors';
import { EventBus } from '../event-bus';
import { checkServerHeld, EventService } from '../events/event-service';
import type { ScheduleBook } from '../scheduler/scheduler';
import type { SecretStore } from '../secrets/secret-store';
import { eventSecretRef, variableSecretRef } from '../secrets/secret-refs';
import { ServerService } from '../servers/server-service';
import { ServerStore } from '../servers/server-store';
import type { SshPool } from '../ssh/ssh-pool';
import { VariablesStore } from '../variables/variables-store';
import type { VariablesService } from '../variables/variables-service';
import { WorkflowService, type WorkflowServiceDeps } from '../workflows/workflow-service';
import {
  CATALOGUE_FORMAT,
  CATALOGUE_FORMAT_VERSION,
  CatalogueDocument,
  EDGE_FIELD_KEYS,
  EVENT_FIELD_KEYS,
  NODE_FIELD_KEYS,
  WORKFLOW_FIELD_KEYS,
  type EventItem,
  type ServerItem,
  type VariableItem,
  type WorkflowItem,
} from './catalogue-format';

export interface CatalogueServiceDeps {
  db: AppDatabase;
  bus: EventBus;
  clock: Clock;
  secrets: SecretStore;
  /** The real scheduler's book: told about imported schedules once the import is committed. */
  schedules: ScheduleBook;
  events: EventService;
  workflows: WorkflowService;
  variables: VariablesService;
  /** What the import's own WorkflowService would start runs with (it never starts one). */
  workflowJobs: WorkflowServiceDeps['jobs'];
  /** The SSH pool: connections of servers the import changed are dropped after the commit. */
  ssh: () => Pick<SshPool, 'invalidate' | 'acquire' | 'exec'>;
}

type Doc = z.infer<typeof CatalogueDocument>;
type Plan = { items: CataloguePreviewItem[]; problems: string[] };

/** Thrown inside the preview's transaction to roll the dry run back. */
class DryRunRollback extends Error {}

export class CatalogueService {
  constructor(private readonly deps: CatalogueServiceDeps) {}

  // ── Export ────────────────────────────────────────────────────────────────────────────────────────────────

  async exportYaml(): Promise<{ yaml: string; fileName: string }> {
    const doc = await this.snapshot(this.deps.db, this.deps.events, this.deps.workflows);
    const yaml = new Document(doc, { sortMapEntries: false });
    yaml.commentBefore =
      ' Cronium Desktop catalogue. No secrets: server credentials and secret values are entered after import.\n' +
      ' Servers, events and workflows are matched by name on import.';
    const day = nowIso(this.deps.clock.now()).slice(0, 10);
    return { yaml: yaml.toString({ lineWidth: 0, indentSeq: true }), fileName: `cronium-catalogue-${day}.yaml` };
  }

  /** The catalogue as the file's document, in a stable order (items by name, keys in declaration order). */
  private async snapshot(db: AppDatabase, events: EventService, workflows: WorkflowService): Promise<Doc> {
    const serverRows = await new ServerStore(db).list();
    const serverName = new Map(serverRows.map((r) => [r.id, r.name]));
    const servers: ServerItem[] = serverRows.map((r) => ({
      name: r.name,
      host: r.host,
      port: r.port,
      username: r.username,
      authType: r.auth_type,
      hostKeyFingerprint: r.host_key_fingerprint,
      hostKeyAlgorithm: r.host_key_algorithm,
      tags: parseArray(r.tags),
      maxConcurrentJobs: r.max_concurrent_jobs,
      agentForwarding: r.agent_forwarding === 1,
      jumpServers: parseArray(r.jump_server_ids).map((id) => serverName.get(id) ?? id),
    }));
    const eventViews = (await events.list()).sort(byName);
    const eventName = new Map(eventViews.map((e) => [e.id, e.name]));
    const workflowViews = (await workflows.list()).sort(byName);
    const workflowName = new Map(workflowViews.map((w) => [w.id, w.name]));
    const variableRows = await new VariablesStore(db).all();
    const variables: VariableItem[] = variableRows
      .map((r) => ({ scope: scopeToFile(r.scope, eventName, workflowName), key: r.key, ...(r.secret_ref ? { secret: true as const } : { value: r.value ?? '' }) }))
      .sort((a, b) => cmp(a.scope, b.scope) || cmp(a.key, b.key));
    return {
      format: CATALOGUE_FORMAT,
      formatVersion: CATALOGUE_FORMAT_VERSION,
      servers: servers.sort(byName),
      events: eventViews.map(eventItem),
      workflows: workflowViews.map(workflowItem),
      variables,
    };
  }

  // ── Import ────────────────────────────────────────────────────────────────────────────────────────────────

  /** What importing `text` would do; changes nothing. */
  async preview(text: string): Promise<CataloguePreview> {
    return this.run(text, false);
  }

  /** Imports `text` all or nothing; refused with CATALOGUE_REFUSED (details.preview) when it has problems or conflicts. */
  async apply(text: string): Promise<CataloguePreview> {
    const result = await this.run(text, true);
    if (!result.applicable) {
      const first = result.problems[0] ?? result.items.find((i) => i.action === 'conflict')?.detail ?? 'conflicts';
      throw new AppError('CATALOGUE_REFUSED', `The catalogue was not imported (${result.problems.length + result.counts.conflict} problem(s); first: ${first}). Nothing was changed.`, {
        details: { preview: result },
      });
    }
    return result;
  }

  private async run(text: string, commit: boolean): Promise<CataloguePreview> {
    const parsed = this.parse(text);
    if ('problems' in parsed) return summarize(parsed.formatVersion, parsed.problems, []);
    const doc = parsed.doc;
    const plan = await this.plan(doc);
    if (plan.problems.length > 0 || plan.items.some((i) => i.action === 'conflict')) return summarize(doc.formatVersion, plan.problems, plan.items);

    // The same apply for preview and import: the preview rolls it back, so service-level checks (schedules, graphs)
    // are reported before anything is written.
    const held = new HeldEffects(this.deps.secrets, this.deps.schedules, this.deps.ssh);
    const applyProblems: string[] = [];
    try {
      await inTransaction(this.deps.db, async (tx) => {
        await this.applyPlan(tx, doc, plan.items, held, applyProblems);
        if (applyProblems.length > 0 || !commit) throw new DryRunRollback();
        await recordAudit(tx, {
          at: this.deps.clock.now(), actor: 'user', action: 'catalogue.import', subject: null,
          detail: countsOf(plan.items),
        });
      });
    } catch (err) {
      if (!(err instanceof DryRunRollback)) applyProblems.push(`the import failed and was rolled back: ${messageOf(err)}`);
      return summarize(doc.formatVersion, applyProblems, plan.items);
    }
    await held.release(this.deps.bus);
    return summarize(doc.formatVersion, [], plan.items);
  }

  /** YAML syntax, format and format version, strict schemas: every problem, with its place in the file. */
  private parse(text: string): { doc: Doc } | { problems: string[]; formatVersion: number | null } {
    const yaml = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
    if (yaml.errors.length > 0) {
      return { formatVersion: null, problems: yaml.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`) };
    }
    const value = yaml.toJS({ maxAliasCount: 100 }) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { formatVersion: null, problems: ['the file is not a Cronium catalogue (expected a mapping with format: cronium-catalogue)'] };
    }
    const header = value as Record<string, unknown>;
    const formatVersion = typeof header.formatVersion === 'number' ? header.formatVersion : null;
    if (header.format !== CATALOGUE_FORMAT) {
      return { formatVersion, problems: [`format: expected "${CATALOGUE_FORMAT}", found ${JSON.stringify(header.format ?? null)}`] };
    }
    if (formatVersion !== null && formatVersion > CATALOGUE_FORMAT_VERSION) {
      return {
        formatVersion,
        problems: [`formatVersion: the file was written by a newer Cronium (format version ${formatVersion}; this one reads up to ${CATALOGUE_FORMAT_VERSION}). Update Cronium to import it.`],
      };
    }
    const result = CatalogueDocument.safeParse(value);
    if (!result.success) {
      return { formatVersion, problems: result.error.issues.map((i) => `${describePath(i.path, header)}: ${i.message}`) };
    }
    // Nested objects of the contract's schemas (a schedule, an option) are not strict: a key they dropped is unknown.
    const dropped: string[] = [];
    droppedKeys(value, result.data, [], header, dropped);
    if (dropped.length > 0) return { formatVersion, problems: dropped };
    return { doc: result.data };
  }

  /** References by name, duplicates, and what each item would do (create, update, unchanged, conflict). */
  private async plan(doc: Doc): Promise<Plan> {
    const problems: string[] = [];
    const items: CataloguePreviewItem[] = [];
    const current = await this.snapshot(this.deps.db, this.deps.events, this.deps.workflows);
    const serverRows = await new ServerStore(this.deps.db).list();
    const eventRows = await this.deps.events.store.list();

    duplicates(doc.servers.map((s) => s.name), 'servers', problems);
    duplicates(doc.events.map((e) => e.name), 'events', problems);
    duplicates(doc.workflows.map((w) => w.name), 'workflows', problems);
    duplicates(doc.variables.map((v) => `${v.scope} / ${v.key}`), 'variables', problems);

    const serverNames = new Set([...serverRows.map((r) => r.name), ...doc.servers.map((s) => s.name)]);
    const eventNames = new Set([...eventRows.map((r) => r.name), ...doc.events.map((e) => e.name)]);
    const workflowNames = new Set([...current.workflows.map((w) => w.name), ...doc.workflows.map((w) => w.name)]);
    doc.servers.forEach((s, i) => {
      for (const j of s.jumpServers) if (!serverNames.has(j)) problems.push(`servers[${i}] (${s.name}).jumpServers: no server named "${j}" in the file or in this catalogue`);
      // ServerService.save's rule, reported here too: a server the import leaves unchanged is never saved.
      if (s.agentForwarding && s.authType !== 'agent') problems.push(`servers[${i}] (${s.name}).agentForwarding: agent forwarding needs the ssh-agent credential kind`);
    });
    doc.events.forEach((e, i) => {
      for (const s of e.servers) if (!serverNames.has(s)) problems.push(`events[${i}] (${e.name}).servers: no server named "${s}" in the file or in this catalogue`);
    });
    doc.workflows.forEach((w, i) => {
      w.nodes.forEach((n, j) => {
        if (!eventNames.has(n.event)) problems.push(`workflows[${i}] (${w.name}).nodes[${j}].event: no event named "${n.event}" in the file or in this catalogue`);
        if (n.server !== null && !serverNames.has(n.server)) problems.push(`workflows[${i}] (${w.name}).nodes[${j}].server: no server named "${n.server}" in the file or in this catalogue`);
      });
    });
    doc.variables.forEach((v, i) => {
      if (v.scope.startsWith('event:') && !eventNames.has(v.scope.slice(6))) problems.push(`variables[${i}].scope: no event named "${v.scope.slice(6)}" in the file or in this catalogue`);
      if (v.scope.startsWith('workflow:') && !workflowNames.has(v.scope.slice(9))) problems.push(`variables[${i}].scope: no workflow named "${v.scope.slice(9)}" in the file or in this catalogue`);
    });

    const sameNameCount = new Map<string, number>();
    for (const r of eventRows) sameNameCount.set(r.name, (sameNameCount.get(r.name) ?? 0) + 1);
    const decide = <T extends object>(kind: CatalogueItemKind, name: string, item: T, existing: T | undefined, ambiguous = false) => {
      if (ambiguous) {
        items.push({ kind, name, action: 'conflict', detail: `several ${kind}s here are named "${name}"; rename them so the file can say which one it means` });
        return;
      }
      if (!existing) {
        items.push({ kind, name, action: 'create', detail: null });
        return;
      }
      const changed = changedKeys(existing, item);
      items.push({ kind, name, action: changed.length === 0 ? 'unchanged' : 'update', detail: changed.length === 0 ? null : `changes ${changed.join(', ')}` });
    };
    const currentServers = new Map(current.servers.map((s) => [s.name, s]));
    for (const s of doc.servers) {
      const existing = currentServers.get(s.name);
      decide('server', s.name, asImported(s, existing), existing);
      const item = items[items.length - 1]!;
      if (item.action === 'create' || item.action === 'update') item.detail = serverNote(item.detail, s, existing);
    }
    const currentEvents = new Map(current.events.map((e) => [e.name, e]));
    for (const e of doc.events) decide('event', e.name, e, currentEvents.get(e.name), (sameNameCount.get(e.name) ?? 0) > 1);
    const currentWorkflows = new Map<string, WorkflowItem>();
    const workflowCount = new Map<string, number>();
    for (const w of current.workflows) {
      currentWorkflows.set(w.name, w);
      workflowCount.set(w.name, (workflowCount.get(w.name) ?? 0) + 1);
    }
    for (const w of doc.workflows) decide('workflow', w.name, w, currentWorkflows.get(w.name), (workflowCount.get(w.name) ?? 0) > 1);
    const currentVariables = new Map(current.variables.map((v) => [`${v.scope} / ${v.key}`, v]));
    for (const v of doc.variables) decide('variable', `${v.scope} / ${v.key}`, v, currentVariables.get(`${v.scope} / ${v.key}`));
    return { problems, items };
  }

  /** Writes every create and update through the services and stores bound to `tx`; records each failure. */
  private async applyPlan(tx: AppDatabase, doc: Doc, items: CataloguePreviewItem[], held: HeldEffects, problems: string[]): Promise<void> {
    const action = (kind: CatalogueItemKind, name: string) => items.find((i) => i.kind === kind && i.name === name)?.action;
    const heldBus = held.bus;
    const events = new EventService({ db: tx, secrets: held.secrets, bus: heldBus, clock: this.deps.clock, schedules: held.schedules });
    const workflows = new WorkflowService({ db: tx, bus: heldBus, clock: this.deps.clock, schedules: held.schedules, jobs: this.deps.workflowJobs });
    const servers = new ServerService({ db: tx, secrets: held.secrets, bus: heldBus, clock: this.deps.clock, ssh: () => held.pool });
    const variables = new VariablesStore(tx);
    const at = nowIso(this.deps.clock.now());
    const attempt = async (what: string, work: () => Promise<void>) => {
      try {
        await work();
      } catch (err) {
        const fields = err instanceof AppError && err.extra.fields ? ` (${Object.entries(err.extra.fields).map(([k, v]) => `${k}: ${v}`).join('; ')})` : '';
        problems.push(`${what}: ${messageOf(err)}${fields}`);
      }
    };

    // Servers through ServerService.save (its rules, audit records and pool invalidation), in two passes, so jump
    // hosts may name servers created by the same file: the second pass saves again only the servers whose hops change.
    const serverId = new Map((await servers.store.list()).map((r) => [r.name, r.id]));
    const serverInput = (s: ServerItem) => ({
      id: serverId.get(s.name), name: s.name, host: s.host, port: s.port, username: s.username, authType: s.authType,
      tags: s.tags, maxConcurrentJobs: s.maxConcurrentJobs, agentForwarding: s.agentForwarding,
    });
    for (const s of doc.servers) {
      const act = action('server', s.name);
      if (act !== 'create' && act !== 'update') continue;
      await attempt(`server ${s.name}`, async () => {
        const view = await servers.save(serverInput(s), { from: 'catalogue' });
        serverId.set(s.name, view.id);
      });
    }
    for (const s of doc.servers) {
      const act = action('server', s.name);
      const id = serverId.get(s.name);
      if ((act !== 'create' && act !== 'update') || !id) continue;
      const jumpServerIds = s.jumpServers.map((n) => serverId.get(n) ?? n);
      if (canonical(jumpServerIds) === canonical(parseArray((await servers.row(id)).jump_server_ids))) continue;
      await attempt(`server ${s.name}`, async () => {
        await servers.save({ ...serverInput(s), jumpServerIds }, { from: 'catalogue' });
      });
    }

    // Events through EventService (its validation, schedule checks and audit), then the file's version and secret names.
    const eventId = new Map((await events.store.list()).map((r) => [r.name, r.id]));
    for (const e of doc.events) {
      const act = action('event', e.name);
      if (act !== 'create' && act !== 'update') continue;
      await attempt(`event ${e.name}`, async () => {
        const existingId = eventId.get(e.name);
        const existingSecrets = existingId ? parseSecretNames((await events.store.find(existingId))?.secret_refs) : [];
        const { version, servers: serverNames, secrets, ...fields } = e;
        // The secret names are recorded after the save: the rule that keeps secrets off server-held schedules is checked here.
        checkServerHeld({ ...fields, secrets: secrets.map((name) => ({ name })) });
        const view = await events.save({
          ...fields,
          id: existingId,
          serverIds: serverNames.map((n) => serverId.get(n)!),
          // Names this catalogue already holds keep their keychain values; new names are recorded below, without one.
          secrets: secrets.filter((n) => existingSecrets.includes(n)).map((name) => ({ name })),
        });
        eventId.set(e.name, view.id);
        const refs = secrets.map((name) => ({ name, ref: eventSecretRef(view.id, name) }));
        await events.store.restoreImported(view.id, existingId ? view.version : version, JSON.stringify(refs));
      });
    }

    const workflowId = new Map((await workflows.list()).map((w) => [w.name, w.id]));
    for (const w of doc.workflows) {
      const act = action('workflow', w.name);
      if (act !== 'create' && act !== 'update') continue;
      await attempt(`workflow ${w.name}`, async () => {
        const existingId = workflowId.get(w.name);
        const { version, nodes, edges, ...fields } = w;
        const view = await workflows.save({
          ...fields,
          id: existingId,
          nodes: nodes.map(({ event, server, ...node }) => ({ ...node, eventId: eventId.get(event)!, serverId: server === null ? null : serverId.get(server)! })),
          edges,
        });
        workflowId.set(w.name, view.id);
        if (!existingId) await workflows.store.restoreVersion(view.id, version);
      });
    }

    for (const v of doc.variables) {
      const act = action('variable', `${v.scope} / ${v.key}`);
      if (act !== 'create' && act !== 'update') continue;
      await attempt(`variable ${v.scope} / ${v.key}`, async () => {
        const scope = scopeFromFile(v.scope, eventId, workflowId);
        if (v.secret) await variables.upsertSecret(scope, v.key, variableSecretRef(scope, v.key), at, null);
        else await variables.upsertPlain(scope, v.key, v.value ?? '', at, null);
      });
    }
  }
}

/**
 * Effects outside the database, held while the transaction runs and released after its commit: bus events (views
 * the renderer reloads), schedule changes, keychain deletions. A rollback drops them.
 */
class HeldEffects {
  readonly bus = new EventBus();
  private readonly emitted: Array<[string, unknown]> = [];
  private readonly scheduleCalls: Array<(book: ScheduleBook) => void> = [];
  private readonly secretDeletes: string[] = [];
  private readonly invalidated = new Set<string>();
  readonly schedules: ScheduleBook;
  readonly secrets: SecretStore;
  /** Drops of pooled connections are held; connecting (a connection test) is not something an import does. */
  readonly pool: Pick<SshPool, 'invalidate' | 'acquire' | 'exec'>;

  constructor(
    private readonly realSecrets: SecretStore,
    private readonly realSchedules: ScheduleBook,
    private readonly realPool: () => Pick<SshPool, 'invalidate' | 'acquire' | 'exec'>,
  ) {
    this.bus.subscribe((name, payload) => this.emitted.push([name, payload]));
    const calls = this.scheduleCalls;
    this.schedules = {
      upsert: (owner) => calls.push((b) => b.upsert(owner)),
      remove: (kind, id) => calls.push((b) => b.remove(kind, id)),
      nextFire: (kind, id) => realSchedules.nextFire(kind, id),
      runEnded: (kind, id) => calls.push((b) => b.runEnded(kind, id)),
    };
    const deletes = this.secretDeletes;
    this.secrets = {
      description: realSecrets.description,
      check: () => realSecrets.check(),
      get: (account) => realSecrets.get(account),
      // An import never carries a secret value; a set here would be a bug.
      set: () => Promise.reject(new AppError('INTERNAL', 'a catalogue import never writes a secret value')),
      delete: async (account) => {
        deletes.push(account);
        return true;
      },
    };
    const invalidated = this.invalidated;
    const refuse = () => Promise.reject(new AppError('INTERNAL', 'a catalogue import never connects to a server'));
    this.pool = { invalidate: (id) => void invalidated.add(id), acquire: refuse, exec: refuse };
  }

  async release(realBus: EventBus): Promise<void> {
    for (const call of this.scheduleCalls) {
      try {
        call(this.realSchedules);
      } catch (err) {
        console.error('[catalogue] a schedule of the import was not loaded:', messageOf(err));
      }
    }
    for (const account of this.secretDeletes) await this.realSecrets.delete(account).catch(() => false);
    for (const id of this.invalidated) this.realPool().invalidate(id);
    for (const [name, payload] of this.emitted) realBus.emit(name as never, payload as never);
  }
}

/**
 * What the import would store for a server of the file, in the file's terms: the host key pin is never the file's
 * (kept only while host and port stay), and agent forwarding stays off unless the user already turned it on here.
 */
function asImported(s: ServerItem, existing: ServerItem | undefined): ServerItem {
  const keepsPin = existing !== undefined && existing.host === s.host && existing.port === s.port;
  return {
    ...s,
    hostKeyFingerprint: keepsPin ? existing.hostKeyFingerprint : null,
    hostKeyAlgorithm: keepsPin ? existing.hostKeyAlgorithm : null,
    agentForwarding: s.agentForwarding && existing?.agentForwarding === true,
  };
}

/** The preview's note on a server the import creates or updates: what the file cannot set. */
function serverNote(detail: string | null, s: ServerItem, existing: ServerItem | undefined): string {
  const notes = detail ? [detail] : [];
  if (!existing) notes.push('host key approved on first contact (not taken from the file)');
  else if (existing.hostKeyFingerprint && (existing.host !== s.host || existing.port !== s.port)) notes.push('address changes: its pinned host key is dropped and approved again on first contact');
  if (s.agentForwarding && !existing?.agentForwarding) notes.push('agent forwarding not turned on (only in the app)');
  return notes.join('; ');
}

function eventItem(e: EventView): EventItem {
  const out: Record<string, unknown> = { name: e.name, version: e.version };
  const view = e as unknown as Record<string, unknown>;
  for (const key of EVENT_FIELD_KEYS) {
    if (key === 'name') continue;
    out[key] = key === 'env' ? sortRecord(e.env) : view[key];
  }
  out.servers = e.servers.map((s) => s.name).sort(cmp);
  out.secrets = e.secrets.map((s) => s.name).sort(cmp);
  return out as EventItem;
}

function workflowItem(w: WorkflowView): WorkflowItem {
  const out: Record<string, unknown> = { name: w.name, version: w.version };
  const view = w as unknown as Record<string, unknown>;
  for (const key of WORKFLOW_FIELD_KEYS) if (key !== 'name') out[key] = view[key];
  out.nodes = w.nodes.map((n) => {
    const node: Record<string, unknown> = {};
    const nv = n as unknown as Record<string, unknown>;
    for (const key of NODE_FIELD_KEYS) node[key] = nv[key];
    node.event = n.eventName ?? n.eventId;
    node.server = n.serverName ?? null;
    return node;
  });
  out.edges = w.edges.map((e) => {
    const edge: Record<string, unknown> = {};
    const ev = e as unknown as Record<string, unknown>;
    for (const key of EDGE_FIELD_KEYS) edge[key] = ev[key];
    return edge;
  });
  return out as WorkflowItem;
}

function scopeToFile(scope: string, events: Map<string, string>, workflows: Map<string, string>): string {
  if (scope.startsWith('event:')) return `event:${events.get(scope.slice(6)) ?? scope.slice(6)}`;
  if (scope.startsWith('workflow:')) return `workflow:${workflows.get(scope.slice(9)) ?? scope.slice(9)}`;
  return scope;
}

function scopeFromFile(scope: string, events: Map<string, string>, workflows: Map<string, string>): string {
  if (scope.startsWith('event:')) return `event:${events.get(scope.slice(6))!}`;
  if (scope.startsWith('workflow:')) return `workflow:${workflows.get(scope.slice(9))!}`;
  return scope;
}

/** Top-level keys whose values differ (version ignored: it follows the edits of each side). */
function changedKeys(before: object, after: object): string[] {
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete('version');
  return [...keys].filter((k) => canonical(a[k]) !== canonical(b[k])).sort(cmp);
}

function canonical(value: unknown): string {
  if (value === undefined) return 'undefined';
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => cmp(x, y))) : v,
  );
}

/** Keys present in the file but absent from what the schema kept, each as a problem with its place. */
function droppedKeys(raw: unknown, kept: unknown, path: PropertyKey[], root: Record<string, unknown>, out: string[]): void {
  if (Array.isArray(raw) && Array.isArray(kept)) {
    raw.forEach((item, i) => droppedKeys(item, kept[i], [...path, i], root, out));
    return;
  }
  if (!isPlainObject(raw) || !isPlainObject(kept)) return;
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in kept)) out.push(`${describePath(path, root)}: Unrecognized key: "${key}"`);
    else droppedKeys(value, kept[key], [...path, key], root, out);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function duplicates(names: string[], what: string, problems: string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) problems.push(`${what}: "${n}" is listed more than once`);
    seen.add(n);
  }
}

/** "events[2].timeoutSeconds (nightly backup)" from a zod path. */
function describePath(path: ReadonlyArray<PropertyKey>, root: Record<string, unknown>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  if (path.length >= 2 && typeof path[1] === 'number') {
    const list = root[String(path[0])];
    const item = Array.isArray(list) ? (list[path[1]] as { name?: unknown } | undefined) : undefined;
    if (item && typeof item.name === 'string') out += ` (${item.name})`;
  }
  return out || '(file)';
}

function summarize(formatVersion: number | null, problems: string[], items: CataloguePreviewItem[]): CataloguePreview {
  const counts = countsOf(items);
  return { formatVersion, problems, items, counts, applicable: problems.length === 0 && counts.conflict === 0 };
}

function countsOf(items: CataloguePreviewItem[]) {
  const counts = { create: 0, update: 0, unchanged: 0, conflict: 0 };
  for (const i of items) counts[i.action]++;
  return counts;
}

function sortRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => cmp(a, b)));
}

function parseArray(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function parseSecretNames(json: string | undefined): string[] {
  try {
    const v = JSON.parse(json ?? '[]') as unknown;
    return Array.isArray(v) ? v.map((x) => (x as { name?: unknown }).name).filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}

function byName(a: { name: string; id?: string }, b: { name: string; id?: string }): number {
  return cmp(a.name, b.name) || cmp(a.id ?? '', b.id ?? '');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

