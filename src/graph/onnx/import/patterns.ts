// Rewrites of an ONNX node list before import, where exporters spell out as several nodes what is
// one op of ours: the exact GELU, x * 0.5 * (1 + Erf(x / sqrt 2)) (PyTorch before opset 20), and
// SiLU, x * Sigmoid(x). The rewritten node takes the name of the node whose output it makes, so
// our activation is fused into the conv before it as the file's would not be.
import type { OnnxGraph, OnnxNode, OnnxTensor } from '../model.js';

/** The constant values the pattern checks read: initializers and Constant nodes' value tensors. */
function constants(graph: OnnxGraph): Map<string, OnnxTensor> {
  const out = new Map(graph.initializers);
  for (const n of graph.nodes) {
    const value = n.attrs.get('value');
    if (n.opType === 'Constant' && value?.kind === 'tensor') out.set(n.outputs[0], value.value);
    const f = n.attrs.get('value_float');
    if (n.opType === 'Constant' && f?.kind === 'float') out.set(n.outputs[0], { name: n.outputs[0], dtype: 'float', dims: [], data: Float32Array.of(f.value) });
  }
  return out;
}

const close = (x: number, y: number): boolean => Math.abs(x - y) <= 1e-5 * Math.abs(y);

/** Rewrites GELU and SiLU spelled out into single Gelu and Silu nodes; other nodes are kept as they are. */
export function fusePatterns(graph: OnnxGraph, keep: ReadonlySet<string>): OnnxNode[] {
  const consts = constants(graph);
  const producer = new Map<string, OnnxNode>();
  const uses = new Map<string, number>();
  for (const n of graph.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  const scalar = (name: string): number | undefined => {
    const t = consts.get(name);
    return t && t.data.length === 1 ? t.data[0] : undefined;
  };
  /** The operand of a two-input node other than the constant `value`, or undefined. */
  const otherThan = (n: OnnxNode | undefined, opType: string, value: number): string | undefined => {
    if (!n || n.opType !== opType || n.inputs.length !== 2) return undefined;
    const [a, b] = n.inputs;
    const av = scalar(a);
    const bv = scalar(b);
    if (bv !== undefined && close(bv, value)) return a;
    if (opType !== 'Div' && opType !== 'Sub' && av !== undefined && close(av, value)) return b;
    return undefined;
  };
  /** An intermediate only the pattern reads (not a graph output). */
  const internal = (t: string): boolean => uses.get(t) === 1 && !keep.has(t);
  const removed = new Set<OnnxNode>();
  const replaced = new Map<OnnxNode, OnnxNode>();

  for (const erf of graph.nodes) {
    if (erf.opType !== 'Erf') continue;
    const scaled = producer.get(erf.inputs[0]);
    const x = otherThan(scaled, 'Div', Math.SQRT2) ?? otherThan(scaled, 'Mul', Math.SQRT1_2);
    const plusOne = [...graph.nodes].find((n) => n.opType === 'Add' && n.inputs.includes(erf.outputs[0]));
    if (!x || !scaled || !plusOne || otherThan(plusOne, 'Add', 1) !== erf.outputs[0]) continue;
    const t = plusOne.outputs[0];
    // x * (1 + erf) * 0.5, or (x * 0.5) * (1 + erf), or x * ((1 + erf) * 0.5).
    const consumers = graph.nodes.filter((n) => n.opType === 'Mul' && n.inputs.includes(t));
    if (consumers.length !== 1) continue;
    const mul = consumers[0];
    const other = mul.inputs[0] === t ? mul.inputs[1] : mul.inputs[0];
    let last: OnnxNode | undefined;
    let half: OnnxNode | undefined;
    if (other === x) {
      last = graph.nodes.find((n) => n.opType === 'Mul' && n.inputs.includes(mul.outputs[0]) && otherThan(n, 'Mul', 0.5) === mul.outputs[0]);
    } else if (otherThan(producer.get(other), 'Mul', 0.5) === x && internal(other)) {
      half = producer.get(other);
      last = mul;
    } else if (otherThan(mul, 'Mul', 0.5) === t) {
      last = graph.nodes.find((n) => n.opType === 'Mul' && n.inputs.includes(mul.outputs[0]) && n.inputs.includes(x));
    }
    if (!last) continue;
    const chain = [scaled, erf, plusOne, mul, ...(half ? [half] : []), last].filter((n, i, all) => all.indexOf(n) === i);
    if (chain.some((n) => n !== last && !n.outputs.every(internal))) continue;
    for (const n of chain) if (n !== last) removed.add(n);
    replaced.set(last, { name: last.name, opType: 'Gelu', domain: '', inputs: [x], outputs: [last.outputs[0]], attrs: new Map() });
  }

  for (const mul of graph.nodes) {
    if (mul.opType !== 'Mul' || replaced.has(mul) || removed.has(mul)) continue;
    const [a, b] = mul.inputs;
    const sig = [producer.get(a), producer.get(b)].find((n) => n?.opType === 'Sigmoid' && internal(n.outputs[0]) && (n.inputs[0] === a || n.inputs[0] === b));
    if (!sig || removed.has(sig)) continue;
    removed.add(sig);
    replaced.set(mul, { name: mul.name, opType: 'Silu', domain: '', inputs: [sig.inputs[0]], outputs: [mul.outputs[0]], attrs: new Map() });
  }
  return graph.nodes.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
}
