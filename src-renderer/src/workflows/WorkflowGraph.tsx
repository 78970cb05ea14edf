/**
 * WorkflowGraph: the graph editor over @xyflow/react. Steps are nodes (event, server, mode, the shown run's state as a
 * coloured badge, a save error under the step); connections are typed edges coloured and labelled by kind (ON_CONDITION
 * shows its expression). Dragging from a step's bottom handle to another step's top handle connects them with the kind
 * chosen in the toolbar. It edits the workflows store only; it never calls the transport.
 */
import { useMemo, useState } from 'react';
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type EdgeChange,
  type Node,
  type NodeChange,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { StatusBadge } from '../components/StatusBadge';
import { Badge } from '../components/Badge';
import { useWorkflowsStore } from '../stores/workflows-store';
import type { WorkflowEdgeKind, WorkflowStepStatus } from '../../../src-shared/contract/workflows';

export const EDGE_KIND_LABELS: Record<WorkflowEdgeKind, string> = {
  ALWAYS: 'always',
  ON_SUCCESS: 'on success',
  ON_FAILURE: 'on failure',
  ON_CONDITION: 'on condition',
};

interface StepData extends Record<string, unknown> {
  title: string;
  detail: string;
  mode: string;
  status: WorkflowStepStatus | null;
  error: string | null;
}

function StepNode({ data, selected }: NodeProps<Node<StepData>>) {
  return (
    <div
      className={`wf-step${selected ? ' wf-step-selected' : ''}${data.error ? ' wf-step-invalid' : ''}`}
      data-status={data.status ?? 'none'}
      data-testid="workflow-step"
      aria-label={`Step ${data.title}${data.status ? `: ${data.status}` : ''}`}
    >
      <Handle type="target" position={Position.Top} />
      <div className="wf-step-head">
        <strong className="wf-step-title">{data.title}</strong>
        {data.status && (data.status === 'WAITING' || data.status === 'SKIPPED' ? <Badge>{data.status}</Badge> : <StatusBadge status={data.status} />)}
      </div>
      <div className="wf-step-detail">{data.detail}</div>
      {data.mode && <div className="wf-step-mode">{data.mode}</div>}
      {data.error && (
        <div className="wf-step-error" role="alert">
          {data.error}
        </div>
      )}
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

const nodeTypes = { step: StepNode };

export function WorkflowGraph() {
  const draft = useWorkflowsStore((s) => s.draft);
  const events = useWorkflowsStore((s) => s.events);
  const servers = useWorkflowsStore((s) => s.servers);
  const selected = useWorkflowsStore((s) => s.selected);
  const fieldErrors = useWorkflowsStore((s) => s.fieldErrors);
  const run = useWorkflowsStore((s) => s.run);
  const { moveStep, connect, select, removeStep, removeEdge } = useWorkflowsStore.getState();
  // Fit a saved graph into view when it opens (the pane remounts this per workflow); a new one keeps a still view, so
  // steps being added do not move under the pointer.
  const [fitOnOpen] = useState(() => (draft?.steps.length ?? 0) > 0);

  const nodes = useMemo<Node<StepData>[]>(() => {
    if (!draft) return [];
    return draft.steps.map((s) => {
      const event = events.find((e) => e.id === s.eventId);
      const server = servers.find((v) => v.id === s.serverId);
      const status = run?.steps.find((r) => r.nodeId === s.id)?.status ?? null;
      return {
        id: s.id,
        type: 'step',
        position: s.position,
        selected: selected?.kind === 'step' && selected.id === s.id,
        data: {
          title: s.label || event?.name || 'Choose an event',
          detail: `${event?.name ?? 'no event'} on ${server?.name ?? (event?.servers[0]?.name ? `${event.servers[0].name} (event's first)` : 'no server')}`,
          mode: s.executionMode ? s.executionMode : '',
          status,
          error: fieldErrors[`nodes.${s.id}`] ?? null,
        },
      };
    });
  }, [draft, events, servers, selected, fieldErrors, run]);

  const edges = useMemo<Edge[]>(() => {
    if (!draft) return [];
    return draft.edges.map((e) => {
      const error = fieldErrors[`edges.${e.id}`];
      const label = e.kind === 'ON_CONDITION' && e.condition ? `if ${e.condition}` : EDGE_KIND_LABELS[e.kind];
      return {
        id: e.id,
        source: e.source,
        target: e.target,
        label: error ? `⚠ ${label}: ${error}` : label,
        className: `wf-edge wf-edge-${e.kind.toLowerCase()}${error ? ' wf-edge-invalid' : ''}`,
        selected: selected?.kind === 'edge' && selected.id === e.id,
        markerEnd: { type: MarkerType.ArrowClosed },
        data: { kind: e.kind },
      };
    });
  }, [draft, selected, fieldErrors]);

  const onNodesChange = (changes: NodeChange<Node<StepData>>[]) => {
    for (const c of changes) {
      if (c.type === 'position' && c.position) moveStep(c.id, c.position);
      if (c.type === 'remove') removeStep(c.id);
      if (c.type === 'select' && c.selected) select({ kind: 'step', id: c.id });
    }
  };
  const onEdgesChange = (changes: EdgeChange[]) => {
    for (const c of changes) {
      if (c.type === 'remove') removeEdge(c.id);
      if (c.type === 'select' && c.selected) select({ kind: 'edge', id: c.id });
    }
  };

  return (
    <div className="wf-canvas" aria-label="Workflow graph">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={(c) => c.source && c.target && connect(c.source, c.target)}
        onPaneClick={() => select(null)}
        fitView={fitOnOpen}
        fitViewOptions={{ maxZoom: 1 }}
        proOptions={{ hideAttribution: true }}
        deleteKeyCode={['Delete']}
      >
        <Background gap={16} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
