// Random weights for any network graph, for tests that run whole networks: He-uniform conv
// weights, small biases, batch norms with gamma in [0.5, 1] and running variance in [0.5, 1.5].
import type { Graph } from '../../src/graph/ir.js';
import type { HostParams } from '../../src/graph/params.js';
import { randomArray, rng } from '../helpers.js';

export function randomParams(g: Graph, r: () => number = rng()): HostParams {
  const roles = new Map<number, 'gamma' | 'beta' | 'mean' | 'variance'>();
  for (const n of g.nodes) {
    if (n.op.type === 'batchnorm') for (const role of ['gamma', 'beta', 'mean', 'variance'] as const) roles.set(n.op[role].id, role);
  }
  const params: HostParams = new Map();
  for (const p of g.state) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (p.shape.length === 4) {
      const bound = Math.sqrt(6 / (p.shape[0] * p.shape[1] * p.shape[2]));
      data = randomArray(size, -bound, bound, r);
    } else {
      const role = roles.get(p.id);
      const [lo, hi] = role === 'gamma' ? [0.5, 1] : role === 'variance' ? [0.5, 1.5] : [-0.1, 0.1];
      data = randomArray(size, lo, hi, r);
    }
    params.set(p.name, { shape: [...p.shape], data });
  }
  return params;
}
