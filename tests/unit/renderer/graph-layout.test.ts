// The workflow graph's layout (elkjs): steps in layers top to bottom, every connection routed around the step boxes
// (never through one, even the failure branch that skips a step), each label placed, and the SVG path builder.
import { describe, expect, it } from 'vitest';
import { layoutGraph, midpoint, routePath, type GraphLayout, type LayoutNode, type Point } from '../../../src-renderer/src/workflows/graph-layout';

const box = (id: string): LayoutNode => ({ id, width: 230, height: 74 });

/** Points every 2 px along each route that fall strictly inside a step box (2 px margin), per edge. */
function crossings(layout: GraphLayout, nodes: LayoutNode[]): string[] {
  const hits: string[] = [];
  for (const [edgeId, route] of Object.entries(layout.routes)) {
    for (let i = 1; i < route.points.length; i++) {
      const a = route.points[i - 1]!;
      const b = route.points[i]!;
      const steps = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / 2));
      for (let k = 0; k <= steps; k++) {
        const p: Point = { x: a.x + ((b.x - a.x) * k) / steps, y: a.y + ((b.y - a.y) * k) / steps };
        const inside = nodes.find((n) => {
          const at = layout.positions[n.id]!;
          return p.x > at.x + 2 && p.x < at.x + n.width - 2 && p.y > at.y + 2 && p.y < at.y + n.height - 2;
        });
        if (inside) hits.push(`${edgeId} through ${inside.id}`);
      }
    }
  }
  return [...new Set(hits)];
}

describe('workflow graph layout', () => {
  describe('when a failure branch skips the middle step (extract -> transform -> notify, extract -> notify)', () => {
    const nodes = ['extract', 'transform', 'notify'].map(box);
    const edges = [
      { id: 'ok', source: 'extract', target: 'transform', label: 'on success' },
      { id: 'always', source: 'transform', target: 'notify', label: 'always' },
      { id: 'fail', source: 'extract', target: 'notify', label: 'on failure' },
    ];

    it('puts each step in its own layer, top to bottom', async () => {
      const layout = await layoutGraph(nodes, edges);
      const y = (id: string) => layout.positions[id]!.y;
      expect(y('extract')).toBeLessThan(y('transform'));
      expect(y('transform')).toBeLessThan(y('notify'));
    });

    it('routes every connection around the steps and places every label', async () => {
      const layout = await layoutGraph(nodes, edges);
      expect(Object.keys(layout.routes).sort()).toEqual(['always', 'fail', 'ok']);
      expect(crossings(layout, nodes)).toEqual([]);
      for (const route of Object.values(layout.routes)) expect(route.labelCenter).not.toBeNull();
    });
  });

  describe('when a wider graph fans out and joins', () => {
    it('still crosses no step box', async () => {
      const nodes = ['a', 'b', 'c', 'd', 'e', 'f'].map(box);
      const edges = [
        { id: '1', source: 'a', target: 'b', label: 'on success' },
        { id: '2', source: 'a', target: 'c', label: 'on failure' },
        { id: '3', source: 'a', target: 'f', label: 'always' },
        { id: '4', source: 'b', target: 'd', label: 'if output.count > 3' },
        { id: '5', source: 'c', target: 'd', label: 'always' },
        { id: '6', source: 'd', target: 'e', label: 'on success' },
        { id: '7', source: 'b', target: 'e', label: 'on failure' },
      ];
      const layout = await layoutGraph(nodes, edges);
      expect(crossings(layout, nodes)).toEqual([]);
    });
  });

  describe('the path builder', () => {
    it('draws through every point with rounded bends, and finds the middle of a polyline', () => {
      const points = [{ x: 0, y: 0 }, { x: 0, y: 100 }, { x: 100, y: 100 }];
      const d = routePath(points);
      expect(d.startsWith('M 0 0')).toBe(true);
      expect(d).toContain('Q 0 100');
      expect(d.endsWith('L 100 100')).toBe(true);
      expect(midpoint(points)).toEqual({ x: 0, y: 100 });
    });
  });
});
