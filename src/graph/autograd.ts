// Reverse-mode differentiation of a canonical graph, as a table of per-op rules (each op's
// definition in src/graph/ops/ holds its `grad`), not a second engine: the backward pass is
// more nodes in the same graph, so one program runs forward and backward and the memory planner
// sees both.
//
// Only what is needed is built: a value gets a gradient only if it depends on something being
// differentiated, and a rule is only asked for the operands that need one. A value read by
// several nodes gets the sum of their contributions (add nodes).
import { GraphBuilder } from './builder.js';
import type { Graph, NodeOp, Value } from './ir.js';
import { opDef, opInputs, refuseInferenceOnly } from './ops/registry.js';

export interface Differentiated {
  /** The graph extended with the backward nodes. */
  graph: Graph;
  /** Gradient of each requested value (by id); values nothing flows to are absent. */
  grads: Map<number, Value>;
}

/**
 * Extends `graph` with the gradients of `wrt` values, starting from `seeds`: for each seeded
 * value, the gradient of the objective with respect to it (for a softmax cross-entropy, the
 * gradient of the logits it produces itself).
 */
export function differentiate(graph: Graph, seeds: ReadonlyMap<Value, Value>, wrt: readonly Value[]): Differentiated {
  // Values that depend on something differentiated: only they carry gradients.
  const depends = new Set<number>(wrt.map((v) => v.id));
  for (const n of graph.nodes) {
    if (opInputs(n.op).some((v) => depends.has(v.id))) for (const v of n.outputs) if (v.kind !== 'state') depends.add(v.id);
  }
  refuseInferenceOnly(graph.nodes.filter((n) => opInputs(n.op).some((v) => depends.has(v.id))), 'differentiate');
  const b = GraphBuilder.extend(graph);
  const grads = new Map<number, Value>();
  const contributions = new Map<number, number>();
  const add = (v: Value, g: Value, layer: string): void => {
    const prev = grads.get(v.id);
    if (!prev) {
      grads.set(v.id, g);
      return;
    }
    const k = (contributions.get(v.id) ?? 1) + 1;
    contributions.set(v.id, k);
    grads.set(v.id, b.addValues(`${layer}:grad_sum${k}(${v.name})`, prev, g));
  };
  for (const [v, g] of seeds) {
    if (!depends.has(v.id)) throw new Error(`differentiate: the seeded value ${v.name} depends on nothing being differentiated`);
    add(v, g, 'seed');
  }
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    const dOutputs = node.outputs.map((v) => grads.get(v.id));
    if (dOutputs.every((g) => g === undefined)) continue;
    const operands = opInputs(node.op).filter((v) => depends.has(v.id));
    if (operands.length === 0) continue;
    const def = opDef(node.op);
    if (!def.grad) throw new Error(`differentiate: layer ${node.name}: no gradient rule for op '${node.op.type}'`);
    let emitted = 0;
    const result = def.grad(node.op, node.outputs, dOutputs, {
      emit: (suffix, op) => b.node(`${node.name}:grad${suffix ? `_${suffix}` : ''}${emitted++ ? `#${emitted}` : ''}`, op as unknown as NodeOp),
      needs: (v) => depends.has(v.id),
    });
    const fields = node.op as unknown as Record<string, Value | Value[] | undefined>;
    for (const [role, g] of Object.entries(result)) {
      const operand = fields[role];
      if (Array.isArray(operand)) {
        const list = g as (Value | undefined)[];
        operand.forEach((v, k) => {
          if (list[k] && depends.has(v.id)) add(v, list[k]!, node.name);
        });
      } else if (operand && g && depends.has(operand.id)) {
        add(operand, g as Value, node.name);
      }
    }
  }
  const wanted = new Map<number, Value>();
  for (const v of wrt) {
    const g = grads.get(v.id);
    if (g) wanted.set(v.id, g);
  }
  return { graph: b.build(), grads: wanted };
}
