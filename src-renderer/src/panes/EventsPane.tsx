/**
 * Events pane. Scripted events: code, environment, secrets, target servers, execution mode and schedule.
 * Self-contained: the Events feature fills it with its own store; it reads stores only, never the transport.
 */
import { Button } from '../components/Button';
import { EmptyState } from '../components/EmptyState';
import { Icon } from '../components/Icon';
import { PaneHeader } from '../components/PaneHeader';
import { toast } from '../stores/toast-store';

export function EventsPane() {
  const newEvent = () => toast.info('Creating events arrives with the Events feature of this build.');
  return (
    <div className="pane">
      <PaneHeader title="Events" subtitle="Scripts (bash, python, node) that run on your servers on demand, on a schedule or in workflows." />
      <EmptyState title="Create your first event" icon={<Icon name="events" size={40} />} action={<Button variant="primary" onClick={newEvent}>New event</Button>}>
        No events yet. An event is a script plus where and when it runs: create one, pick its servers, and run it now or on a schedule.
      </EmptyState>
    </div>
  );
}
