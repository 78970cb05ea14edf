/**
 * WorkflowGraph: the shape checks a workflow must pass before it is saved (unique ids, edges between known steps, no
 * duplicate edges, valid conditions, no cycle), and the plan an executor runs. Pure: it knows nothing of the database
 * or of events; it never runs anything. Messages are keyed like the editor shows them: nodes.<id>, edges.<id>, graph.
 */
import type { WorkflowEdgeKind } from '../../../src-shared/contract/workflows';
import type { RunnerRequirements } from '../../../src-shared/contract/events';
import type { ExecutionMode } from '../../../src-shared/contract/settings';
import type { ParameterValue } from '../../../src-shared/contract/run-parameters';
import { checkCondition } from './workflow-condition';

export interface PlanNode {
  id: string;
  /** The label on the graph, or the event's name. */
  label: string;
  eventId: string;
  serverId: string;
  /** null = the event's own mode. */
  executionMode: ExecutionMode | null;
  runnerRequirements: RunnerRequirements | null;
  timeoutSeconds: number | null;
  /** The step's values of the event's run-time parameters (absent: the event's defaults). */
  parameters?: Record<string, ParameterValue>;
}

export interface PlanEdge {
  id: string;
  source: string;
  target: string;
  kind: WorkflowEdgeKind;
  /** ON_CONDITION: a CEL expression, or null to use the source step's setCondition() value. */
  condition: string | null;
}

/** One version of a workflow, as a run executes it (a later edit does not change a run under way). */
export interface WorkflowPlan {
  workflowId: string;
  version: number;
  name: string;
  timeoutSeconds: number | null;
  nodes: PlanNode[];
  edges: PlanEdge[];
}

type GraphNode = Pick<PlanNode, 'id' | 'label'>;
type GraphEdge = Pick<PlanEdge, 'id' | 'source' | 'target' | 'kind' | 'condition'>;

/** The first cycle found, as node ids in order (the first id repeated at the end), or null when the graph is a DAG. */
export function findCycle(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): string[] | null {
  const next = new Map<string, string[]>();
  for (const n of nodes) next.set(n.id, []);
  for (const e of edges) next.get(e.source)?.push(e.target);
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  // Iterative DFS: a deep chain of 200 steps must not hit the stack limit of a recursive one.
  for (const start of nodes) {
    if (state.has(start.id)) continue;
    const stack: Array<{ id: string; i: number }> = [{ id: start.id, i: 0 }];
    state.set(start.id, 'open');
    path.push(start.id);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const targets = next.get(top.id) ?? [];
      if (top.i < targets.length) {
        const to = targets[top.i++]!;
        const seen = state.get(to);
        if (seen === 'open') return [...path.slice(path.indexOf(to)), to];
        if (seen === undefined) {
          state.set(to, 'open');
          path.push(to);
          stack.push({ id: to, i: 0 });
        }
      } else {
        state.set(top.id, 'done');
        path.pop();
        stack.pop();
      }
    }
  }
  return null;
}

/**
 * Every problem with the graph's shape, keyed for the editor: `nodes.<id>`, `edges.<id>` and `graph` (the whole).
 * Empty when it may be saved. Whether the events and servers exist is checked by the service, which has the database.
 */
export function graphProblems(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): Record<string, string> {
  const problems: Record<string, string> = {};
  const ids = new Set<string>();
  for (const n of nodes) {
    if (ids.has(n.id)) problems[`nodes.${n.id}`] = `two steps have the id ${n.id}`;
    ids.add(n.id);
  }
  const edgeIds = new Set<string>();
  const pairs = new Set<string>();
  const labelOf = (id: string) => nodes.find((n) => n.id === id)?.label ?? id;
  for (const e of edges) {
    const key = `edges.${e.id}`;
    if (edgeIds.has(e.id)) problems[key] = `two connections have the id ${e.id}`;
    edgeIds.add(e.id);
    if (!ids.has(e.source) || !ids.has(e.target)) {
      problems[key] = `this connection joins a step that is not in the workflow (${!ids.has(e.source) ? e.source : e.target})`;
      continue;
    }
    if (e.source === e.target) {
      problems[key] = `${labelOf(e.source)} cannot lead to itself`;
      continue;
    }
    const pair = `${e.source}\u0000${e.target}\u0000${e.kind}`;
    if (pairs.has(pair)) problems[key] = `${labelOf(e.source)} already leads to ${labelOf(e.target)} ${e.kind}`;
    pairs.add(pair);
    if (e.kind === 'ON_CONDITION' && e.condition) {
      const why = checkCondition(e.condition);
      if (why) problems[key] = why;
    }
  }
  const cycle = findCycle(
    nodes,
    edges.filter((e) => ids.has(e.source) && ids.has(e.target)),
  );
  if (cycle) {
    const names = cycle.map(labelOf).join(' → ');
    problems.graph = `the steps ${names} form a cycle; a workflow may not lead back to a step it has already run. Remove one of these connections.`;
    for (const id of new Set(cycle)) problems[`nodes.${id}`] ??= 'part of a cycle';
  }
  return problems;
}
