/**
 * Runners pane. Runner artifacts (version, os, arch, signature) and deployments per server with their health.
 * Self-contained: the Runners feature fills it with its own store; it reads stores only, never the transport.
 */
import { Button } from '../components/Button';
import { EmptyState } from '../components/EmptyState';
import { Icon } from '../components/Icon';
import { PaneHeader } from '../components/PaneHeader';
import { useNavigationStore } from '../stores/navigation-store';

export function RunnersPane() {
  const navigate = useNavigationStore((s) => s.navigate);
  return (
    <div className="pane">
      <PaneHeader title="Runners" subtitle="The runner program Cronium deploys to servers so jobs survive dropped connections." />
      <EmptyState title="Deploy your first runner" icon={<Icon name="runners" size={40} />} action={<Button variant="primary" onClick={() => navigate('servers')}>Go to Servers</Button>}>
        No runners deployed yet. A runner keeps a job running and its log complete when the SSH link drops. Add a server, then deploy a runner to it here or let a job deploy one.
      </EmptyState>
    </div>
  );
}
