/**
 * Workflows pane. Workflows: graphs of events joined by success, failure and condition edges, with their runs.
 * Self-contained: the Workflows feature fills it with its own store; it reads stores only, never the transport.
 */
import { Button } from '../components/Button';
import { EmptyState } from '../components/EmptyState';
import { Icon } from '../components/Icon';
import { PaneHeader } from '../components/PaneHeader';
import { toast } from '../stores/toast-store';

export function WorkflowsPane() {
  const newWorkflow = () => toast.info('Creating workflows arrives with the Workflows feature of this build.');
  return (
    <div className="pane">
      <PaneHeader title="Workflows" subtitle="Chains of events across servers, with branches on success, failure or a condition." />
      <EmptyState title="Build your first workflow" icon={<Icon name="workflows" size={40} />} action={<Button variant="primary" onClick={newWorkflow}>New workflow</Button>}>
        No workflows yet. A workflow runs events one after another or side by side, passing each step's output to the next. Create one from events you already have.
      </EmptyState>
    </div>
  );
}
