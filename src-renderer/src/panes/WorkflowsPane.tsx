/**
 * Workflows pane: the list of workflows, and for the one open the graph editor (steps, typed connections, the
 * inspector for the selected item, the schedule with the event editor's fields and preview), save / run / delete, and
 * the run view with run history. Reads the workflows store only, never the transport.
 */
import { useEffect, useRef, useState } from 'react';
import { Button } from '../components/Button';
import { ConfirmDialog } from '../components/Dialog';
import { EmptyState } from '../components/EmptyState';
import { Field } from '../components/Field';
import { Icon } from '../components/Icon';
import { PaneHeader } from '../components/PaneHeader';
import { formatTimeInZone } from '../components/format';
import { StatusBadge } from '../components/StatusBadge';
import { ScheduleFields } from '../events/ScheduleFields';
import { useNavigationStore } from '../stores/navigation-store';
import { useWorkflowsStore } from '../stores/workflows-store';
import type { WorkflowEdgeKind } from '../../../src-shared/contract/workflows';
import { Inspector } from '../workflows/Inspector';
import { RunPanel } from '../workflows/RunPanel';
import { EDGE_KIND_LABELS, WorkflowGraph } from '../workflows/WorkflowGraph';
import '../workflows/workflows.css';

function WorkflowEditor() {
  const draft = useWorkflowsStore((s) => s.draft)!;
  const errors = useWorkflowsStore((s) => s.fieldErrors);
  const formError = useWorkflowsStore((s) => s.formError);
  const saving = useWorkflowsStore((s) => s.saving);
  const dirty = useWorkflowsStore((s) => s.dirty);
  const selectedId = useWorkflowsStore((s) => s.selectedId);
  const newEdgeKind = useWorkflowsStore((s) => s.newEdgeKind);
  const running = useWorkflowsStore((s) => s.run?.status === 'RUNNING');
  const runs = useWorkflowsStore((s) => s.runs);
  const saved = useWorkflowsStore((s) => s.workflows.find((w) => w.id === s.selectedId) ?? null);
  const store = useWorkflowsStore.getState();
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const serverNames = saved ? [...new Set(saved.nodes.map((n) => n.serverName).filter((n): n is string => Boolean(n)))] : [];

  return (
    <div className="wf-editor">
      <div className="wf-editor-head">
        <Field label="Workflow name" error={errors.name}>
          {({ id, describedBy, invalid }) => (
            <input id={id} type="text" value={draft.name} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => store.setDraft({ name: e.target.value })} />
          )}
        </Field>
        <Field label="Whole-run timeout (seconds)" error={errors.timeoutSeconds} help="Empty for none.">
          {({ id, describedBy, invalid }) => (
            <input id={id} type="text" inputMode="numeric" value={draft.timeoutSeconds} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => store.setDraft({ timeoutSeconds: e.target.value })} />
          )}
        </Field>
        <div className="wf-actions">
          <Button variant="primary" busy={saving} onClick={() => void store.save()}>Save</Button>
          <Button disabled={running || (!selectedId && !dirty)} onClick={() => void store.runNow()}>
            {dirty ? 'Save and run' : 'Run'}
          </Button>
          {selectedId && <Button variant="ghost" onClick={() => setConfirmingDelete(true)}>Delete</Button>}
        </div>
      </div>
      {confirmingDelete && saved && (
        <ConfirmDialog
          title={`Delete workflow ${saved.name}?`}
          confirmLabel="Delete workflow"
          busy={deleting}
          onCancel={() => setConfirmingDelete(false)}
          onConfirm={async () => {
            setDeleting(true);
            await store.remove();
            setDeleting(false);
            setConfirmingDelete(false);
          }}
        >
          <p>The workflow, its {saved.nodes.length} step{saved.nodes.length === 1 ? '' : 's'} and connections are removed.</p>
          <ul className="steps" data-testid="delete-consequence">
            <li>
              Runs lost: its run history ({runs.length >= 50 ? '50 or more runs' : `${runs.length} run${runs.length === 1 ? '' : 's'}`}) is deleted with it; the logs of
              each step's job are kept in the Logs pane.
            </li>
            <li>{saved.schedule ? `Its schedule is removed${saved.nextRunAt ? `: the next run (${formatTimeInZone(saved.nextRunAt, saved.timeZone)}) will not happen` : ''}.` : 'It has no schedule.'}</li>
            <li>Servers affected: {serverNames.length ? `${serverNames.join(', ')} (nothing is changed on them)` : 'none named'}. The events it runs are kept.</li>
          </ul>
        </ConfirmDialog>
      )}
      {formError && <p className="form-error" role="alert">{formError}</p>}
      {errors.graph && <p className="form-error wf-graph-error" role="alert">{errors.graph}</p>}
      <div className="wf-toolbar" role="toolbar" aria-label="Graph tools">
        <Button onClick={() => store.addStep()}>Add step</Button>
        <label className="wf-kind">
          New connections fire
          <select aria-label="New connections fire" value={newEdgeKind} onChange={(e) => store.setNewEdgeKind(e.target.value as WorkflowEdgeKind)}>
            {(Object.keys(EDGE_KIND_LABELS) as WorkflowEdgeKind[]).map((k) => (
              <option key={k} value={k}>{EDGE_KIND_LABELS[k]}</option>
            ))}
          </select>
        </label>
        <span className="muted">Drag from a step's bottom dot to another step to connect them.</span>
      </div>
      <div className="wf-body">
        <WorkflowGraph key={selectedId ?? 'new'} />
        <Inspector />
      </div>
      <details className="wf-schedule">
        <summary>Schedule{draft.schedule.scheduleKind !== 'none' ? ' (on)' : ' (manual only)'}</summary>
        <ScheduleFields form={draft.schedule} errors={errors} setField={store.setScheduleField} />
      </details>
      <RunPanel />
    </div>
  );
}

