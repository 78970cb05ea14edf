/**
 * Servers pane: the catalogue of servers (filtered by tag), their details, and add / edit / delete. Host keys are
 * trusted from the details view only after the user has seen the fingerprint. Reads stores only, never the transport.
 */
import { useEffect, useState } from 'react';
import type { ServerView } from '../../../src-shared/contract/servers';
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { ConfirmDialog } from '../components/Dialog';
import { EmptyState } from '../components/EmptyState';
import { Icon } from '../components/Icon';
import { PaneHeader } from '../components/PaneHeader';
import { formatAge } from '../components/format';
import { ServerDetails } from '../servers/ServerDetails';
import { ServerForm } from '../servers/ServerForm';
import { SshImportDialog } from '../servers/SshImportDialog';
import { useConnectionStore } from '../stores/connection-store';
import { useNavigationStore } from '../stores/navigation-store';
import { allTags, useServersStore } from '../stores/servers-store';
import { useEventsStore } from '../stores/events-store';
import '../components/admin.css';

function ConnectionCell({ server }: { server: ServerView }) {
  const last = server.lastConnection;
  if (!server.hostKeyFingerprint) return <Badge tone="info">awaiting your approval</Badge>;
  if (!last) return <span className="muted">not tested</span>;
  return (
    <span>
      {last.ok ? <Badge tone="success">ok</Badge> : <Badge tone="danger">failed</Badge>}{' '}
      <span className="muted">
        {last.latencyMs !== null ? `${Math.round(last.latencyMs)} ms · ` : ''}
        {formatAge(last.at)}
      </span>
    </span>
  );
}

export function ServersPane() {
  const servers = useServersStore((s) => s.servers);
  const loaded = useServersStore((s) => s.loaded);
  const error = useServersStore((s) => s.error);
  const tagFilter = useServersStore((s) => s.tagFilter);
  const setTagFilter = useServersStore((s) => s.setTagFilter);
  const load = useServersStore((s) => s.load);
  const remove = useServersStore((s) => s.remove);
  const selectedId = useNavigationStore((s) => s.selection.serverId);
  const select = useNavigationStore((s) => s.select);
  const sessions = useConnectionStore((s) => s.sessions);
  const [editing, setEditing] = useState<ServerView | 'new' | null>(null);
  const [deleting, setDeleting] = useState<ServerView | null>(null);
  const [importing, setImporting] = useState(false);
  const [deleteBusy, setDeleteBusy] = useState(false);
  const events = useEventsStore((s) => s.events);
  const eventsLoaded = useEventsStore((s) => s.loaded);
  const loadEvents = useEventsStore((s) => s.load);
  // The delete dialog names the events that target the server: load them if the Events pane has not yet.
  useEffect(() => {
    if (deleting && !eventsLoaded) void loadEvents();
  }, [deleting, eventsLoaded, loadEvents]);
  const affected = deleting ? events.filter((e) => e.servers.some((v) => v.id === deleting.id)) : [];
  const orphaned = affected.filter((e) => e.servers.length === 1);

  useEffect(() => {
    void load();
  }, [load, sessions]);

  const tags = allTags(servers);
  const shown = tagFilter ? servers.filter((s) => s.tags.includes(tagFilter)) : servers;
  const selected = servers.find((s) => s.id === selectedId) ?? null;
  const addButton = (
    <>
      <Button onClick={() => setImporting(true)}>Import from SSH config</Button>{' '}
      <Button variant="primary" onClick={() => setEditing('new')}>
        Add server
      </Button>
    </>
  );

  const confirmDelete = async () => {
    if (!deleting) return;
    setDeleteBusy(true);
    const ok = await remove(deleting.id);
    setDeleteBusy(false);
    if (ok && selectedId === deleting.id) select('servers', { serverId: undefined });
    setDeleting(null);
  };

  return (
    <div className="pane pane-wide">
      <PaneHeader title="Servers" subtitle="The machines Cronium runs events on, reached over SSH." actions={servers.length > 0 ? addButton : undefined} />
      {error && (
        <p className="form-error" role="alert">
          Could not load servers: {error}
        </p>
      )}
      {loaded && servers.length === 0 ? (
        <EmptyState title="Add your first server" icon={<Icon name="servers" size={40} />} action={addButton}>
          No servers yet. Add the machines you want to run events on; Cronium checks each host key with you before it connects.
        </EmptyState>
      ) : (
        <div className={`master-detail${selected ? ' has-detail' : ''}`}>
          <div className="master">
            {tags.length > 0 && (
              <div className="chip-row" role="group" aria-label="Filter by tag">
                <button type="button" className={`chip${tagFilter === null ? ' chip-active' : ''}`} aria-pressed={tagFilter === null} onClick={() => setTagFilter(null)}>
                  All
                </button>
                {tags.map((t) => (
                  <button key={t} type="button" className={`chip${tagFilter === t ? ' chip-active' : ''}`} aria-pressed={tagFilter === t} onClick={() => setTagFilter(tagFilter === t ? null : t)}>
                    {t}
                  </button>
                ))}
              </div>
            )}
            <div className="table-card">
              <table className="data-table" aria-label="Servers">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Address</th>
                    <th>Tags</th>
                    <th>Connection</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((s) => (
                    <tr
                      key={s.id}
                      className={`row-clickable${s.id === selectedId ? ' row-selected' : ''}`}
                      onClick={() => select('servers', { serverId: s.id })}
                      aria-selected={s.id === selectedId}
                    >
                      <td>
                        <button type="button" className="link row-link" onClick={(e) => (e.stopPropagation(), select('servers', { serverId: s.id }))}>
                          {s.name}
                        </button>
                      </td>
                      <td className="mono muted">
                        {s.username}@{s.host}:{s.port}
                      </td>
                      <td>
                        {s.tags.map((t) => (
                          <span key={t} className="tag">
                            {t}
                          </span>
                        ))}
                      </td>
                      <td>
                        <ConnectionCell server={s} />
                      </td>
                    </tr>
                  ))}
                  {shown.length === 0 && (
                    <tr>
                      <td colSpan={4} className="table-empty muted">
                        {loaded ? `No server is tagged ${tagFilter}.` : 'Loading…'}
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
          </div>
          {selected && <ServerDetails server={selected} onEdit={() => setEditing(selected)} onDelete={() => setDeleting(selected)} />}
        </div>
      )}
      {editing && (
        <ServerForm
          server={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(s) => {
            setEditing(null);
            select('servers', { serverId: s.id });
          }}
        />
      )}
      {importing && <SshImportDialog onClose={() => setImporting(false)} />}
      {deleting && (
        <ConfirmDialog title={`Delete ${deleting.name}?`} confirmLabel="Delete server" busy={deleteBusy} onCancel={() => setDeleting(null)} onConfirm={() => void confirmDelete()}>
          <p>
            Cronium forgets {deleting.username}@{deleting.host}:{deleting.port}, its pinned host key and its credential in the keychain. Logs of past runs are kept.
          </p>
          <p data-testid="delete-consequence">
            {affected.length === 0
              ? 'No event targets this server.'
              : `Events affected (${affected.length}): ${affected.map((e) => e.name).join(', ')}.${orphaned.length ? ` ${orphaned.map((e) => e.name).join(', ')} will have no server left and cannot run or fire on schedule until you choose another.` : ''}`}
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
