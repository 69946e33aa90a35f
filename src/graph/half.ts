// The half-precision compile stage: what a program runs when asked for float16 (inference only,
// on adapters with `shader-f16`; a graph holding an op that runs only in f32, a q8 file's
// quantisation, is refused). It runs after folding and fusion (src/graph/compile.ts):
//  - every float activation of an op whose kernels have an f16 variant (OpDef.half: the
//    convolutions, pooling, resize, add / mul / activations, concat) is stored as f16 (about 3
//    decimal digits). The kernels widen what they read to f32 and compute in f32, except the
//    convolutions' register-tile GEMMs and depthwise tiles where tuning chose their
//    f16-accumulating variants (measured faster, and within their accuracy check:
//    src/kernels/precision.ts), which compute in f16;
//  - the weights such ops read get f16 copies as derived state, cast by the derive graph, so
//    they are made once and again only when parameters change (the f32 parameters stay);
//  - the f32 input is cast to f16 where first needed, ops without an f16 variant get f32
//    operands cast back, and every float output is cast back to f32 for the host; the layers
//    that write only outputs run in f32 (the final resize reads the small logits, cast).
// Half the activation memory and bandwidth; on GPUs that run f16 natively, faster loads.
import type { CompiledGraph } from './ir.js';
import type { Node, Value } from './ir.js';
import type { CastOp } from './ops/cast.js';
import { mapOperands, nodeInputs, opDef, refuseInferenceOnly } from './ops/registry.js';
import { deriveGraph, withNodes } from './passes.js';

export function toHalfPrecision(compiled: CompiledGraph): CompiledGraph {
  const { graph, derive } = compiled;
  refuseInferenceOnly(graph.nodes, 'compile: half precision');
  const ids = graph.ids;
  const nodes: Node[] = [];
  const deriveNodes: Node[] = [...derive.nodes];
  /** Original f32 activation -> the f16 value its producer now writes. */
  const retyped = new Map<number, Value>();
  /** Casts made so far, by source value id: one per value and direction. */
  const halves = new Map<number, Value>();
  const singles = new Map<number, Value>();

  const castNode = (name: string, input: Value, output: Value): Node => ({
    id: 0,
    name,
    op: { type: 'cast', input, attrs: { to: output.dtype as CastOp['attrs']['to'] } },
    outputs: [output],
  });
  const current = (v: Value): Value => retyped.get(v.id) ?? v;
  const toHalf = (v: Value): Value => {
    if (v.dtype !== 'f32') return v;
    const made = halves.get(v.id);
    if (made) return made;
    let h: Value;
    if (v.kind === 'state') {
      // A weight: an f16 copy computed with the folded weights, not in every pass.
      h = { id: ids.take(), shape: v.shape, dtype: 'f16', kind: 'state', role: 'derived', name: `${v.name}#f16` };
      deriveNodes.push(castNode(`${v.name}#to_f16`, v, h));
    } else {
      h = { id: ids.take(), shape: v.shape, dtype: 'f16', kind: 'activation', name: `${v.name}#f16` };
      nodes.push(castNode(`${v.name}#to_f16`, v, h));
    }
    halves.set(v.id, h);
    return h;
  };
  const toSingle = (v: Value): Value => {
    if (v.dtype !== 'f16') return v;
    const made = singles.get(v.id);
    if (made) return made;
    const s: Value = { id: ids.take(), shape: v.shape, dtype: 'f32', kind: 'activation', name: `${v.name}#f32` };
    nodes.push(castNode(`${v.name}#to_f32`, v, s));
    singles.set(v.id, s);
    return s;
  };

  // A layer whose outputs only leave the graph (the logits resized to the input's size) stays
  // f32: casting its smaller input beats writing a large f16 tensor and a large f32 copy.
  const read = new Set(graph.nodes.flatMap((n) => nodeInputs(n).map((v) => v.id)));
  const final = (n: Node): boolean => n.outputs.every((v) => !read.has(v.id));

  for (const node of graph.nodes) {
    const half = opDef(node.op).half === true && !final(node);
    const op = mapOperands(node.op, (v) => (half ? toHalf(current(v)) : toSingle(current(v))));
    const outputs = node.outputs.map((v) => {
      if (!half || v.dtype !== 'f32' || v.kind !== 'activation') return v;
      const h: Value = { ...v, id: ids.take(), dtype: 'f16' };
      retyped.set(v.id, h);
      return h;
    });
    nodes.push({ ...node, op, outputs });
  }
  const outputs = new Map<string, Value>();
  for (const [name, v] of graph.outputs) outputs.set(name, toSingle(current(v)));

  return { source: compiled.source, graph: { ...withNodes(graph, nodes), outputs }, derive: deriveGraph(ids, deriveNodes) };
}
