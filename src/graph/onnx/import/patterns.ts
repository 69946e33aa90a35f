// Rewrites of an ONNX node list before import, where exporters spell out as several nodes what is
// one op of ours: the exact GELU, x * 0.5 * (1 + Erf(x / sqrt 2)) (PyTorch before opset 20), SiLU,
// x * Sigmoid(x), and layer norm before opset 17 (ReduceMean, Sub, Pow 2, ReduceMean, Add eps,
// Sqrt, Div, Mul by its weight, Add its bias). The rewritten node takes the name of the node whose output it makes, so
// our activation is fused into the conv before it as the file's would not be.
import type { OnnxAttr, OnnxGraph, OnnxNode, OnnxTensor } from '../model.js';

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

  // Layer norm spelled out: from each Sqrt, back to the mean and forward to the affine.
  const consumers = (t: string) => graph.nodes.filter((n) => n.inputs.includes(t));
  const axesOf = (n: OnnxNode): number[] | undefined => {
    const a = n.attrs.get('axes');
    if (a?.kind === 'ints') return a.value;
    const t = n.inputs[1] ? consts.get(n.inputs[1]) : undefined;
    return t ? Array.from(t.data) : undefined;
  };
  for (const sqrt of graph.nodes) {
    if (sqrt.opType !== 'Sqrt') continue;
    const addEps = producer.get(sqrt.inputs[0]);
    const varMean = addEps?.opType === 'Add' ? producer.get(addEps.inputs[0]) : undefined;
    const eps = addEps ? scalar(addEps.inputs[1]) : undefined;
    const pow = varMean?.opType === 'ReduceMean' ? producer.get(varMean.inputs[0]) : undefined;
    const sub = pow?.opType === 'Pow' && scalar(pow.inputs[1]) === 2 ? producer.get(pow.inputs[0]) : undefined;
    const mean = sub?.opType === 'Sub' ? producer.get(sub.inputs[1]) : undefined;
    if (!addEps || !varMean || eps === undefined || !pow || !sub || !mean || mean.opType !== 'ReduceMean' || mean.inputs[0] !== sub.inputs[0]) continue;
    const axes = axesOf(mean);
    if (!axes || axesOf(varMean)?.join() !== axes.join() || !axes.every((a) => a < 0)) continue;
    const div = consumers(sqrt.outputs[0]).find((n) => n.opType === 'Div' && n.inputs[0] === sub.outputs[0]);
    const mul = div && consumers(div.outputs[0]).find((n) => n.opType === 'Mul' && consts.has(n.inputs[1]));
    const add = mul && consumers(mul.outputs[0]).find((n) => n.opType === 'Add' && consts.has(n.inputs[1]));
    if (!div || !mul || !add) continue;
    const chain = [mean, sub, pow, varMean, addEps, sqrt, div, mul];
    if (uses.get(sub.outputs[0]) !== 2 || chain.some((n) => n !== sub && !n.outputs.every(internal))) continue;
    // Trailing axes only (negative): LayerNormalization normalises from its axis to the end.
    const axis = Math.min(...axes);
    if (axes.length !== -axis) continue;
    for (const n of chain) removed.add(n);
    replaced.set(add, {
      name: add.name,
      opType: 'LayerNormalization',
      domain: '',
      inputs: [mean.inputs[0], mul.inputs[1], add.inputs[1]],
      outputs: [add.outputs[0]],
      attrs: new Map<string, OnnxAttr>([['axis', { kind: 'int', value: axis }], ['epsilon', { kind: 'float', value: eps }]]),
    });
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
