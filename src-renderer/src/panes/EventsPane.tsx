/**
 * Events pane: the scripted events (what, where, how, when), their details with live run logs and history, and the
 * editor to create, edit, duplicate and delete them. Reads stores only, never the transport.
 */
import { useEffect, useState } from 'react';
import type { EventView } from '../../../src-shared/contract/events';
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { ConfirmDialog } from '../components/Dialog';
import { EmptyState } from '../components/EmptyState';
import { Icon } from '../components/Icon';
import { PaneHeader } from '../components/PaneHeader';
import { StatusBadge } from '../components/StatusBadge';
import { formatAge, formatTimeInZone } from '../components/format';
import { EventDetails } from '../events/EventDetails';
import { EventEditor } from '../events/EventEditor';
import { useScheduleWords } from '../events/useScheduleWords';
import { useConnectionStore } from '../stores/connection-store';
import { useEventsStore } from '../stores/events-store';
import { useNavigationStore } from '../stores/navigation-store';
import { useRolloutStore } from '../stores/rollout-store';
import '../rollout/rollout.css';
import { useServersStore } from '../stores/servers-store';
import '../components/admin.css';
import '../logs/logs.css';

/** Phase 5: while direct-ssh is deprecated, an event still using it says so and links to the migration wizard. */
function DirectSshDeprecation() {
  const deprecated = useRolloutStore((s) => s.status?.directSshDeprecated === true);
  const navigate = useNavigationStore((s) => s.navigate);
  if (!deprecated) return null;
  return (
    <span className="deprecation-warning">
      {' '}
      <Badge tone="warning">deprecated</Badge>
      <button type="button" className="link" onClick={(e) => (e.stopPropagation(), navigate('migration'))}>
        Move to runner mode
      </button>
    </span>
  );
}

function EventRow({ event, selected, onSelect }: { event: EventView; selected: boolean; onSelect: () => void }) {
  const words = useScheduleWords(event);
  return (
    <tr className={`row-clickable${selected ? ' row-selected' : ''}`} onClick={onSelect} aria-selected={selected} data-event-id={event.id}>
      <td>
        <button type="button" className="link row-link" onClick={(e) => (e.stopPropagation(), onSelect())}>
          {event.name}
        </button>
      </td>
      <td>
        <span className="tag">{event.scriptType}</span>
      </td>
      <td className="muted">{event.servers.map((s) => s.name).join(', ')}</td>
      <td className="muted">
        {event.executionMode}
        {event.executionMode === 'direct-ssh' && <DirectSshDeprecation />}
      </td>
      <td>{words}</td>
      <td>{event.enabled ? <Badge tone="success">on</Badge> : <Badge>off</Badge>}</td>
      <td>
        {event.lastRun ? (
          <span className="nowrap">
            <StatusBadge status={event.lastRun.status} /> <span className="muted">{formatAge(event.lastRun.at)}</span>
          </span>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
    </tr>
  );
}

export function EventsPane() {
  const events = useEventsStore((s) => s.events);
  const loaded = useEventsStore((s) => s.loaded);
  const error = useEventsStore((s) => s.error);
  const load = useEventsStore((s) => s.load);
  const remove = useEventsStore((s) => s.remove);
  const loadServers = useServersStore((s) => s.load);
  const selectedId = useNavigationStore((s) => s.selection.eventId);
  const select = useNavigationStore((s) => s.select);
  const sessions = useConnectionStore((s) => s.sessions);
  const [editing, setEditing] = useState<EventView | 'new' | null>(null);
  const [deleting, setDeleting] = useState<EventView | null>(null);
  const [deleteBusy, setDeleteBusy] = useState(false);

  useEffect(() => {
    void load();
    void loadServers();
    void useRolloutStore.getState().loadStatus();
  }, [load, loadServers, sessions]);

  const selected = events.find((e) => e.id === selectedId) ?? null;

  const confirmDelete = async () => {
    if (!deleting) return;
    setDeleteBusy(true);
    const ok = await remove(deleting.id);
    setDeleteBusy(false);
    if (ok && selectedId === deleting.id) select('events', { eventId: undefined });
    setDeleting(null);
  };

  if (editing) {
    return (
      <div className="pane pane-wide">
        <PaneHeader title="Events" subtitle="Scripts that run on your servers: on demand, on a schedule, or as workflow steps." />
        <EventEditor
          event={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(e) => {
            setEditing(null);
            select('events', { eventId: e.id });
          }}
        />
      </div>
    );
  }

  const newButton = (
    <Button variant="primary" onClick={() => setEditing('new')}>
      New event
    </Button>
  );

  return (
    <div className="pane pane-wide">
      <PaneHeader title="Events" subtitle="Scripts that run on your servers: on demand, on a schedule, or as workflow steps." actions={events.length > 0 ? newButton : undefined} />
      {error && (
        <p className="form-error" role="alert">
          Could not load events: {error}
        </p>
      )}
      {loaded && events.length === 0 ? (
        <EmptyState title="Create your first event" icon={<Icon name="events" size={40} />} action={newButton}>
          No events yet. An event is a bash, python or node script with its target servers, limits and an optional schedule: run it now or let the schedule fire it.
        </EmptyState>
      ) : (
        <>
          <div className="table-card">
            <table className="data-table" aria-label="Events">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Type</th>
                  <th>Servers</th>
                  <th>Mode</th>
                  <th>Schedule</th>
                  <th>Enabled</th>
                  <th>Last run</th>
                </tr>
              </thead>
              <tbody>
                {events.map((e) => (
                  <EventRow key={e.id} event={e} selected={e.id === selectedId} onSelect={() => select('events', { eventId: e.id })} />
                ))}
                {!loaded && (
                  <tr>
                    <td colSpan={7} className="table-empty muted">
                      Loading…
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          {selected && <EventDetails key={selected.id} event={selected} onEdit={() => setEditing(selected)} onDelete={() => setDeleting(selected)} />}
        </>
      )}
      {deleting && (
        <ConfirmDialog title={`Delete ${deleting.name}?`} confirmLabel="Delete event" busy={deleteBusy} onCancel={() => setDeleting(null)} onConfirm={() => void confirmDelete()}>
          <p>The event, its script history and its secret variables (in the keychain) are removed. Logs of its past runs are kept.</p>
          <p data-testid="delete-consequence">
            {deleting.schedule
              ? `Its schedule is removed${deleting.nextRunAt ? `: the next run (${formatTimeInZone(deleting.nextRunAt, deleting.timeZone)}) will not happen` : ''}.`
              : 'It has no schedule.'}{' '}
            Servers affected: {deleting.servers.length ? deleting.servers.map((v) => v.name).join(', ') : 'none'} (nothing is changed on them).
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
