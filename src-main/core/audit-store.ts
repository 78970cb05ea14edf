/**
 * AuditStore: the one holder of the SQL over `audit_log`. audit-log.ts decides what a line says and how the Audit
 * pane shows it; this only writes rows (async, or synchronously for synchronous callers) and reads a filtered page.
 */
import type { AuditObjectKind } from '../../src-shared/contract/audit';
import type { AppDatabase } from './db/database';
import type { NewRow, Row } from './db/schema';

export type AuditRow = Row<'audit_log'>;
export type NewAuditRow = Omit<NewRow<'audit_log'>, 'id'>;

/** The action prefix of each object kind; host keys are matched anywhere in the action ('server.trust_host_key'). */
const KIND_PREFIX: Partial<Record<AuditObjectKind, string>> = {
  setting: 'settings.%',
  server: 'server.%',
  event: 'event.%',
  workflow: 'workflow.%',
  runner: 'runner.%',
};

export interface AuditQuery {
  objectKind?: AuditObjectKind;
  actor?: string;
  search?: string;
  beforeId?: number;
  limit: number;
}

export class AuditStore {
  constructor(private readonly db: AppDatabase) {}

  async insert(row: NewAuditRow): Promise<void> {
    await this.db.kysely.insertInto('audit_log').values(row).execute();
  }

  /** The row is written before this returns (for synchronous callers such as SettingsService). */
  insertSync(row: NewAuditRow): void {
    this.db.sqlite
      .prepare('INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)')
      .run(row.at, row.actor, row.action, row.subject ?? null, row.detail ?? null);
  }

  /** Newest first, filtered by object kind, actor and free text; at most `limit + 1` rows (the extra one says "more"). */
  async page(q: AuditQuery): Promise<AuditRow[]> {
    let query = this.db.kysely.selectFrom('audit_log').selectAll();
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
    return query.orderBy('id', 'desc').limit(q.limit + 1).execute();
  }
}
