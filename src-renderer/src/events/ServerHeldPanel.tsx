/**
 * ServerHeldPanel: for an event whose schedule fires on the server, each target server's copy: how its resident
 * runner runs (systemd --user or a background process, and why; the lingering command to offer an admin), the next
 * fire by the server's clock, the last fire collected, whether its copy is stale (edited while it was unreachable),
 * the clock skew and errors, with "Collect now".
 */
import { useEffect } from 'react';
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { formatTime } from '../components/format';
import { useServerSchedulesStore } from '../stores/server-schedules-store';
import { toast } from '../stores/toast-store';

export function ServerHeldPanel({ eventId }: { eventId: string }) {
  const item = useServerSchedulesStore((s) => s.items.find((i) => i.eventId === eventId));
  const error = useServerSchedulesStore((s) => s.error);
  const busy = useServerSchedulesStore((s) => s.busy);
  const collect = useServerSchedulesStore((s) => s.collect);
  const follow = useServerSchedulesStore((s) => s.follow);
  useEffect(() => follow(), [follow]);
  const onCollect = async () => {
    const n = await collect();
    toast.success(n === 0 ? 'Nothing new fired on the servers' : `Collected ${n} run${n === 1 ? '' : 's'} fired on the servers`);
  };
  return (
    <section className="detail-section" data-testid="server-held">
      <h3 className="detail-section-title">
        Fires on the server{' '}
        <Button variant="ghost" busy={busy} onClick={() => void onCollect()}>
          Collect now
        </Button>
      </h3>
      {error && <p className="form-error">{error}</p>}
      {!item || item.servers.length === 0 ? (
        <p className="muted">Not installed on any server yet: it is installed the next time each target server is reachable.</p>
      ) : (
        <table className="data-table" aria-label="Server copies">
          <thead>
            <tr>
              <th>Server</th>
              <th>Copy</th>
              <th>Runs as</th>
              <th>Next fire (server)</th>
              <th>Last collected fire</th>
              <th>Clock</th>
            </tr>
          </thead>
          <tbody>
            {item.servers.map((s) => (
              <tr key={s.serverId} data-server-id={s.serverId}>
                <td>{s.serverName}</td>
                <td>
                  {s.stale ? <Badge tone="warning">stale: updated when reachable</Badge> : <Badge tone="success">v{s.installedVersion}</Badge>}
                  {s.manifestError && <div className="form-error">{s.manifestError}</div>}
                  {s.lastError && <div className="muted">{s.lastError}</div>}
                </td>
                <td>
                  {s.startMode === 'systemd' ? 'systemd --user service' : s.startMode === 'process' ? 'background process' : '—'}
                  {!s.running && s.startMode && <span className="muted"> (not running: restarted at the next connection)</span>}
                  {s.systemdNote && <div className="muted">{s.systemdNote}</div>}
                  {s.lingerCommand && <div className="mono">{s.lingerCommand}</div>}
                </td>
                <td>{s.nextFire ? formatTime(s.nextFire) : '—'}</td>
                <td>{s.lastCollectedFire ? formatTime(s.lastCollectedFire) : '—'}</td>
                <td className="muted">{s.skewMs === null ? '—' : `${s.skewMs > 0 ? '+' : ''}${(s.skewMs / 1000).toFixed(1)} s`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
