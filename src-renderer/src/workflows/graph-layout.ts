/**
 * Workflow graph layout: places the steps in layers top to bottom with ELK's layered algorithm and routes every
 * connection orthogonally around the steps (ELK keeps routes out of node boxes), with room for each connection's label.
 * Pure input -> output over elkjs, so the graph component only draws what this returns; it never touches the store.
 */
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api';

export interface LayoutNode {
  id: string;
  width: number;
  height: number;
}

export interface LayoutEdge {
  id: string;
  source: string;
  target: string;
  label: string;
}

export interface Point {
  x: number;
  y: number;
}

export interface EdgeRoute {
  /** Start, bends, end: a polyline that never enters a step's box. */
  points: Point[];
  /** Centre of the label's box, placed by ELK where it overlaps nothing. */
  labelCenter: Point | null;
}

export interface GraphLayout {
  positions: Record<string, Point>;
  routes: Record<string, EdgeRoute>;
}

const elk = new ELK();

/** Label boxes ELK reserves room for: about the width of the text at 12 px, plus padding. */
export function labelSize(text: string): { width: number; height: number } {
  return { width: Math.min(260, Math.max(40, Math.round(text.length * 6.6) + 14)), height: 20 };
}

const LAYOUT_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.layered.spacing.nodeNodeBetweenLayers': '60',
  'elk.layered.spacing.edgeNodeBetweenLayers': '20',
  'elk.spacing.nodeNode': '48',
  'elk.spacing.edgeNode': '24',
  'elk.spacing.edgeEdge': '14',
  'elk.spacing.edgeLabel': '4',
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.padding': '[top=20,left=20,bottom=20,right=20]',
};

export async function layoutGraph(nodes: LayoutNode[], edges: LayoutEdge[]): Promise<GraphLayout> {
  const ids = new Set(nodes.map((n) => n.id));
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: LAYOUT_OPTIONS,
    children: nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: edges
      .filter((e) => ids.has(e.source) && ids.has(e.target))
      .map<ElkExtendedEdge>((e) => ({
        id: e.id,
        sources: [e.source],
        targets: [e.target],
        labels: e.label ? [{ id: `${e.id}-label`, text: e.label, ...labelSize(e.label) }] : [],
      })),
  };
  const laid = await elk.layout(graph);
  const positions: Record<string, Point> = {};
  for (const child of laid.children ?? []) positions[child.id] = { x: child.x ?? 0, y: child.y ?? 0 };
  const routes: Record<string, EdgeRoute> = {};
  for (const edge of (laid.edges ?? []) as ElkExtendedEdge[]) {
    const section = edge.sections?.[0];
    if (!section) continue;
    const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint].map((p) => ({ x: p.x, y: p.y }));
    const label = edge.labels?.[0];
    const labelCenter = label && label.x !== undefined && label.y !== undefined ? { x: label.x + (label.width ?? 0) / 2, y: label.y + (label.height ?? 0) / 2 } : null;
    routes[edge.id] = { points, labelCenter };
  }
  return { positions, routes };
}

/** An SVG path through the route's points, with small rounded corners at each bend. */
export function routePath(points: Point[], radius = 8): string {
  if (points.length === 0) return '';
  let d = `M ${points[0]!.x} ${points[0]!.y}`;
  for (let i = 1; i < points.length; i++) {
    const p = points[i]!;
    const next = points[i + 1];
    const prev = points[i - 1]!;
    if (!next) {
      d += ` L ${p.x} ${p.y}`;
      break;
    }
    const r = Math.min(radius, Math.hypot(p.x - prev.x, p.y - prev.y) / 2, Math.hypot(next.x - p.x, next.y - p.y) / 2);
    const before = towards(p, prev, r);
    const after = towards(p, next, r);
    d += ` L ${before.x} ${before.y} Q ${p.x} ${p.y} ${after.x} ${after.y}`;
  }
  return d;
}

function towards(from: Point, to: Point, distance: number): Point {
  const len = Math.hypot(to.x - from.x, to.y - from.y) || 1;
  return { x: from.x + ((to.x - from.x) / len) * distance, y: from.y + ((to.y - from.y) / len) * distance };
}

/** A point halfway along the polyline: where a label goes when ELK placed none. */
export function midpoint(points: Point[]): Point {
  if (points.length === 0) return { x: 0, y: 0 };
  const lengths = points.slice(1).map((p, i) => Math.hypot(p.x - points[i]!.x, p.y - points[i]!.y));
  let half = lengths.reduce((a, b) => a + b, 0) / 2;
  for (let i = 0; i < lengths.length; i++) {
    if (half <= lengths[i]!) return towards(points[i]!, points[i + 1]!, half);
    half -= lengths[i]!;
  }
  return points[points.length - 1]!;
}