export function WorkflowsPane() {
  const workflows = useWorkflowsStore((s) => s.workflows);
  const loaded = useWorkflowsStore((s) => s.loaded);
  const draft = useWorkflowsStore((s) => s.draft);
  const selectedId = useWorkflowsStore((s) => s.selectedId);
  const events = useWorkflowsStore((s) => s.events);
  const store = useWorkflowsStore.getState();
  const load = useWorkflowsStore((s) => s.load);
  const open = useWorkflowsStore((s) => s.open);
  const wanted = useNavigationStore((s) => s.selection.workflowId);

  // Once per visit: getState() is a new object after every change, so it must not be an effect dependency (that
  // reloaded the lists in a loop and re-laid the graph out each time).
  useEffect(() => {
    void load();
  }, [load]);
  // Another pane asked for a workflow (navigation selection): open it once per request.
  const handled = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!wanted || !loaded || handled.current === wanted) return;
    handled.current = wanted;
    void open(wanted);
  }, [wanted, loaded, open]);

  const newWorkflow = () => store.create();
  return (
    <div className="pane pane-wide">
      <PaneHeader
        title="Workflows"
        subtitle="Chains of events across servers, with branches on success, failure or a condition."
        actions={<Button variant="primary" onClick={newWorkflow}>New workflow</Button>}
      />
      {!draft && workflows.length === 0 ? (
        <EmptyState title="Build your first workflow" icon={<Icon name="workflows" size={40} />} action={<Button variant="primary" onClick={newWorkflow}>New workflow</Button>}>
          No workflows yet. A workflow runs events one after another or side by side, passing each step's output to the next. Create one from events you already have.
          {loaded && events.length === 0 ? ' Add an event in the Events pane first.' : ''}
        </EmptyState>
      ) : (
        <div className="wf-layout">
          <nav className="wf-list" aria-label="Workflows">
            <ul>
              {workflows.map((w) => (
                <li key={w.id}>
                  <button type="button" className={`wf-list-item${w.id === selectedId ? ' wf-list-active' : ''}`} aria-current={w.id === selectedId ? 'true' : undefined} onClick={() => void store.open(w.id)}>
                    <span className="wf-list-name">{w.name}</span>
                    <span className="wf-list-meta">
                      {w.nodes.length} step{w.nodes.length === 1 ? '' : 's'}
                      {w.lastRun && <StatusBadge status={w.lastRun.status} />}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          </nav>
          {draft ? <WorkflowEditor /> : <p className="muted">Choose a workflow, or create a new one.</p>}
        </div>
      )}
    </div>
  );
}
