/**
 * WorkflowGraph: the graph editor over @xyflow/react, laid out by ELK (graph-layout.ts): steps in layers top to bottom,
 * connections routed orthogonally around the steps (never through one) and labelled by kind (ON_CONDITION shows its
 * expression). The run shown colours each step by its outcome, dims the connections that did not fire, and states
 * the run's status (succeeded / succeeded with a handled failure / failed) in the corner. Steps are placed by the
 * layout, not dragged; connections are drawn from a step's bottom dot or, by keyboard, from the step's panel.
 * It edits the workflows store only; it never calls the transport.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import {
  Background,
  BaseEdge,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  getSmoothStepPath,
  type Edge,
  type EdgeChange,
  type EdgeProps,
  type Node,
  type NodeChange,
  type NodeProps,
  type ReactFlowInstance,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { StatusBadge } from '../components/StatusBadge';
import { Badge } from '../components/Badge';
import { useWorkflowsStore } from '../stores/workflows-store';
import type { WorkflowEdgeKind, WorkflowStepStatus } from '../../../src-shared/contract/workflows';
import { layoutGraph, midpoint, routePath, type GraphLayout, type Point } from './graph-layout';

export const EDGE_KIND_LABELS: Record<WorkflowEdgeKind, string> = {
  ALWAYS: 'always',
  ON_SUCCESS: 'on success',
  ON_FAILURE: 'on failure',
  ON_CONDITION: 'on condition',
};

/** Every step box has this width; its height follows what it shows (stepHeight), so the layout knows the real box. */
const STEP_WIDTH = 230;

interface StepData extends Record<string, unknown> {
  title: string;
  detail: string;
  mode: string;
  status: WorkflowStepStatus | null;
  error: string | null;
}

export function stepHeight(data: Pick<StepData, 'mode' | 'error'>): number {
  return 74 + (data.mode ? 20 : 0) + (data.error ? 40 : 0);
}

