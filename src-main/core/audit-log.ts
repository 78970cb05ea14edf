/**
 * The audit log: one line per security-relevant act (a host key trusted, a credential replaced, a server deleted).
 * The one writer of the audit_log table, and its reader for the Audit pane (listAudit). `detail` must never hold a
 * secret value: fingerprints, names, ids and the names of changed settings only.
 */
import type { AuditEntryView, AuditObjectKind } from '../../src-shared/contract/audit';
import type { AppDatabase } from './db/database';
import { nowIso } from './db/ids';

export type AuditActor = 'user' | 'scheduler' | 'system';

export async function recordAudit(
  db: AppDatabase,
  /** `at`: the core clock's time (epoch ms) of the act. */
  entry: { actor: AuditActor; action: string; subject?: string | null; detail?: Record<string, unknown>; at: number },
): Promise<void> {
  await db.kysely
    .insertInto('audit_log')
    .values({
      at: nowIso(entry.at),
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject ?? null,
      detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
    })
    .execute();
}

/** recordAudit for synchronous callers (SettingsService): the row is written before this returns. */
export function recordAuditSync(
  db: AppDatabase,
  entry: { actor: AuditActor; action: string; subject?: string | null; detail?: Record<string, unknown>; at: number },
): void {
  db.sqlite
    .prepare('INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)')
    .run(nowIso(entry.at), entry.actor, entry.action, entry.subject ?? null, entry.detail === undefined ? null : JSON.stringify(entry.detail));
}

/** What an action is about: 'server.trust_host_key' -> host_key, 'settings.update' -> setting, 'runner.deploy' -> runner. */
export function auditObjectKind(action: string): AuditObjectKind {
  if (action.includes('host_key')) return 'host_key';
  const prefix = action.split('.')[0];
  switch (prefix) {
    case 'settings':
      return 'setting';
    case 'server':
      return 'server';
    case 'event':
      return 'event';
    case 'workflow':
      return 'workflow';
    case 'runner':
      return 'runner';
    default:
      return 'other';
  }
}

const KIND_PREFIX: Partial<Record<AuditObjectKind, string>> = {
  setting: 'settings.%',
  server: 'server.%',
  event: 'event.%',
  workflow: 'workflow.%',
  runner: 'runner.%',
};

/** Current names of the objects entries refer to (servers, events, workflows), by id. */
export type AuditNameLookup = (kind: 'server' | 'event' | 'workflow', ids: string[]) => Promise<Map<string, string>>;

/** The Audit pane's read: newest first, filtered by object kind, actor and free text; names resolved for links. */
export async function listAudit(
  db: AppDatabase,
  q: { objectKind?: AuditObjectKind; actor?: string; search?: string; beforeId?: number; limit: number },
  names?: AuditNameLookup,
): Promise<{ entries: AuditEntryView[]; hasMore: boolean }> {
  let query = db.kysely.selectFrom('audit_log').selectAll();
  if (q.actor) query = query.where('actor', '=', q.actor);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  if (q.objectKind === 'host_key') query = query.where('action', 'like', '%host_key%');
  else if (q.objectKind === 'other') {
    for (const pattern of Object.values(KIND_PREFIX)) query = query.where('action', 'not like', pattern);
    query = query.where('action', 'not like', '%host_key%');
  } else if (q.objectKind) {
    query = query.where('action', 'like', KIND_PREFIX[q.objectKind]!);
    if (q.objectKind === 'server') query = query.where('action', 'not like', '%host_key%');
  }
  const search = q.search?.trim();
  if (search) {
    const like = `%${search}%`;
    query = query.where((eb) => eb.or([eb('action', 'like', like), eb('subject', 'like', like), eb('detail', 'like', like), eb('actor', 'like', like)]));
  }
  const rows = await query.orderBy('id', 'desc').limit(q.limit + 1).execute();
  const hasMore = rows.length > q.limit;
  const page = rows.slice(0, q.limit);

  const idsByKind = new Map<'server' | 'event' | 'workflow', Set<string>>();
  for (const r of page) {
    const kind = auditObjectKind(r.action);
    const linkKind = kind === 'host_key' || kind === 'runner' ? 'server' : kind;
    if (r.subject && (linkKind === 'server' || linkKind === 'event' || linkKind === 'workflow')) {
      let set = idsByKind.get(linkKind);
      if (!set) idsByKind.set(linkKind, (set = new Set()));
      set.add(r.subject);
    }
  }
  const resolved = new Map<string, Map<string, string>>();
  if (names) for (const [kind, ids] of idsByKind) resolved.set(kind, await names(kind, [...ids]));

  const entries = page.map((r): AuditEntryView => {
    const objectKind = auditObjectKind(r.action);
    const linkKind = objectKind === 'host_key' || objectKind === 'runner' ? 'server' : objectKind;
    let detail: Record<string, unknown> | null = null;
    try {
      detail = r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null;
    } catch {
      detail = { text: r.detail };
    }
    const current = r.subject ? resolved.get(linkKind)?.get(r.subject) : undefined;
    const recordedName = typeof detail?.name === 'string' ? detail.name : null;
    return {
      id: r.id,
      at: r.at,
      actor: r.actor,
      action: r.action,
      objectKind,
      objectId: r.subject,
      objectName: current ?? recordedName,
      objectExists: current !== undefined,
      detail,
    };
  });
  return { entries, hasMore };
}
