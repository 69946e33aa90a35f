// Random weights for any network graph, for tests that run whole networks: He-uniform conv
// weights, small biases, batch norms with gamma in [0.5, 1] and running variance in [0.5, 1.5];
// or as the generator of ../shared/fixtures/hf draws them (transformersLikeParams).
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

/**
 * Weights drawn as the generator of ../shared/fixtures/hf draws them (its README): each kernel
 * N(0, 1 / fan-in), each normalisation's scale U(0.5, 1.5) and shift 0.2 N(0, 1) (batch, layer
 * and group norms alike), batch-norm running means 0.2 N(0, 1) and variances U(0.5, 1.5); other
 * vectors (biases) U(-0.1, 0.1). Unlike randomParams' small layer-norm scales, these give
 * attention scores of unit size, so softmax is far from uniform.
 */
export function transformersLikeParams(g: Graph, r: () => number = rng()): HostParams {
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const roles = new Map<number, 'scale' | 'shift' | 'mean' | 'variance'>();
  for (const n of g.nodes) {
    const op = n.op;
    if (op.type === 'batchnorm') {
      roles.set(op.gamma.id, 'scale').set(op.beta.id, 'shift').set(op.mean.id, 'mean').set(op.variance.id, 'variance');
    } else if (op.type === 'layer_norm' || op.type === 'group_norm') {
      roles.set(op.gamma.id, 'scale').set(op.beta.id, 'shift');
    }
  }
  const params: HostParams = new Map();
  for (const p of g.state) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const role = roles.get(p.id);
    const draw = ((): (() => number) => {
      // HWIO kernels (linear layers are 1x1 ones): fan-in is all but the output axis.
      if (p.shape.length === 4) return () => gauss() / Math.sqrt(p.shape[0] * p.shape[1] * p.shape[2]);
      if (role === 'scale' || role === 'variance') return () => 0.5 + r();
      if (role === 'shift' || role === 'mean') return () => 0.2 * gauss();
      return () => -0.1 + 0.2 * r();
    })();
    params.set(p.name, { shape: [...p.shape], data: Float32Array.from({ length: size }, draw) });
  }
  return params;
}
