/**
 * Upcoming view: the next fires of every enabled event and workflow schedule over the coming days, grouped by day
 * (in the workstation's zone), each time written in its schedule's own zone with that zone named, and in the
 * workstation's zone when the two differ. Computed by the main process with the scheduler's own cron maths.
 */
import { useEffect, useMemo } from 'react';
import type { UpcomingFire } from '../../../src-shared/contract/schedule';
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { PaneHeader } from '../components/PaneHeader';
import { formatTimeInZone, workstationZone } from '../components/format';
import { useNavigationStore } from '../stores/navigation-store';
import { useUpcomingStore } from '../stores/upcoming-store';
import '../components/admin.css';
import '../notifications/notifications.css';

function dayKey(iso: string, zone: string): string {
  return new Date(iso).toLocaleDateString(undefined, { timeZone: zone, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
}

export function UpcomingPane() {
  const { days, fires, truncated, workstationTimeZone, loading, error, load, setDays } = useUpcomingStore();
  const select = useNavigationStore((s) => s.select);
  const zone = workstationTimeZone ?? workstationZone();
  useEffect(() => {
    void load();
  }, [load]);

  const byDay = useMemo(() => {
    const groups = new Map<string, UpcomingFire[]>();
    for (const f of fires) {
      const key = dayKey(f.at, zone);
      const list = groups.get(key);
      if (list) list.push(f);
      else groups.set(key, [f]);
    }
    return [...groups];
  }, [fires, zone]);

  return (
    <div className="pane">
      <PaneHeader
        title="Upcoming"
        subtitle={`The next runs of every enabled schedule, grouped by day in your zone (${zone}). Each time is shown in its schedule's own zone.`}
        actions={
          <Button variant="secondary" busy={loading} onClick={() => void load()}>
            Refresh
          </Button>
        }
      />
      <div className="list-filters" role="group" aria-label="Upcoming range">
        <label>
          Show the next
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={1}>24 hours</option>
            <option value={7}>7 days</option>
            <option value={14}>14 days</option>
            <option value={31}>31 days</option>
          </select>
        </label>
        <p className="muted" aria-live="polite" data-testid="upcoming-count">
          {fires.length} run{fires.length === 1 ? '' : 's'}
          {truncated ? ' (the first 1000; narrow the range to see the rest)' : ''}
        </p>
      </div>
      {error && (
        <p className="form-error" role="alert">
          Could not compute the upcoming runs: {error}
        </p>
      )}
      {fires.length === 0 && <p className="muted">{loading ? 'Loading…' : 'No enabled schedule fires in this range.'}</p>}
      {byDay.map(([day, list]) => (
        <section key={day} className="upcoming-day" aria-label={day}>
          <h2>{day}</h2>
          <ul className="upcoming-list">
            {list.map((f) => (
              <li key={`${f.ownerKind}:${f.ownerId}:${f.at}`} className="upcoming-item" data-testid="upcoming-fire">
                <div className="upcoming-when">
                  <time dateTime={f.at}>{formatTimeInZone(f.at, f.timeZone)}</time>
                  {f.timeZone !== zone && <div className="upcoming-zone muted">{formatTimeInZone(f.at, zone)}</div>}
                </div>
                <div>
                  <Badge>{f.ownerKind === 'event' ? 'Event' : 'Workflow'}</Badge>{' '}
                  <button
                    type="button"
                    className="link row-link"
                    onClick={() => (f.ownerKind === 'event' ? select('events', { eventId: f.ownerId }) : select('workflows', { workflowId: f.ownerId }))}
                  >
                    {f.name}
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
