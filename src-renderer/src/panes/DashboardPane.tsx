/**
 * Dashboard pane: what this app is and whether it can work (version, mode, data folder, listener port, keychain), and
 * what it is doing: counts, jobs running now, the latest results and how the runners are. Reads the dashboard store
 * only; it follows job and runner pushes while shown and stops when the user leaves.
 */
import { useEffect, useState } from 'react';
import type { SystemStats } from '../../../src-shared/contract/system';
import { JobActivityList } from '../dashboard/JobActivityList';
import { RunnersSummary } from '../dashboard/RunnersSummary';
import { WorkflowRunsSummary } from '../dashboard/WorkflowRunsSummary';
import '../dashboard/dashboard.css';
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
  const stats = useDashboardStore((s) => s.stats);
  const live = useDashboardStore((s) => s.live);
  const recent = useDashboardStore((s) => s.recent);
  const activityLoaded = useDashboardStore((s) => s.activityLoaded);
  const activityError = useDashboardStore((s) => s.activityError);
  const follow = useDashboardStore((s) => s.follow);
  const navigate = useNavigationStore((s) => s.navigate);
  const openLog = useNavigationStore((s) => s.openLog);
  // Running jobs show a duration that ticks every second; otherwise ages only need a slow refresh.
  const now = useNow(live.length > 0 ? LIVE_TICK_MS : AGE_TICK_MS);

  useEffect(() => {
    const stop = follow();
    void load();
    return stop;
  }, [follow, load]);

  return (
    <div className="pane">
      <PaneHeader
        title="Dashboard"
        subtitle="Your workstation's Cronium: what it is running, how its runners are, and whether everything it needs is in place."
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
      {activityError && (
        <Card title="Could not read what Cronium is doing" tone="warning">
          <p>{activityError}</p>
          <p className="muted">The counts and job lists below may be out of date; Refresh tries again.</p>
        </Card>
      )}
      {stats && (
        <dl className="dashboard-counts" aria-label="Counts">
          <div className="dashboard-count">
            <dt>Jobs running</dt>
            <dd data-testid="count-running">
              {stats.jobs.running}
              <span className="dashboard-count-detail">{stats.jobs.queued} queued</span>
            </dd>
          </div>
          <div className="dashboard-count">
            <dt>Succeeded, last 24 h</dt>
            <dd data-testid="count-success-24h">{stats.jobs.last24h.success}</dd>
          </div>
          <div className="dashboard-count">
            <dt>Unsuccessful, last 24 h</dt>
            <dd data-testid="count-unsuccessful-24h">
              {unsuccessful(stats)}
              <span className="dashboard-count-detail">{unsuccessfulDetail(stats)}</span>
            </dd>
          </div>
          <div className="dashboard-count">
            <dt>Servers</dt>
            <dd data-testid="count-servers">{stats.servers}</dd>
          </div>
          <div className="dashboard-count">
            <dt>Events</dt>
            <dd data-testid="count-events">
              {stats.events}
              <span className="dashboard-count-detail">{stats.scheduledEvents} on a schedule</span>
            </dd>
          </div>
        </dl>
      )}
      <div className="card-grid">
        <Card title="Running now">
          {live.length > 0 ? (
            <JobActivityList jobs={live} label="Jobs running now" now={now} onOpenLog={openLog} />
          ) : (
            <p className="muted">
              {activityLoaded ? (
                <>
                  Nothing is running. Jobs show up here the moment an event runs, on its schedule or from Run now in{' '}
                  <button type="button" className="link" onClick={() => navigate('events')}>
                    Events
                  </button>
                  .
                </>
              ) : (
                'Loading…'
              )}
            </p>
          )}
        </Card>
        <Card title="Recent results">
          {recent.length > 0 ? (
            <JobActivityList jobs={recent} label="Recently finished jobs" now={now} onOpenLog={openLog} />
          ) : (
            <p className="muted">
              {activityLoaded
                ? 'No job has finished yet. The last ten results land here with their status; click one to read its output.'
                : 'Loading…'}
            </p>
          )}
        </Card>
        <Card title="Runners">
          {stats ? (
            <RunnersSummary runners={stats.runners} onOpenRunners={() => navigate('runners')} />
          ) : (
            <p className="muted">{loading ? 'Loading…' : 'Not loaded.'}</p>
          )}
        </Card>
        <Card title="Workflows">
          <WorkflowRunsSummary now={now} />
        </Card>
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

/** Ages ("2 min ago") are re-rendered this often while the Dashboard is shown. */
const AGE_TICK_MS = 15_000;
const LIVE_TICK_MS = 1_000;

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

function unsuccessful(stats: SystemStats): number {
  const { failure, timeout, cancelled, partial } = stats.jobs.last24h;
  return failure + timeout + cancelled + partial;
}

function unsuccessfulDetail(stats: SystemStats): string {
  const { failure, timeout, cancelled, partial } = stats.jobs.last24h;
  const parts = [
    [failure, 'failed'],
    [timeout, 'timed out'],
    [cancelled, 'cancelled'],
    [partial, 'partial'],
  ] as const;
  const said = parts.filter(([n]) => n > 0).map(([n, word]) => `${n} ${word}`);
  return said.length > 0 ? said.join(', ') : 'none';
}
