/**
 * Logs pane: every run's log, newest first, filtered by status, event, server and time, paged; selecting one opens
 * the live viewer with its header. It reads stores only (logs, events, servers, navigation), never the transport.
 */
import { useEffect, useRef } from 'react';
import { LogStatus } from '../../../src-shared/contract/logs';
import { Button } from '../components/Button';
import { EmptyState } from '../components/EmptyState';
import { Icon } from '../components/Icon';
import { PaneHeader } from '../components/PaneHeader';
import { LogStatusBadge } from '../components/StatusBadge';
import { formatDuration, formatTime } from '../components/format';
import { LogViewer } from '../logs/LogViewer';
import { useConnectionStore } from '../stores/connection-store';
import { useEventsStore } from '../stores/events-store';
import { LOGS_PAGE_SIZE, useLogsStore } from '../stores/logs-store';
import { useNavigationStore } from '../stores/navigation-store';
import { useServersStore } from '../stores/servers-store';
import '../components/admin.css';
import '../logs/logs.css';

/** datetime-local wants "YYYY-MM-DDTHH:mm" in local time; the filter keeps ISO instants. */
function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function LogFilters() {
  const filter = useLogsStore((s) => s.filter);
  const setFilter = useLogsStore((s) => s.setFilter);
  const events = useEventsStore((s) => s.events);
  const servers = useServersStore((s) => s.servers);
  return (
    <div className="filter-bar" role="group" aria-label="Filter logs">
      <label className="filter">
        <span>Status</span>
        <select value={filter.status ?? ''} onChange={(e) => setFilter({ status: (e.target.value || undefined) as LogStatus | undefined })}>
          <option value="">Any status</option>
          {LogStatus.options.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label className="filter">
        <span>Event</span>
        <select value={filter.eventId ?? ''} onChange={(e) => setFilter({ eventId: e.target.value || undefined })}>
          <option value="">Any event</option>
          {events.map((ev) => (
            <option key={ev.id} value={ev.id}>
              {ev.name}
            </option>
          ))}
        </select>
      </label>
      <label className="filter">
        <span>Server</span>
        <select value={filter.serverId ?? ''} onChange={(e) => setFilter({ serverId: e.target.value || undefined })}>
          <option value="">Any server</option>
          {servers.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </label>
      <label className="filter">
        <span>From</span>
        <input type="datetime-local" value={toLocalInput(filter.from)} onChange={(e) => setFilter({ from: fromLocalInput(e.target.value) })} />
      </label>
      <label className="filter">
        <span>To</span>
        <input type="datetime-local" value={toLocalInput(filter.to)} onChange={(e) => setFilter({ to: fromLocalInput(e.target.value) })} />
      </label>
    </div>
  );
}

function LogList() {
  const items = useLogsStore((s) => s.items);
  const total = useLogsStore((s) => s.total);
  const offset = useLogsStore((s) => s.offset);
  const loading = useLogsStore((s) => s.loading);
  const error = useLogsStore((s) => s.error);
  const filtered = useLogsStore((s) => Object.keys(s.filter).length > 0);
  const setOffset = useLogsStore((s) => s.setOffset);
  const openLog = useNavigationStore((s) => s.openLog);
  const navigate = useNavigationStore((s) => s.navigate);

  if (error) return <p className="form-error" role="alert">Could not load logs: {error}</p>;
  if (!loading && total === 0 && !filtered) {
    return (
      <EmptyState title="Logs appear as events run" icon={<Icon name="logs" size={40} />} action={<Button variant="primary" onClick={() => navigate('events')}>Go to Events</Button>}>
        No logs yet. Each run of an event writes a log here, streaming live while it runs. Run an event to see its first log.
      </EmptyState>
    );
  }
  return (
    <div className="table-card">
      <table className="data-table" aria-label="Logs">
        <thead>
          <tr>
            <th>Status</th>
            <th>Event</th>
            <th>Server</th>
            <th>Mode</th>
            <th>Started</th>
            <th className="num">Duration</th>
            <th className="num">Exit</th>
            <th className="num">Lines</th>
          </tr>
        </thead>
        <tbody>
          {items.length === 0 && (
            <tr>
              <td colSpan={8} className="muted table-empty">
                {loading ? 'Loading…' : 'No log matches these filters.'}
              </td>
            </tr>
          )}
          {items.map((log) => (
            <tr key={log.id} className="row-clickable" onClick={() => openLog(log.id)} data-log-id={log.id}>
              <td>
                <LogStatusBadge status={log.status} />
              </td>
              <td>
                <button type="button" className="link row-link" onClick={(e) => (e.stopPropagation(), openLog(log.id))}>
                  {log.eventName ?? 'Deleted event'}
                </button>
              </td>
              <td>{log.serverName ?? '—'}</td>
              <td className="muted">{log.executionMode ?? '—'}</td>
              <td>{formatTime(log.startedAt ?? log.createdAt)}</td>
              <td className="num">{formatDuration(log.durationMs)}</td>
              <td className="num">{log.exitCode ?? '—'}</td>
              <td className="num">{log.lineCount.toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <footer className="table-footer">
        <span className="muted">
          {total === 0 ? 'No logs' : `${offset + 1}–${Math.min(offset + LOGS_PAGE_SIZE, total)} of ${total.toLocaleString()}`}
        </span>
        <Button variant="ghost" disabled={offset === 0} onClick={() => setOffset(offset - LOGS_PAGE_SIZE)}>
          ← Newer
        </Button>
        <Button variant="ghost" disabled={offset + LOGS_PAGE_SIZE >= total} onClick={() => setOffset(offset + LOGS_PAGE_SIZE)}>
          Older →
        </Button>
      </footer>
    </div>
  );
}

export function LogsPane() {
  const logId = useNavigationStore((s) => s.selection.logId);
  const select = useNavigationStore((s) => s.select);
  const load = useLogsStore((s) => s.load);
  const sessions = useConnectionStore((s) => s.sessions);
  const first = useRef(true);

  useEffect(() => {
    void load();
    if (first.current) {
      first.current = false;
      if (!useEventsStore.getState().loaded) void useEventsStore.getState().load();
      if (!useServersStore.getState().loaded) void useServersStore.getState().load();
    }
  }, [load, sessions, logId]);

  if (logId) {
    return (
      <div className="pane pane-wide">
        <PaneHeader
          title="Logs"
          subtitle="The output of every run, live while it runs and kept afterwards."
          actions={
            <Button variant="ghost" onClick={() => select('logs', { logId: undefined })}>
              ← All logs
            </Button>
          }
        />
        <LogViewer logId={logId} />
      </div>
    );
  }
  return (
    <div className="pane pane-wide">
      <PaneHeader title="Logs" subtitle="The output of every run, live while it runs and kept afterwards." />
      <LogFilters />
      <LogList />
    </div>
  );
}
