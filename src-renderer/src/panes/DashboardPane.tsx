/**
 * Dashboard pane: what this app is and whether it can work: version, mode, data folder, listener port and the keychain
 * (a warning card with the keychain's own message when it cannot be reached). Reads the dashboard store only.
 */
import { useEffect } from 'react';
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { Card } from '../components/Card';
import { PaneHeader } from '../components/PaneHeader';
import { useDashboardStore } from '../stores/dashboard-store';
import { useNavigationStore } from '../stores/navigation-store';

export function DashboardPane() {
  const info = useDashboardStore((s) => s.info);
  const error = useDashboardStore((s) => s.error);
  const loading = useDashboardStore((s) => s.loading);
  const load = useDashboardStore((s) => s.load);
  const navigate = useNavigationStore((s) => s.navigate);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <div className="pane">
      <PaneHeader
        title="Dashboard"
        subtitle="Your workstation's Cronium: where its data lives and whether everything it needs is in place."
        actions={
          <Button onClick={() => void load()} busy={loading}>
            Refresh
          </Button>
        }
      />
      {error && (
        <Card title="Could not read the app's status" tone="danger">
          <p>{error}</p>
        </Card>
      )}
      {info && !info.keychain.available && (
        <Card title="Keychain unavailable" tone="warning">
          <p>{info.keychain.message ?? 'The OS keychain cannot be reached.'}</p>
          <p className="muted">
            Cronium keeps SSH credentials and secret variables only in the keychain, never in plain text, so adding
            credentials is refused until the keychain works. Everything else keeps working.
          </p>
        </Card>
      )}
      <div className="card-grid">
        <Card title="About this app">
          {info ? (
            <dl className="facts">
              <dt>Version</dt>
              <dd>{info.appVersion}</dd>
              <dt>Mode</dt>
              <dd>{info.mode === 'serve' ? 'Serve mode (browser)' : 'Desktop app'}</dd>
              <dt>Data folder</dt>
              <dd>
                <code>{info.dataDir}</code>
              </dd>
              <dt>Listener port</dt>
              <dd>
                <code>127.0.0.1:{info.listenerPort}</code>
              </dd>
              <dt>Keychain</dt>
              <dd data-testid="keychain-state">
                {info.keychain.available ? <Badge tone="success">Available</Badge> : <Badge tone="warning">Unavailable</Badge>}
              </dd>
            </dl>
          ) : (
            <p className="muted">{loading ? 'Loading…' : 'Not loaded.'}</p>
          )}
        </Card>
        <Card title="Getting started">
          <ol className="steps">
            <li>
              <button type="button" className="link" onClick={() => navigate('servers')}>
                Add a server
              </button>{' '}
              and approve its host key.
            </li>
            <li>
              <button type="button" className="link" onClick={() => navigate('events')}>
                Create an event
              </button>{' '}
              with the script to run and its target servers.
            </li>
            <li>
              Run it and watch its output in{' '}
              <button type="button" className="link" onClick={() => navigate('logs')}>
                Logs
              </button>
              .
            </li>
            <li>
              Tune runner behaviour and feature flags in{' '}
              <button type="button" className="link" onClick={() => navigate('settings')}>
                Settings
              </button>
              .
            </li>
          </ol>
        </Card>
      </div>
    </div>
  );
}
