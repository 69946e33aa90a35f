// Graph rewrites of the compile stage (src/graph/compile.ts). Each takes a graph and returns a
// new one computing the same outputs; the CPU interpreter checks that numbers do not change.
//  - foldBatchNorms: conv -> BN becomes one conv reading BN-folded weights. The folded weight
//    and bias are derived state computed by fold_bn nodes, returned as a separate list, which
//    the runtime runs again whenever parameters change (inference only: training keeps BN).
//  - fuseEpilogues: a residual add and/or activation that follows a conv moves into the conv's
//    write-out (one pass over memory instead of three); an activation after a batch norm, add or
//    mul moves into that op. `activationsOnly` fuses activations alone (what `describe` shows).
// Fused nodes reuse the consumer's output Value, so nothing downstream changes.
import type { Graph, IdAllocator, Node, NodeOp, Value } from './ir.js';
import { nodeInputs } from './ops/registry.js';

/** How many nodes read each value, plus one for each graph output naming it. */
function useCounts(graph: Graph): Map<number, number> {
  const uses = new Map<number, number>();
  const bump = (v: Value): void => void uses.set(v.id, (uses.get(v.id) ?? 0) + 1);
  for (const n of graph.nodes) for (const v of nodeInputs(n)) bump(v);
  for (const v of graph.outputs.values()) bump(v);
  return uses;
}

function producers(graph: Graph): Map<number, Node> {
  const map = new Map<number, Node>();
  for (const n of graph.nodes) for (const v of n.outputs) map.set(v.id, n);
  return map;
}

/** The state values a node list reads or writes, in first-use order. */
export function stateOf(nodes: readonly Node[]): Value[] {
  const state = new Map<number, Value>();
  for (const n of nodes) for (const v of [...nodeInputs(n), ...n.outputs]) if (v.kind === 'state') state.set(v.id, v);
  return [...state.values()];
}

/** The graph with another node list (renumbered), keeping only the state some node still uses. */
export function withNodes(graph: Graph, nodes: readonly Node[]): Graph {
  return { ...graph, state: stateOf(nodes), nodes: nodes.map((n, id) => ({ ...n, id })) };
}

/**
 * A derive graph: nodes that compute derived state (folded weights, their f16 copies) from
 * parameters, renumbered, every value they write an output.
 */
export function deriveGraph(ids: IdAllocator, nodes: readonly Node[]): Graph {
  const numbered = nodes.map((n, id) => ({ ...n, id }));
  const outputs = new Map(numbered.flatMap((n) => n.outputs.map((v) => [v.name, v] as const)));
  return { inputs: [], state: stateOf(numbered), nodes: numbered, outputs, ids };
}

export interface FoldedGraph {
  graph: Graph;
  /** fold_bn nodes writing the derived (folded) weights the graph reads. */
  derive: Node[];
}

export function foldBatchNorms(graph: Graph): FoldedGraph {
  const uses = useCounts(graph);
  const producer = producers(graph);
  const derive: Node[] = [];
  const removed = new Set<number>(); // conv node ids folded away
  const replaced = new Map<number, Node>(); // BN node id -> fused conv node
  for (const bnNode of graph.nodes) {
    const op = bnNode.op;
    if (op.type !== 'batchnorm') continue;
    const convNode = producer.get(op.input.id);
    if (!convNode || convNode.op.type !== 'conv2d') continue;
    const conv = convNode.op;
    if (conv.attrs.activation !== 'none' || conv.residual || conv.scale || uses.get(op.input.id) !== 1) continue;
    // Names depend only on the layer, so every input size of one network shares the folded tensors.
    const derived = (suffix: string, shape: readonly number[]): Value => ({
      id: graph.ids.take(),
      shape: [...shape],
      dtype: 'f32',
      kind: 'state',
      role: 'derived',
      name: `${convNode.name}#bn_folded.${suffix}`,
    });
    const weight = derived('weight', conv.weight.shape);
    const bias = derived('bias', [conv.weight.shape[3]]);
    derive.push({
      id: derive.length,
      name: `${convNode.name}#bn_fold`,
      op: { type: 'fold_bn', weight: conv.weight, bias: conv.bias, gamma: op.gamma, beta: op.beta, mean: op.mean, variance: op.variance, attrs: { eps: op.attrs.eps } },
      outputs: [weight, bias],
    });
    const fusedOp: NodeOp = { ...conv, weight, bias, attrs: { ...conv.attrs, activation: op.attrs.activation } };
    removed.add(convNode.id);
    replaced.set(bnNode.id, { id: bnNode.id, name: convNode.name, op: fusedOp, outputs: bnNode.outputs });
  }
  const nodes = graph.nodes.filter((n) => !removed.has(n.id)).map((n) => replaced.get(n.id) ?? n);
  return { graph: withNodes(graph, nodes), derive };
}

/** Moves residual adds and activations into the op that produces their operand. */
export function fuseEpilogues(graph: Graph, opts: { activationsOnly?: boolean } = {}): Graph {
  let current = graph;
  // Each sweep fuses one level (conv+add, then conv(add)+activation); three sweeps suffice.
  for (let sweep = 0; sweep < 3; sweep++) {
    const uses = useCounts(current);
    const producer = producers(current);
    const removed = new Set<number>();
    const replaced = new Map<number, Node>();
    // The producer of `v` if it may absorb an epilogue: read only here, and neither fused away
    // nor itself rewritten in this sweep (the next sweep sees the rewritten node).
    const fusable = (v: Value): Node | undefined => {
      const p = producer.get(v.id);
      return p && !removed.has(p.id) && !replaced.has(p.id) && uses.get(v.id) === 1 && p.outputs.length === 1 ? p : undefined;
    };
    for (const node of current.nodes) {
      const op = node.op;
      let target: Node | undefined;
      let fusedOp: NodeOp | undefined;
      if (op.type === 'add' && !opts.activationsOnly) {
        for (const [mine, other] of [
          [op.a, op.b],
          [op.b, op.a],
        ] as const) {
          const p = fusable(mine);
          if (!p || p.op.type !== 'conv2d' || p.op.residual || p.op.attrs.activation !== 'none') continue;
          target = p;
          fusedOp = { ...p.op, residual: other, attrs: { ...p.op.attrs, activation: op.attrs.activation } };
          break;
        }
      } else if (op.type === 'activation') {
        const p = fusable(op.input);
        const t = p?.op.type;
        if (p && (t === 'conv2d' || t === 'batchnorm' || t === 'add' || t === 'mul') && 'attrs' in p.op && 'activation' in p.op.attrs && p.op.attrs.activation === 'none') {
          target = p;
          fusedOp = { ...p.op, attrs: { ...p.op.attrs, activation: op.attrs.activation } } as NodeOp;
        }
      }
      if (!target || !fusedOp) continue;
      removed.add(target.id);
      // The fused op runs where the consumer ran: by then a residual operand exists too.
      replaced.set(node.id, { id: node.id, name: target.name, op: fusedOp, outputs: node.outputs });
    }
    if (removed.size === 0) break;
    current = withNodes(current, current.nodes.filter((n) => !removed.has(n.id)).map((n) => replaced.get(n.id) ?? n));
  }
  return current;
}
