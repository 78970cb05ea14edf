/**
 * Audit: the read side of the audit log (who or what changed which setting, server, event, workflow, host key or
 * runner). Rows are written only by src-main/core/audit-log.ts; `detail` holds names, fingerprints and ids, never a secret.
 */
import { z } from 'zod';
import { call } from './define';

export const AuditActor = z.enum(['user', 'scheduler', 'system']);
export type AuditActor = z.infer<typeof AuditActor>;

/** What an entry is about, read from its action ('server.delete' -> server, 'server.trust_host_key' -> host_key). */
export const AuditObjectKind = z.enum(['setting', 'server', 'event', 'workflow', 'host_key', 'runner', 'other']);
export type AuditObjectKind = z.infer<typeof AuditObjectKind>;

export const AUDIT_OBJECT_LABELS: Record<AuditObjectKind, string> = {
  setting: 'Setting',
  server: 'Server',
  event: 'Event',
  workflow: 'Workflow',
  host_key: 'Host key',
  runner: 'Runner',
  other: 'Other',
};

export const AuditEntryView = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  objectKind: AuditObjectKind,
  /** The id of the object (a server, event or workflow id; a setting's section); null when none. */
  objectId: z.string().nullable(),
  /** The object's name now, or as recorded when it has been deleted; null when unknown. */
  objectName: z.string().nullable(),
  /** Whether the object still exists, so the entry can link to it. */
  objectExists: z.boolean(),
  /** The recorded detail as "key: value" pairs (never a secret). */
  detail: z.record(z.string(), z.unknown()).nullable(),
});
export type AuditEntryView = z.infer<typeof AuditEntryView>;

export const AuditQuery = z
  .object({
    objectKind: AuditObjectKind.optional(),
    actor: AuditActor.optional(),
    /** Matched against the action, the object id and the detail text. */
    search: z.string().max(200).optional(),
    /** Entries with an id below this (paging, newest first). */
    beforeId: z.number().int().optional(),
    limit: z.number().int().min(1).max(1000).default(200),
  })
  .optional();

export const auditCalls = {
  'audit/list': call(AuditQuery, z.object({ entries: z.array(AuditEntryView), hasMore: z.boolean() })),
};

export const auditEvents = {};
