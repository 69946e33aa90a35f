// Graph rewrites run at load time, before execution:
//  - foldBatchNorms: conv -> BN becomes one conv with folded weight and bias (inference only;
//    training graphs keep BN as its own op, which is why this is a pass and not a loader step);
//  - fuseEpilogues: a residual add and/or activation that follows a conv moves into the conv's
//    write-out (one pass over memory instead of three).
// Both passes reuse the consumer's output Value for the fused conv, so nothing downstream changes.
import { foldBatchNorm } from '../kernels/batchnorm-fold.js';
import type { Graph, Node, NodeOp, Value } from './ir.js';
import { nodeInputs } from './ir.js';
import { type HostParams, checkParams } from './params.js';

/** How many nodes read each value, plus one for each graph output naming it. */
function useCounts(graph: Graph): Map<number, number> {
  const uses = new Map<number, number>();
  const bump = (v: Value): void => void uses.set(v.id, (uses.get(v.id) ?? 0) + 1);
  for (const n of graph.nodes) for (const v of nodeInputs(n.op)) bump(v);
  for (const v of graph.outputs.values()) bump(v);
  return uses;
}

function producers(graph: Graph): Map<number, Node> {
  return new Map(graph.nodes.map((n) => [n.output.id, n]));
}

/** Rebuilds the graph from a node list, keeping only the params some node still reads. */
function withNodes(graph: Graph, nodes: Node[]): Graph {
  const params = new Map<number, Value>();
  for (const n of nodes) for (const v of nodeInputs(n.op)) if (v.kind === 'param') params.set(v.id, v);
  return { inputs: graph.inputs, params: [...params.values()], nodes: nodes.map((n, id) => ({ ...n, id })), outputs: graph.outputs };
}

let foldedIds = 1 << 24; // ids for new param values, far from the builder's

/**
 * `known` may hold folded tensors from an earlier call on a graph of the same network at
 * another input size (names depend only on the layers), so they are not recomputed.
 */
export function foldBatchNorms(graph: Graph, host: HostParams, known?: HostParams): { graph: Graph; params: HostParams } {
  // Check first: folding drops tensors, which would hide an unexpected or missing one.
  checkParams(graph, host);
  const uses = useCounts(graph);
  const producer = producers(graph);
  const params: HostParams = new Map(host);
  const removed = new Set<number>(); // node ids folded away
  const replaced = new Map<number, Node>(); // BN node id -> fused conv node
  for (const bnNode of graph.nodes) {
    const op = bnNode.op;
    if (op.type !== 'batchnorm') continue;
    const convNode = producer.get(op.input.id);
    if (!convNode || convNode.op.type !== 'conv2d') continue;
    const conv = convNode.op;
    if (conv.attrs.activation !== 'none' || conv.residual || conv.scale || uses.get(op.input.id) !== 1) continue;
    const w = host.get(conv.weight.name)!;
    const stats = [op.gamma, op.beta, op.mean, op.variance].map((v) => host.get(v.name));
    if (!w || stats.some((s) => !s)) continue; // checkParams reports it later
    const cout = conv.weight.shape[3];
    const weight: Value = { id: foldedIds++, shape: conv.weight.shape, dtype: 'f32', kind: 'param', name: `${convNode.name}#bn_folded.weight` };
    const biasValue: Value = { id: foldedIds++, shape: [cout], dtype: 'f32', kind: 'param', name: `${convNode.name}#bn_folded.bias` };
    const knownWeight = known?.get(weight.name);
    const knownBias = known?.get(biasValue.name);
    if (knownWeight && knownBias) {
      params.set(weight.name, knownWeight);
      params.set(biasValue.name, knownBias);
    } else {
      const bias = conv.bias ? host.get(conv.bias.name)!.data : undefined;
      const folded = foldBatchNorm(w.data, w.shape, bias, {
        gamma: stats[0]!.data,
        beta: stats[1]!.data,
        mean: stats[2]!.data,
        variance: stats[3]!.data,
        eps: op.attrs.eps,
      });
      params.set(weight.name, { shape: [...weight.shape], data: folded.weight });
      params.set(biasValue.name, { shape: [cout], data: folded.bias });
    }
    const fusedOp: NodeOp = { ...conv, weight, bias: biasValue, attrs: { ...conv.attrs, activation: op.attrs.activation } };
    removed.add(convNode.id);
    replaced.set(bnNode.id, { id: bnNode.id, name: convNode.name, op: fusedOp, output: bnNode.output });
  }
  const nodes = graph.nodes.filter((n) => !removed.has(n.id)).map((n) => replaced.get(n.id) ?? n);
  const out = withNodes(graph, nodes);
  // Drop host tensors no longer referenced (original conv weights and BN statistics).
  const keep = new Set(out.params.map((p) => p.name));
  for (const name of [...params.keys()]) if (!keep.has(name)) params.delete(name);
  return { graph: out, params };
}

/** Moves residual adds and activations that follow a conv into the conv's epilogue. */
export function fuseEpilogues(graph: Graph): Graph {
  let current = graph;
  // Each sweep fuses one level (conv+add, then conv(add)+activation); two sweeps suffice.
  for (let sweep = 0; sweep < 2; sweep++) {
    const uses = useCounts(current);
    const producer = producers(current);
    const removed = new Set<number>();
    const replaced = new Map<number, Node>();
    for (const node of current.nodes) {
      const op = node.op;
      let convNode: Node | undefined;
      let fusedOp: NodeOp | undefined;
      if (op.type === 'add') {
        for (const [mine, other] of [
          [op.a, op.b],
          [op.b, op.a],
        ] as const) {
          const p = producer.get(mine.id);
          if (!p || removed.has(p.id) || p.op.type !== 'conv2d' || uses.get(mine.id) !== 1) continue;
          if (p.op.residual || p.op.attrs.activation !== 'none') continue;
          convNode = p;
          fusedOp = { ...p.op, residual: other, attrs: { ...p.op.attrs, activation: op.attrs.activation } };
          break;
        }
      } else if (op.type === 'activation') {
        const p = producer.get(op.input.id);
        if (p && !removed.has(p.id) && p.op.type === 'conv2d' && uses.get(op.input.id) === 1 && p.op.attrs.activation === 'none') {
          convNode = p;
          fusedOp = { ...p.op, attrs: { ...p.op.attrs, activation: op.attrs.activation } };
        }
      }
      if (!convNode || !fusedOp) continue;
      removed.add(convNode.id);
      // The fused conv runs where the consumer ran: by then the residual operand exists too.
      replaced.set(node.id, { id: node.id, name: convNode.name, op: fusedOp, output: node.output });
    }
    if (removed.size === 0) break;
    current = withNodes(current, current.nodes.filter((n) => !removed.has(n.id)).map((n) => replaced.get(n.id) ?? n));
  }
  return current;
}
