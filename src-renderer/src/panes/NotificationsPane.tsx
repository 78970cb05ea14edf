/**
 * Notifications pane: the notification centre. Every entry the core's notification service recorded (job failed or
 * recovered, runner unhealthy, link lost, schedule missed), newest first, with unread marks; and in serve mode the
 * one place that explains why the app would like to show browser notifications before the browser asks.
 */
import { useMemo, useState } from 'react';
import { NOTIFICATION_KIND_LABELS, NotificationKind } from '../../../src-shared/contract/notifications';
import { Badge, type BadgeTone } from '../components/Badge';
import { Button } from '../components/Button';
import { PaneHeader } from '../components/PaneHeader';
import { formatTime } from '../components/format';
import { useNavigationStore } from '../stores/navigation-store';
import { openNotificationTarget, useNotificationsStore } from '../stores/notifications-store';
import '../components/admin.css';
import '../notifications/notifications.css';

const KIND_TONES: Record<NotificationKind, BadgeTone> = {
  job_failed: 'danger',
  job_succeeded: 'success',
  job_recovered: 'success',
  runner_unhealthy: 'warning',
  link_lost: 'warning',
  schedule_missed: 'warning',
};

function BrowserPermissionCard() {
  const { mode, permission, asked, askPermission, declinePermission } = useNotificationsStore();
  if (mode === 'electron') {
    return <p className="muted">Desktop notifications are shown by your system; choose which kinds in Settings.</p>;
  }
  if (mode !== 'serve' || permission === 'unsupported') return null;
  if (permission === 'granted') return <p className="muted" data-testid="browser-notifications-state">Browser notifications are on for this page.</p>;
  if (permission === 'denied') {
    return (
      <p className="muted" data-testid="browser-notifications-state">
        Browser notifications are blocked for this page. The centre below still records everything; allow notifications in the browser's site settings to be told while this tab is in the background.
      </p>
    );
  }
  if (asked) return <p className="muted" data-testid="browser-notifications-state">Browser notifications are off. The centre below records everything.</p>;
  return (
    <section className="card" aria-labelledby="browser-notifications-title">
      <header className="card-header">
        <h2 className="card-title" id="browser-notifications-title">
          Be told when something goes wrong
        </h2>
      </header>
      <div className="card-body">
        <p>
          A failed job, an unhealthy runner or a lost link is otherwise only visible to whoever looks at the right pane. With browser notifications on,
          Cronium tells you even while this tab is in the background. Bursts are grouped (40 failures are one notification), and you can choose the kinds
          and quiet hours in Settings. Your browser will ask once.
        </p>
        <div className="pane-actions">
          <Button variant="primary" onClick={() => void askPermission()}>
            Allow browser notifications
          </Button>
          <Button variant="ghost" onClick={declinePermission}>
            Not now
          </Button>
        </div>
      </div>
    </section>
  );
}

export function NotificationsPane() {
  const { items, unread, loading, loaded, error, load, markRead } = useNotificationsStore();
  const navigate = useNavigationStore((s) => s.navigate);
  const [kind, setKind] = useState<NotificationKind | ''>('');
  const [unreadOnly, setUnreadOnly] = useState(false);
  const shown = useMemo(() => items.filter((n) => (!kind || n.kind === kind) && (!unreadOnly || n.readAt === null)), [items, kind, unreadOnly]);

  return (
    <div className="pane">
      <PaneHeader
        title="Notifications"
        subtitle="Everything Cronium told you about: failed and recovered jobs, unhealthy runners, lost links and missed schedules."
        actions={
          <>
            <Button variant="secondary" busy={loading} onClick={() => void load()}>
              Refresh
            </Button>
            <Button variant="primary" disabled={unread === 0} onClick={() => void markRead()}>
              Mark all read
            </Button>
          </>
        }
      />
      <BrowserPermissionCard />
      {error && (
        <p className="form-error" role="alert">
          Could not load notifications: {error}
        </p>
      )}
      <div className="list-filters" role="group" aria-label="Filter notifications">
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value as NotificationKind | '')}>
            <option value="">All kinds</option>
            {NotificationKind.options.map((k) => (
              <option key={k} value={k}>
                {NOTIFICATION_KIND_LABELS[k].label}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-check">
          <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} />
          Unread only
        </label>
        <p className="muted" aria-live="polite" data-testid="notification-unread-count">
          {unread} unread
        </p>
        <Button variant="ghost" onClick={() => navigate('settings')}>
          Preferences and quiet hours…
        </Button>
      </div>
      {shown.length === 0 ? (
        <p className="muted">{!loaded || loading ? 'Loading…' : items.length === 0 ? 'Nothing yet. Failures, recoveries and missed schedules will appear here.' : 'No notification matches these filters.'}</p>
      ) : (
        <ul className="notification-list" aria-label="Notification history">
          {shown.map((n) => (
            <li key={n.id} className={`notification-item${n.readAt === null ? ' is-unread' : ''}`} data-testid="notification-entry" data-kind={n.kind}>
              <span className="unread-dot" aria-hidden="true" />
              <div className="notification-main">
                <p className="notification-title">
                  {n.readAt === null && <span className="sr-only">Unread: </span>}
                  {n.title}
                </p>
                <p className="notification-body">{n.body}</p>
                <p className="notification-meta muted">
                  <Badge tone={KIND_TONES[n.kind]}>{NOTIFICATION_KIND_LABELS[n.kind].label}</Badge>
                  <time dateTime={n.createdAt}>{formatTime(n.createdAt)}</time>
                </p>
              </div>
              <div className="notification-actions">
                {n.target && (
                  <Button
                    variant="secondary"
                    aria-label={`Open ${n.target.kind}: ${n.title}`}
                    onClick={() => {
                      if (n.readAt === null) void markRead([n.id]);
                      openNotificationTarget(n.target);
                    }}
                  >
                    Open
                  </Button>
                )}
                {n.readAt === null && (
                  <Button variant="ghost" aria-label={`Mark read: ${n.title}`} onClick={() => void markRead([n.id])}>
                    Mark read
                  </Button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
