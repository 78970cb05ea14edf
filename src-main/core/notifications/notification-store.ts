/**
 * NotificationStore: the one holder of the SQL over `notifications` (the notification centre's history).
 * NotificationService decides what is recorded; this only reads and writes rows, and keeps the history bounded.
 */
import type { NotificationKind, NotificationView } from '../../../src-shared/contract/notifications';
import type { AppDatabase } from '../db/database';
import type { Row } from '../db/schema';

/** The centre keeps this many entries; older ones are removed as new ones come. */
export const MAX_NOTIFICATION_HISTORY = 5000;

export class NotificationStore {
  constructor(private readonly db: AppDatabase) {}

  async insert(rows: NotificationView[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.kysely
      .insertInto('notifications')
      .values(
        rows.map((n) => ({
          id: n.id,
          kind: n.kind,
          title: n.title,
          body: n.body,
          target_kind: n.target?.kind ?? null,
          target_id: n.target?.id ?? null,
          group_id: n.groupId,
          created_at: n.createdAt,
          read_at: n.readAt,
        })),
      )
      .execute();
  }

  async list(q: { limit: number; unreadOnly: boolean; kind?: NotificationKind }): Promise<NotificationView[]> {
    let query = this.db.kysely.selectFrom('notifications').selectAll();
    if (q.unreadOnly) query = query.where('read_at', 'is', null);
    if (q.kind) query = query.where('kind', '=', q.kind);
    const rows = await query.orderBy('created_at', 'desc').orderBy('id').limit(q.limit).execute();
    return rows.map(toView);
  }

  async unreadCount(): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('notifications')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('read_at', 'is', null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Marks the given entries (or every unread one) read at `at`. */
  async markRead(ids: string[] | undefined, at: string): Promise<void> {
    let q = this.db.kysely.updateTable('notifications').set({ read_at: at }).where('read_at', 'is', null);
    if (ids) {
      if (ids.length === 0) return;
      q = q.where('id', 'in', ids);
    }
    await q.execute();
  }

  /** Removes the oldest entries beyond `keep`. */
  async trim(keep: number = MAX_NOTIFICATION_HISTORY): Promise<void> {
    const cutoff = await this.db.kysely
      .selectFrom('notifications')
      .select('created_at')
      .orderBy('created_at', 'desc')
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    if (cutoff) await this.db.kysely.deleteFrom('notifications').where('created_at', '<=', cutoff.created_at).execute();
  }
}

function toView(r: Row<'notifications'>): NotificationView {
  return {
    id: r.id,
    kind: r.kind as NotificationKind,
    title: r.title,
    body: r.body,
    target: r.target_kind && r.target_id ? { kind: r.target_kind as 'log' | 'server' | 'event' | 'workflow', id: r.target_id } : null,
    groupId: r.group_id,
    createdAt: r.created_at,
    readAt: r.read_at,
  };
}
