/**
 * The audit log: one line per security-relevant act (a host key trusted, a credential replaced, a server deleted).
 * The one writer of the audit_log table. `detail` must never hold a secret value: fingerprints, names and ids only.
 */
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
