/** audit/* handlers: the Audit pane's filtered read of the audit log (core/audit-log.ts), with object names for links. */
import { listAudit, type AuditNameLookup } from '../../core/audit-log';
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export function auditHandlers(core: Core): HandlersFor<'audit/list'> {
  const names: AuditNameLookup = async (kind, ids) => {
    const wanted = new Set(ids);
    if (kind === 'event') return core.events.store.names(ids);
    const rows = kind === 'server' ? await core.servers.store.list() : await core.workflows.list();
    return new Map(rows.filter((r) => wanted.has(r.id)).map((r) => [r.id, r.name]));
  };
  return {
    'audit/list': (input) => listAudit(core.db, { limit: 200, ...input }, names),
  };
}
