/**
 * Migration pane: the rollout's phase 3 wizard. "Check events" probes the servers of every event still in direct-ssh
 * and lists per event what changes in runner mode and what blocks it; the user ticks the events they consent to
 * (blocked ones cannot be ticked), may test-run one in runner mode first, and moves them; each batch can be undone.
 * Nothing is switched until the user presses the move button. It reads the rollout store only.
 */
import { useEffect } from 'react';
import { Button } from '../components/Button';
import { Card } from '../components/Card';
import { EmptyState } from '../components/EmptyState';
import { PaneHeader } from '../components/PaneHeader';
import { formatTime } from '../components/format';
import { StatusBadge } from '../components/StatusBadge';
import { useNavigationStore } from '../stores/navigation-store';
import { useRolloutStore } from '../stores/rollout-store';
import type { MigrationTargetView } from '../../../src-shared/contract/rollout';
import '../rollout/rollout.css';

const yesNo = (v: boolean | null) => (v === null ? '—' : v ? 'allowed' : 'refused');

function TargetsTable({ targets }: { targets: MigrationTargetView[] }) {
  return (
    <div className="table-card">
      <table className="data-table" aria-label="Servers checked">
        <thead>
          <tr>
            <th>Server</th>
            <th>Platform</th>
            <th className="num">Free / needed</th>
            <th>TCP forwarding</th>
            <th>Unix-socket forwarding</th>
            <th>Blockers</th>
          </tr>
        </thead>
        <tbody>
          {targets.map((t) => (
            <tr key={t.serverId} data-target={t.serverName}>
              <td>{t.serverName}</td>
              <td>{t.os ? `${t.os}-${t.arch}` : t.reachable ? '—' : 'unreachable'}</td>
              <td className="num">{t.freeMb === null ? '—' : `${t.freeMb} MB`} / {t.neededMb === null ? '—' : `${t.neededMb} MB`}</td>
              <td>{yesNo(t.tcpForwarding)}</td>
              <td>{yesNo(t.unixSocketForwarding)}</td>
              <td>{t.blockers.length ? <span className="migration-blocker">{t.blockers.join(' ')}</span> : <span className="muted">none</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TestRunCell({ eventId }: { eventId: string }) {
  const result = useRolloutStore((s) => s.testRuns[eventId]);
  const testRun = useRolloutStore((s) => s.testRun);
  const openLog = useNavigationStore((s) => s.openLog);
  return (
    <div className="migration-test">
      <Button variant="ghost" busy={result === 'running'} onClick={() => void testRun(eventId)}>
        Test run in runner mode
      </Button>
      {Array.isArray(result) &&
        result.map((job) => (
          <button key={job.id} type="button" className="link" onClick={() => job.logId && openLog(job.logId)} title="Open its log">
            <StatusBadge status={job.status} /> test job started
          </button>
        ))}
    </div>
  );
}

export function MigrationPane() {
  const { status, scan, scanning, selected, mode, applying, lastApply, lastUndo, batches } = useRolloutStore();
  const { loadStatus, runScan, toggle, selectAllReady, setMode, apply, undo, loadBatches } = useRolloutStore();
  useEffect(() => {
    void loadStatus();
    void loadBatches();
  }, [loadStatus, loadBatches]);
  const chosen = Object.values(selected).filter(Boolean).length;

  return (
    <div className="pane">
      <PaneHeader
        title="Runner migration"
        subtitle="Move events still in direct-ssh to runner mode, with your consent per event. Nothing changes until you press Move."
        actions={
          <Button variant="primary" busy={scanning} onClick={() => void runScan()}>
            Check events
          </Button>
        }
      />
      {status && !status.runnerEnabled && (
        <Card title="Runner mode is off" tone="warning">
          <p>Turn on runner mode in Settings before moving events to it.</p>
        </Card>
      )}
      {!scan && !scanning && (
        <EmptyState title="Check which events can move">
          Checking probes the servers of every event still in direct-ssh (platform, disk space, TCP and Unix-socket forwarding) and reads each
          script for the helpers it uses. It changes nothing.
        </EmptyState>
      )}
      {scan && (
        <>
          {scan.globalBlocker && (
            <Card title="Nothing can move yet" tone="warning">
              <p>{scan.globalBlocker}</p>
            </Card>
          )}
          <p className="muted">Checked {formatTime(scan.checkedAt)}: {scan.events.length} event{scan.events.length === 1 ? '' : 's'} in direct-ssh.</p>
          {scan.targets.length > 0 && <TargetsTable targets={scan.targets} />}
          {scan.events.length === 0 ? (
            <EmptyState title="No event is left in direct-ssh">Every event already runs in runner mode (auto or runner-ssh).</EmptyState>
          ) : (
            <div className="table-card">
              <table className="data-table" aria-label="Events in direct-ssh">
                <thead>
                  <tr>
                    <th>Move</th>
                    <th>Event</th>
                    <th>What changes</th>
                    <th>Blockers</th>
                    <th>Test</th>
                  </tr>
                </thead>
                <tbody>
                  {scan.events.map((e) => (
                    <tr key={e.eventId} data-migration-event={e.name} className={e.ready ? undefined : 'migration-blocked'}>
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`Move ${e.name}`}
                          checked={!!selected[e.eventId]}
                          disabled={!e.ready}
                          onChange={(ev) => toggle(e.eventId, ev.target.checked)}
                        />
                      </td>
                      <td>
                        <strong>{e.name}</strong>
                        <div className="muted">
                          {e.scriptType} · version {e.version}
                        </div>
                      </td>
                      <td>
                        <ul className="migration-list">
                          {e.changes.map((c) => (
                            <li key={c}>{c}</li>
                          ))}
                        </ul>
                      </td>
                      <td>
                        {e.blockers.length === 0 ? (
                          <span className="badge badge-success">ready</span>
                        ) : (
                          <ul className="migration-list migration-blocker">
                            {e.blockers.map((b) => (
                              <li key={b}>{b}</li>
                            ))}
                          </ul>
                        )}
                      </td>
                      <td>{e.ready && <TestRunCell eventId={e.eventId} />}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {scan.events.length > 0 && (
            <div className="migration-actions">
              <Button variant="ghost" onClick={selectAllReady}>
                Select all ready
              </Button>
              <label>
                Move to{' '}
                <select aria-label="Move to mode" value={mode} onChange={(e) => setMode(e.target.value as typeof mode)}>
                  <option value="auto">auto (runner, falls back to direct-ssh if allowed)</option>
                  <option value="runner-ssh">runner-ssh (runner only)</option>
                </select>
              </label>
              <Button variant="primary" busy={applying} disabled={chosen === 0} onClick={() => void apply()}>
                Move {chosen} selected
              </Button>
            </div>
          )}
        </>
      )}
      {lastApply && (
        <Card title="Moved" tone={lastApply.skipped.length ? 'warning' : 'default'}>
          <ul className="migration-list" aria-label="Moved events">
            {lastApply.switched.map((s) => (
              <li key={s.eventId}>
                {s.name}: {s.from} → {s.to}
              </li>
            ))}
          </ul>
          {lastApply.skipped.length > 0 && (
            <ul className="migration-list migration-blocker" aria-label="Not moved">
              {lastApply.skipped.map((s) => (
                <li key={s.eventId}>
                  {s.name} not moved: {s.reason}
                </li>
              ))}
            </ul>
          )}
        </Card>
      )}
      {lastUndo && (
        <Card title="Undone">
          <ul className="migration-list" aria-label="Restored events">
            {lastUndo.restored.map((r) => (
              <li key={r.eventId}>
                {r.name}: back to {r.mode}
              </li>
            ))}
            {lastUndo.skipped.map((r) => (
              <li key={r.eventId}>
                {r.name}: {r.reason}
              </li>
            ))}
          </ul>
        </Card>
      )}
      {batches.length > 0 && (
        <Card title="Earlier moves">
          <ul className="migration-list" aria-label="Migration batches">
            {batches.map((b) => (
              <li key={b.batchId} data-batch={b.batchId}>
                {formatTime(b.migratedAt)}: {b.total} event{b.total === 1 ? '' : 's'}, {b.active} still moved{' '}
                {b.active > 0 && (
                  <Button variant="secondary" onClick={() => void undo(b.batchId)}>
                    Undo this move
                  </Button>
                )}
              </li>
            ))}
          </ul>
        </Card>
      )}
    </div>
  );
}
