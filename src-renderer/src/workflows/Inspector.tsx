/**
 * Inspector: the side panel for what is selected on the graph. A step: its event, server, label, execution mode,
 * runner requirements, timeout, and "connect to" (the keyboard way to draw a connection). A connection: its kind and,
 * for ON_CONDITION, its expression. Save errors for the item show at its fields. Edits the workflows store only.
 */
import { Button } from '../components/Button';
import { Field } from '../components/Field';
import { useWorkflowsStore, type DraftEdge, type DraftStep } from '../stores/workflows-store';
import type { WorkflowEdgeKind } from '../../../src-shared/contract/workflows';
import { EDGE_KIND_LABELS } from './WorkflowGraph';
import { useState } from 'react';

const KINDS = Object.keys(EDGE_KIND_LABELS) as WorkflowEdgeKind[];

function StepInspector({ step }: { step: DraftStep }) {
  const events = useWorkflowsStore((s) => s.events);
  const servers = useWorkflowsStore((s) => s.servers);
  const steps = useWorkflowsStore((s) => s.draft?.steps ?? []);
  const error = useWorkflowsStore((s) => s.fieldErrors[`nodes.${step.id}`]);
  const { updateStep, removeStep, connect } = useWorkflowsStore.getState();
  const [target, setTarget] = useState('');
  const [kind, setKind] = useState<WorkflowEdgeKind>('ON_SUCCESS');
  const event = events.find((e) => e.id === step.eventId);
  const others = steps.filter((s) => s.id !== step.id);
  const nameOf = (s: DraftStep) => s.label || events.find((e) => e.id === s.eventId)?.name || 'step';
  const set = (patch: Partial<DraftStep>) => updateStep(step.id, patch);

  return (
    <section className="wf-inspector" aria-label="Step settings">
      <h3>Step</h3>
      {error && <p className="form-error" role="alert">{error}</p>}
      <Field label="Event">
        {({ id }) => (
          <select id={id} value={step.eventId} onChange={(e) => set({ eventId: e.target.value, serverId: '' })}>
            {!event && <option value="">Choose an event</option>}
            {events.map((e) => (
              <option key={e.id} value={e.id}>{e.name}</option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Server" help="Default: the event's first server.">
        {({ id, describedBy }) => (
          <select id={id} aria-describedby={describedBy} value={step.serverId} onChange={(e) => set({ serverId: e.target.value })}>
            <option value="">{event?.servers[0] ? `${event.servers[0].name} (event's first)` : "The event's first server"}</option>
            {servers.map((s) => (
              <option key={s.id} value={s.id}>{s.name}</option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Label" help="Shown on the graph; names this step's output for a step that joins several.">
        {({ id, describedBy }) => <input id={id} aria-describedby={describedBy} type="text" value={step.label} placeholder={event?.name ?? ''} onChange={(e) => set({ label: e.target.value })} />}
      </Field>
      <Field label="Execution mode">
        {({ id }) => (
          <select id={id} value={step.executionMode} onChange={(e) => set({ executionMode: e.target.value as DraftStep['executionMode'] })}>
            <option value="">The event's ({event?.executionMode ?? 'auto'})</option>
            <option value="auto">auto</option>
            <option value="direct-ssh">direct-ssh</option>
            <option value="runner-ssh">runner-ssh</option>
          </select>
        )}
      </Field>
      <Field label="Runner minimum version" help="e.g. 1.2.0; empty for any.">
        {({ id, describedBy }) => <input id={id} aria-describedby={describedBy} type="text" value={step.minVersion} onChange={(e) => set({ minVersion: e.target.value })} />}
      </Field>
      <Field label="Runner capabilities" help="Comma-separated, e.g. helpers, spool.">
        {({ id, describedBy }) => <input id={id} aria-describedby={describedBy} type="text" value={step.capabilities} onChange={(e) => set({ capabilities: e.target.value })} />}
      </Field>
      <Field label="Step timeout (seconds)" help={`Empty: the event's (${event?.timeoutSeconds ?? '—'} s).`}>
        {({ id, describedBy }) => <input id={id} aria-describedby={describedBy} type="text" inputMode="numeric" value={step.timeoutSeconds} onChange={(e) => set({ timeoutSeconds: e.target.value })} />}
      </Field>
      {others.length > 0 && (
        <div className="wf-connect" role="group" aria-label="Connect to another step">
          <Field label="Connect to">
            {({ id }) => (
              <select id={id} value={target} onChange={(e) => setTarget(e.target.value)}>
                <option value="">Choose a step</option>
                {others.map((s) => (
                  <option key={s.id} value={s.id}>{nameOf(s)}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label="When">
            {({ id }) => (
              <select id={id} value={kind} onChange={(e) => setKind(e.target.value as WorkflowEdgeKind)}>
                {KINDS.map((k) => (
                  <option key={k} value={k}>{EDGE_KIND_LABELS[k]}</option>
                ))}
              </select>
            )}
          </Field>
          <Button disabled={!target} onClick={() => connect(step.id, target, kind)}>Add connection</Button>
        </div>
      )}
      <Button variant="danger" onClick={() => removeStep(step.id)}>Remove step</Button>
    </section>
  );
}

function EdgeInspector({ edge }: { edge: DraftEdge }) {
  const error = useWorkflowsStore((s) => s.fieldErrors[`edges.${edge.id}`]);
  const { updateEdge, removeEdge } = useWorkflowsStore.getState();
  return (
    <section className="wf-inspector" aria-label="Connection settings">
      <h3>Connection</h3>
      <Field label="Fires">
        {({ id }) => (
          <select id={id} value={edge.kind} onChange={(e) => updateEdge(edge.id, { kind: e.target.value as WorkflowEdgeKind })}>
            {KINDS.map((k) => (
              <option key={k} value={k}>{EDGE_KIND_LABELS[k]}</option>
            ))}
          </select>
        )}
      </Field>
      {edge.kind === 'ON_CONDITION' && (
        <Field
          label="Condition"
          error={error}
          help='Empty: the value the step set with setCondition(). Or an expression over status, exitCode, output, condition, input, e.g. exitCode == 0 && output.count > 3'
        >
          {({ id, describedBy, invalid }) => (
            <input id={id} className="mono" type="text" aria-describedby={describedBy} aria-invalid={invalid || undefined} value={edge.condition} onChange={(e) => updateEdge(edge.id, { condition: e.target.value })} spellCheck={false} />
          )}
        </Field>
      )}
      {error && edge.kind !== 'ON_CONDITION' && <p className="form-error" role="alert">{error}</p>}
      <Button variant="danger" onClick={() => removeEdge(edge.id)}>Remove connection</Button>
    </section>
  );
}

export function Inspector() {
  const selected = useWorkflowsStore((s) => s.selected);
  const step = useWorkflowsStore((s) => (s.selected?.kind === 'step' ? s.draft?.steps.find((x) => x.id === s.selected!.id) : undefined));
  const edge = useWorkflowsStore((s) => (s.selected?.kind === 'edge' ? s.draft?.edges.find((x) => x.id === s.selected!.id) : undefined));
  if (step) return <StepInspector key={step.id} step={step} />;
  if (edge) return <EdgeInspector key={edge.id} edge={edge} />;
  return (
    <section className="wf-inspector wf-help" aria-label="How workflows run">
      <h3>{selected ? 'Nothing selected' : 'How it runs'}</h3>
      <p>Steps with no incoming connection start first, side by side. A step starts once every step before it has ended and at least one connection into it fired; otherwise it is skipped, and so are the steps after it.</p>
      <p>On failure also fires for a timeout or an interrupted (partial) step. A step gets the output of the step before it as input; a step that joins several gets them keyed by label.</p>
    </section>
  );
}
