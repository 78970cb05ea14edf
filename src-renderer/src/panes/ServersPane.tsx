/**
 * Servers pane. The catalogue of servers: host, user, credentials kept in the keychain, pinned host keys.
 * Self-contained: the Servers feature fills it with its own store; it reads stores only, never the transport.
 */
import { Button } from '../components/Button';
import { EmptyState } from '../components/EmptyState';
import { Icon } from '../components/Icon';
import { PaneHeader } from '../components/PaneHeader';
import { toast } from '../stores/toast-store';

export function ServersPane() {
  const addServer = () => toast.info('Adding servers arrives with the Servers feature of this build.');
  return (
    <div className="pane">
      <PaneHeader title="Servers" subtitle="The machines Cronium runs events on, reached over SSH." />
      <EmptyState title="Add your first server" icon={<Icon name="servers" size={40} />} action={<Button variant="primary" onClick={addServer}>Add server</Button>}>
        No servers yet. Add the machines you want to run events on; Cronium checks each host key with you before it connects.
      </EmptyState>
    </div>
  );
}
