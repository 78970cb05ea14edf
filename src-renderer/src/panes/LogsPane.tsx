/**
 * Logs pane. Every job's output, streaming live, with its status, exit code and durations.
 * Self-contained: the Logs feature fills it with its own store; it reads stores only, never the transport.
 */
import { Button } from '../components/Button';
import { EmptyState } from '../components/EmptyState';
import { Icon } from '../components/Icon';
import { PaneHeader } from '../components/PaneHeader';
import { useNavigationStore } from '../stores/navigation-store';

export function LogsPane() {
  const navigate = useNavigationStore((s) => s.navigate);
  return (
    <div className="pane">
      <PaneHeader title="Logs" subtitle="The output of every run, live while it runs and kept afterwards." />
      <EmptyState title="Logs appear as events run" icon={<Icon name="logs" size={40} />} action={<Button variant="primary" onClick={() => navigate('events')}>Go to Events</Button>}>
        No logs yet. Each run of an event writes a log here, streaming live while it runs. Run an event to see its first log.
      </EmptyState>
    </div>
  );
}
