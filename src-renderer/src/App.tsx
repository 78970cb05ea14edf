/**
 * App: the shell. Left navigation over the eight panes, the connection banner, toasts, and the wiring of pushed
 * 'system/notice' events to toasts. It reads stores through selectors and never calls the transport itself.
 */
import { useEffect } from 'react';
import { ConnectionBanner } from './components/ConnectionBanner';
import { Icon } from './components/Icon';
import { Toasts } from './components/Toasts';
import { DashboardPane } from './panes/DashboardPane';
import { EventsPane } from './panes/EventsPane';
import { LogsPane } from './panes/LogsPane';
import { RunnersPane } from './panes/RunnersPane';
import { ServersPane } from './panes/ServersPane';
import { SettingsPane } from './panes/SettingsPane';
import { VariablesPane } from './panes/VariablesPane';
import { WorkflowsPane } from './panes/WorkflowsPane';
import { MigrationPane } from './panes/MigrationPane';
import { AuditPane } from './panes/AuditPane';
import { NotificationsPane } from './panes/NotificationsPane';
import { UpcomingPane } from './panes/UpcomingPane';
import { AlertsPane } from './panes/AlertsPane';
import { CataloguePane } from './panes/CataloguePane';
import { UnreadBadge } from './notifications/UnreadBadge';
import { useNotificationsStore } from './stores/notifications-store';
import { onEvent } from './rpc/client';
import { useConnectionStore } from './stores/connection-store';
import { useDashboardStore } from './stores/dashboard-store';
import { PANES, PANE_TITLES, useNavigationStore, type PaneId } from './stores/navigation-store';
import { useSettingsStore } from './stores/settings-store';
import { useLayoutStore } from './stores/layout-store';
import { toast } from './stores/toast-store';

const PANE_COMPONENTS: Record<PaneId, () => React.JSX.Element> = {
  dashboard: DashboardPane,
  servers: ServersPane,
  events: EventsPane,
  logs: LogsPane,
  variables: VariablesPane,
  runners: RunnersPane,
  migration: MigrationPane,
  workflows: WorkflowsPane,
  upcoming: UpcomingPane,
  audit: AuditPane,
  notifications: NotificationsPane,
  alerts: AlertsPane,
  catalogue: CataloguePane,
  settings: SettingsPane,
};

function useAppEvents(): void {
  useEffect(
    () =>
      onEvent('system/notice', (notice) => {
        if (notice.level === 'error') toast.error(notice.message);
        else if (notice.level === 'warning') toast.warning(notice.message);
        else toast.info(notice.message);
      }),
    [],
  );
  // The notification centre's count and, in serve mode, browser notifications, for the app's lifetime.
  useEffect(() => useNotificationsStore.getState().start(), []);
  // A notification or tray result was clicked: show that log.
  useEffect(() => onEvent('system/openLog', ({ logId }) => useNavigationStore.getState().openLog(logId)), []);
  // After a reconnection, reload what may have changed while the link was down.
  const sessions = useConnectionStore((s) => s.sessions);
  useEffect(() => {
    if (sessions <= 1) return;
    if (useDashboardStore.getState().info) void useDashboardStore.getState().load();
    if (useSettingsStore.getState().view) void useSettingsStore.getState().load();
  }, [sessions]);
}

export function App() {
  const pane = useNavigationStore((s) => s.pane);
  const navigate = useNavigationStore((s) => s.navigate);
  const connection = useConnectionStore((s) => s.state);
  const collapsed = useLayoutStore((s) => s.sidebarCollapsed);
  const toggleSidebar = useLayoutStore((s) => s.toggleSidebar);
  useAppEvents();
  const Pane = PANE_COMPONENTS[pane];

  return (
    <div className={`app${collapsed ? ' app-sidebar-collapsed' : ''}`}>
      <a className="skip-link" href="#main-content">
        Skip to content
      </a>
      <aside className="sidebar" id="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            C
          </span>
          <span className="brand-name">Cronium</span>
          <button
            type="button"
            className="sidebar-toggle"
            aria-controls="sidebar"
            aria-expanded={!collapsed}
            aria-label={collapsed ? 'Expand sidebar' : 'Collapse sidebar'}
            title={collapsed ? 'Expand sidebar' : 'Collapse sidebar'}
            onClick={toggleSidebar}
          >
            <Icon name={collapsed ? 'expand' : 'collapse'} />
          </button>
        </div>
        <nav aria-label="Main">
          <ul className="nav-list">
            {PANES.map((id) => (
              <li key={id}>
                <button
                  type="button"
                  className={`nav-item${id === pane ? ' nav-item-active' : ''}`}
                  aria-current={id === pane ? 'page' : undefined}
                  onClick={() => navigate(id)}
                  title={collapsed ? PANE_TITLES[id] : undefined}
                >
                  <Icon name={id} />
                  <span className="nav-label">{PANE_TITLES[id]}</span>
                  {id === 'notifications' && <UnreadBadge />}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <div className={`sidebar-status status-${connection}`} role="status" aria-label="Connection status" title={connection}>
          <span className="status-dot" aria-hidden="true" />
          <span className="nav-label">{connection === 'connected' ? 'Connected' : connection === 'disconnected' ? 'Disconnected' : 'Connecting…'}</span>
        </div>
      </aside>
      <main className="content" id="main-content" tabIndex={-1}>
        <ConnectionBanner />
        <Pane />
      </main>
      <Toasts />
    </div>
  );
}