function StepNode({ data, selected }: NodeProps<Node<StepData>>) {
  return (
    <div
      className={`wf-step${selected ? ' wf-step-selected' : ''}${data.error ? ' wf-step-invalid' : ''}`}
      data-status={data.status ?? 'none'}
      data-testid="workflow-step"
    >
      <Handle type="target" position={Position.Top} />
      <div className="wf-step-head">
        <strong className="wf-step-title" title={data.title}>{data.title}</strong>
        {data.status && (data.status === 'WAITING' || data.status === 'SKIPPED' ? <Badge>{data.status}</Badge> : <StatusBadge status={data.status} />)}
      </div>
      <div className="wf-step-detail" title={data.detail}>{data.detail}</div>
      {data.mode && <div className="wf-step-mode">{data.mode}</div>}
      {data.error && (
        <div className="wf-step-error" role="alert" title={data.error}>
          {data.error}
        </div>
      )}
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

interface RoutedData extends Record<string, unknown> {
  kind: WorkflowEdgeKind;
  route: Point[] | null;
  labelAt: Point | null;
}

/** A connection along the route ELK found; before the first layout, a plain step path between the handles. */
function RoutedEdge(props: EdgeProps<Edge<RoutedData>>) {
  const { id, data, label, markerEnd, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition } = props;
  let path: string;
  let labelX: number;
  let labelY: number;
  if (data?.route && data.route.length > 1) {
    path = routePath(data.route);
    const at = data.labelAt ?? midpoint(data.route);
    labelX = at.x;
    labelY = at.y;
  } else {
    [path, labelX, labelY] = getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  }
  return (
    <BaseEdge
      id={id}
      path={path}
      markerEnd={markerEnd}
      label={label}
      labelX={labelX}
      labelY={labelY}
      labelShowBg
      labelBgPadding={[6, 3]}
      labelBgBorderRadius={4}
      labelBgStyle={{ fill: 'var(--surface)' }}
      labelStyle={{ fill: 'var(--text)', fontSize: 12 }}
    />
  );
}

const nodeTypes = { step: StepNode };
const edgeTypes = { routed: RoutedEdge };

const RUN_WORDS: Record<string, string> = {
  RUNNING: 'running',
  SUCCESS: 'succeeded',
  HANDLED_FAILURE: 'succeeded with a handled failure',
  FAILURE: 'failed',
  TIMEOUT: 'timed out',
  CANCELLED: 'cancelled',
  INTERRUPTED: 'interrupted',
};

export function WorkflowGraph() {
  const draft = useWorkflowsStore((s) => s.draft);
  const events = useWorkflowsStore((s) => s.events);
  const servers = useWorkflowsStore((s) => s.servers);
  const selected = useWorkflowsStore((s) => s.selected);
  const fieldErrors = useWorkflowsStore((s) => s.fieldErrors);
  const run = useWorkflowsStore((s) => s.run);
  const { connect, select, removeStep, removeEdge } = useWorkflowsStore.getState();
  const [flow, setFlow] = useState<ReactFlowInstance<Node<StepData>, Edge<RoutedData>> | null>(null);

  const nodes = useMemo<Node<StepData>[]>(() => {
    if (!draft) return [];
    return draft.steps.map((s) => {
      const event = events.find((e) => e.id === s.eventId);
      const server = servers.find((v) => v.id === s.serverId);
      const status = run?.steps.find((r) => r.nodeId === s.id)?.status ?? null;
      const data: StepData = {
        title: s.label || event?.name || 'Choose an event',
        detail: `${event?.name ?? 'no event'} on ${server?.name ?? (event?.servers[0]?.name ? `${event.servers[0].name} (event's first)` : 'no server')}`,
        mode: s.executionMode ? s.executionMode : '',
        status,
        error: fieldErrors[`nodes.${s.id}`] ?? null,
      };
      return {
        id: s.id,
        type: 'step',
        position: s.position,
        width: STEP_WIDTH,
        height: stepHeight(data),
        style: { width: STEP_WIDTH, height: stepHeight(data) },
        selected: selected?.kind === 'step' && selected.id === s.id,
        ariaLabel: `Step ${data.title}${status ? `: ${status}` : ''}`,
        data,
      };
    });
  }, [draft, events, servers, selected, fieldErrors, run]);

  const labelOf = (e: { kind: WorkflowEdgeKind; condition: string }) => (e.kind === 'ON_CONDITION' && e.condition ? `if ${e.condition}` : EDGE_KIND_LABELS[e.kind]);

  // The layout depends only on the graph's shape and the boxes' sizes: a run's states changing moves nothing.
  const shape = useMemo(() => {
    if (!draft) return { key: '', nodes: [], edges: [] };
    const layoutNodes = nodes.map((n) => ({ id: n.id, width: STEP_WIDTH, height: n.height! }));
    const layoutEdges = draft.edges.map((e) => {
      const error = fieldErrors[`edges.${e.id}`];
      return { id: e.id, source: e.source, target: e.target, label: error ? `⚠ ${labelOf(e)}: ${error}` : labelOf(e) };
    });
    return { key: JSON.stringify([layoutNodes, layoutEdges]), nodes: layoutNodes, edges: layoutEdges };
  }, [draft, nodes, fieldErrors]);

  const [layout, setLayout] = useState<{ key: string; result: GraphLayout } | null>(null);
  useEffect(() => {
    let current = true;
    if (shape.nodes.length === 0) {
      setLayout({ key: shape.key, result: { positions: {}, routes: {} } });
      return;
    }
    layoutGraph(shape.nodes, shape.edges).then(
      (result) => current && setLayout({ key: shape.key, result }),
      () => current && setLayout(null),
    );
    return () => {
      current = false;
    };
  }, [shape]);
  const laid = layout?.key === shape.key ? layout.result : null;

  // Bring the whole laid-out graph into view whenever its shape changes.
  const fittedKey = useRef<string | null>(null);
  useEffect(() => {
    if (!flow || !laid || fittedKey.current === shape.key) return;
    fittedKey.current = shape.key;
    const frame = requestAnimationFrame(() => void flow.fitView({ maxZoom: 1, padding: 0.12 }));
    return () => cancelAnimationFrame(frame);
  }, [flow, laid, shape.key]);

  const placedNodes = useMemo(() => (laid ? nodes.map((n) => ({ ...n, position: laid.positions[n.id] ?? n.position })) : nodes), [nodes, laid]);

  const edges = useMemo<Edge<RoutedData>[]>(() => {
    if (!draft) return [];
    const stepStatus = (id: string) => run?.steps.find((r) => r.nodeId === id)?.status;
    return shape.edges.map((le) => {
      const e = draft.edges.find((x) => x.id === le.id)!;
      const error = fieldErrors[`edges.${e.id}`];
      const route = laid?.routes[e.id];
      const target = stepStatus(e.target);
      const source = stepStatus(e.source);
      // On a shown run: a connection whose target was skipped did not fire; one whose target ran did (or a sibling did).
      const overlay = !run || !source || source === 'WAITING' || source === 'RUNNING' ? '' : target === 'SKIPPED' ? ' wf-edge-idle' : target && target !== 'WAITING' ? ' wf-edge-taken' : '';
      return {
        id: e.id,
        type: 'routed',
        source: e.source,
        target: e.target,
        label: le.label,
        className: `wf-edge wf-edge-${e.kind.toLowerCase()}${error ? ' wf-edge-invalid' : ''}${overlay}`,
        selected: selected?.kind === 'edge' && selected.id === e.id,
        markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
        ariaLabel: `Connection ${le.label}`,
        data: { kind: e.kind, route: route?.points ?? null, labelAt: route?.labelCenter ?? null },
      };
    });
  }, [draft, shape, laid, selected, fieldErrors, run]);

  const onNodesChange = (changes: NodeChange<Node<StepData>>[]) => {
    for (const c of changes) {
      if (c.type === 'remove') removeStep(c.id);
      if (c.type === 'select' && c.selected) select({ kind: 'step', id: c.id });
    }
  };
  const onEdgesChange = (changes: EdgeChange<Edge<RoutedData>>[]) => {
    for (const c of changes) {
      if (c.type === 'remove') removeEdge(c.id);
      if (c.type === 'select' && c.selected) select({ kind: 'edge', id: c.id });
    }
  };

  return (
    <div className="wf-graph" aria-label="Workflow graph" role="region" data-laid-out={laid ? 'true' : 'false'}>
      <div className="wf-graph-bar">
        {run ? (
          <span className="wf-run-overlay">
            <span className="muted">Shown run</span> <StatusBadge status={run.status} />
            <span className="sr-only">: the run {RUN_WORDS[run.status] ?? run.status}</span>
          </span>
        ) : (
          <span className="muted">No run shown yet.</span>
        )}
        <span className="wf-legend" aria-label="Connection kinds" role="note">
          {(Object.keys(EDGE_KIND_LABELS) as WorkflowEdgeKind[]).map((k) => (
            <span key={k} className={`wf-legend-item wf-legend-${k.toLowerCase()}`}>
              <svg width="22" height="8" aria-hidden="true"><line x1="0" y1="4" x2="22" y2="4" /></svg>
              {EDGE_KIND_LABELS[k]}
            </span>
          ))}
        </span>
      </div>
      <div className="wf-canvas">
        <ReactFlow
          nodes={placedNodes}
          edges={edges}
          nodeTypes={nodeTypes}
          edgeTypes={edgeTypes}
          onInit={setFlow}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onConnect={(c) => c.source && c.target && connect(c.source, c.target)}
          onPaneClick={() => select(null)}
          nodesDraggable={false}
          fitViewOptions={{ maxZoom: 1 }}
          minZoom={0.2}
          proOptions={{ hideAttribution: true }}
          deleteKeyCode={['Delete']}
        >
          <Background gap={16} />
          <Controls showInteractive={false} />
        </ReactFlow>
      </div>
    </div>
  );
}
