/**
 * Audit pane: who or what changed which setting, server, event, workflow, host key or runner, from the audit log,
 * newest first. Filterable by kind of object, by actor and by text; each entry links to its object while it exists.
 * It shows what the log recorded (names, ids, fingerprints), never a secret: the log never holds one.
 */
import { useEffect, useState } from 'react';
import { AUDIT_OBJECT_LABELS, AuditObjectKind, type AuditEntryView } from '../../../src-shared/contract/audit';
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { PaneHeader } from '../components/PaneHeader';
import { formatTime } from '../components/format';
import { useAuditStore } from '../stores/audit-store';
import { useNavigationStore } from '../stores/navigation-store';
import '../components/admin.css';
import '../notifications/notifications.css';

/** "server.trust_host_key" -> "trust host key". */
function actionWords(action: string): string {
  const [, ...rest] = action.split('.');
  return (rest.join(' ') || action).replace(/_/g, ' ');
}

function valueText(v: unknown): string {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/** "name: backup · version: 3"; a nested record (a settings change) is listed by its own keys. */
function detailText(detail: AuditEntryView['detail']): string {
  if (!detail) return '';
  return Object.entries(detail)
    .flatMap(([k, v]) =>
      typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.entries(v).map(([sk, sv]) => `${sk}: ${valueText(sv)}`) : [`${k}: ${valueText(v)}`],
    )
    .join(' · ');
}

function ObjectLink({ entry }: { entry: AuditEntryView }) {
  const select = useNavigationStore((s) => s.select);
  const navigate = useNavigationStore((s) => s.navigate);
  const name = entry.objectName ?? entry.objectId ?? '—';
  if (entry.objectKind === 'setting') {
    return (
      <button type="button" className="link row-link" onClick={() => navigate('settings')}>
        {entry.objectId ?? 'settings'}
      </button>
    );
  }
  if (!entry.objectExists || !entry.objectId) return <span title={entry.objectId ?? undefined}>{name}{entry.objectId && !entry.objectExists ? ' (deleted)' : ''}</span>;
  const id = entry.objectId;
  const open = () => {
    if (entry.objectKind === 'event') select('events', { eventId: id });
    else if (entry.objectKind === 'workflow') select('workflows', { workflowId: id });
    else if (entry.objectKind === 'runner') select('runners', { serverId: id });
    else select('servers', { serverId: id });
  };
  return (
    <button type="button" className="link row-link" onClick={open} title={id}>
      {name}
    </button>
  );
}

export function AuditPane() {
  const { entries, hasMore, filters, loading, error, load, loadMore, setFilters } = useAuditStore();
  const [search, setSearch] = useState(filters.search);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <div className="pane">
      <PaneHeader
        title="Audit"
        subtitle="Who or what changed settings, servers, events, workflows, host keys and runners. Newest first."
        actions={
          <Button variant="secondary" busy={loading} onClick={() => void load()}>
            Refresh
          </Button>
        }
      />
      <form
        className="list-filters"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({ search });
        }}
      >
        <label>
          Object
          <select value={filters.objectKind} onChange={(e) => setFilters({ objectKind: e.target.value as AuditObjectKind | '' })}>
            <option value="">All objects</option>
            {AuditObjectKind.options.map((k) => (
              <option key={k} value={k}>
                {AUDIT_OBJECT_LABELS[k]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Actor
          <select value={filters.actor} onChange={(e) => setFilters({ actor: e.target.value as 'user' | 'scheduler' | 'system' | '' })}>
            <option value="">Anyone</option>
            <option value="user">A person (user)</option>
            <option value="scheduler">The scheduler</option>
            <option value="system">The app (system)</option>
          </select>
        </label>
        <label>
          Text
          <input type="search" value={search} placeholder="action, name, id…" onChange={(e) => setSearch(e.target.value)} />
        </label>
        <Button type="submit" variant="secondary">
          Search
        </Button>
      </form>
      {error && (
        <p className="form-error" role="alert">
          Could not load the audit log: {error}
        </p>
      )}
      <div className="table-card data-table-wrap">
        <table className="data-table" aria-label="Audit log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Object</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {entries.length === 0 && (
              <tr>
                <td colSpan={5} className="muted table-empty">
                  {loading ? 'Loading…' : 'No entry matches. Changes to settings, servers, events, workflows, host keys and runners are recorded here.'}
                </td>
              </tr>
            )}
            {entries.map((e) => (
              <tr key={e.id} data-testid="audit-entry" data-action={e.action}>
                <td>
                  <time dateTime={e.at}>{formatTime(e.at)}</time>
                </td>
                <td>{e.actor}</td>
                <td>
                  <Badge>{AUDIT_OBJECT_LABELS[e.objectKind]}</Badge> {actionWords(e.action)}
                </td>
                <td>
                  <ObjectLink entry={e} />
                </td>
                <td className="audit-detail muted">{detailText(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {hasMore && (
        <Button variant="secondary" busy={loading} onClick={() => void loadMore()}>
          Show older entries
        </Button>
      )}
    </div>
  );
}
