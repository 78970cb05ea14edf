/**
 * The audit log: one line per security-relevant act (a host key trusted, a credential replaced, a server deleted).
 * The one writer of the audit_log table (its SQL is in audit-store.ts), and its reader for the Audit pane (listAudit).
 * `detail` must never hold a secret value: fingerprints, names, ids and the names of changed settings only.
 */
import type { AuditEntryView, AuditObjectKind } from '../../src-shared/contract/audit';
import type { AppDatabase } from './db/database';
import { nowIso } from './db/ids';
import { AuditStore, type AuditQuery, type NewAuditRow } from './audit-store';

export type AuditActor = 'user' | 'scheduler' | 'system';

/** `at`: the core clock's time (epoch ms) of the act. */
type AuditEntry = { actor: AuditActor; action: string; subject?: string | null; detail?: Record<string, unknown>; at: number };

function toRow(entry: AuditEntry): NewAuditRow {
  return {
    at: nowIso(entry.at),
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject ?? null,
    detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
  };
}

export async function recordAudit(db: AppDatabase, entry: AuditEntry): Promise<void> {
  await new AuditStore(db).insert(toRow(entry));
}

/** recordAudit for synchronous callers (SettingsService): the row is written before this returns. */
export function recordAuditSync(db: AppDatabase, entry: AuditEntry): void {
  new AuditStore(db).insertSync(toRow(entry));
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

/** Current names of the objects entries refer to (servers, events, workflows), by id. */
export type AuditNameLookup = (kind: 'server' | 'event' | 'workflow', ids: string[]) => Promise<Map<string, string>>;

/** The Audit pane's read: newest first, filtered by object kind, actor and free text; names resolved for links. */
export async function listAudit(
  db: AppDatabase,
  q: AuditQuery,
  names?: AuditNameLookup,
): Promise<{ entries: AuditEntryView[]; hasMore: boolean }> {
  const rows = await new AuditStore(db).page(q);
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
