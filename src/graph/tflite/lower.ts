// A canonical graph (batch norms folded into their convolutions, activations fused where TF Lite
// fuses them) as a float32 TF Lite model: each node through its op's rule (OpDef.tflite), the
// state it reads as constants, maps NHWC as ours. Inputs keep their names; outputs take the
// graph's output names. An op without a rule, or with a setting no builtin expresses, is an
// error naming the op and the layer; nothing is half-written (the caller writes the bytes only
// once the whole model is made).
import { shapeString } from '../../gpu/tensor.js';
import type { Graph, Value } from '../ir.js';
import { permuteAxes } from '../onnx/lower.js';
import { opDef } from '../ops/registry.js';
import type { HostParams } from '../params.js';
import type { TfliteEmitter } from './emitter.js';
import { type TfliteModelSpec, type TfliteTensorSpec, f32Bytes, i32Bytes } from './model.js';

export interface TfliteLowering {
  model: TfliteModelSpec;
  /** The graph value each tensor holds, where it holds one (inputs, node outputs): calibration reads them. */
  valueOf: Map<number, Value>;
}

/** The error refusing a graph: names the layer and the op, and what TF Lite export writes. */
export class TfliteRefusal extends Error {
  constructor(
    readonly layer: string,
    readonly opType: string,
    why: string,
  ) {
    super(`layer ${layer}: op '${opType}' ${why}`);
    this.name = 'TfliteRefusal';
  }
}

/** Which ops have a TF Lite rule, for the error naming one that has none. */
function exportableOps(graph: Graph): string {
  return [...new Set(graph.nodes.filter((n) => opDef(n.op).tflite).map((n) => n.op.type))].join(', ');
}


export function lowerToTflite(graph: Graph, params: HostParams, description: string): TfliteLowering {
  const tensors: TfliteTensorSpec[] = [];
  const model: TfliteModelSpec = { tensors, operators: [], inputs: [], outputs: [], description };
  const valueOf = new Map<number, Value>();
  const tensorOf = new Map<number, number>();
  const weights = new Map<string, number>();
  const constants = new Map<string, number>();
  const names = new Set<string>();
  let layer = 'inputs';
  const unique = (hint: string): string => {
    let n = hint;
    for (let k = 2; names.has(n); k++) n = `${hint}_${k}`;
    names.add(n);
    return n;
  };
  const add = (t: TfliteTensorSpec, reserved = false): number => tensors.push({ ...t, name: reserved ? t.name : unique(t.name) }) - 1;
  const checkMap = (v: Value, what: string): void => {
    if (v.shape.length !== 4 || v.dtype !== 'f32') throw new Error(`${what} ${v.name} is ${v.dtype} ${shapeString(v.shape)}: TF Lite export writes f32 NHWC maps in and out`);
  };

  const g: TfliteEmitter = {
    tensor(v) {
      if (v.kind === 'state') return g.weight(v);
      const t = tensorOf.get(v.id);
      if (t === undefined) throw new Error(`${v.name} is read before it is computed`);
      return t;
    },
    weight(v, perm, shape) {
      const key = `${v.name}|${perm?.join(',') ?? ''}|${shape?.join(',') ?? ''}`;
      const known = weights.get(key);
      if (known !== undefined) return known;
      const p = params.get(v.name);
      if (!p) throw new Error(`no weights for ${v.name}`);
      if (shapeString(p.shape) !== shapeString(v.shape)) throw new Error(`weights ${v.name} are ${shapeString(p.shape)}, the graph declares ${shapeString(v.shape)}`);
      const { dims, data } = perm ? permuteAxes(p.data, p.shape, perm) : { dims: [...p.shape], data: p.data };
      const t = add({ name: v.name, shape: shape ? [...shape] : dims, type: 'FLOAT32', data: f32Bytes(data) });
      weights.set(key, t);
      return t;
    },
    values(v) {
      const p = params.get(v.name);
      if (!p) throw new Error(`no weights for ${v.name}`);
      return p.data;
    },
    constant(hint, type, shape, data) {
      const key = `${type}|${shape.join(',')}|${data.join(',')}`;
      const known = constants.get(key);
      if (known !== undefined) return known;
      const bytes = type === 'FLOAT32' ? f32Bytes(Float32Array.from(data)) : i32Bytes(data);
      const t = add({ name: `${layer}/${hint}`, shape: [...shape], type, data: bytes });
      constants.set(key, t);
      return t;
    },
    intermediate(hint, shape) {
      return add({ name: `${layer}/${hint}`, shape: [...shape], type: 'FLOAT32' });
    },
    op(opcode, inputs, outputs, options) {
      model.operators.push({ opcode, inputs: [...inputs], outputs: [...outputs], options, layer });
    },
  };

  for (const v of graph.inputs) {
    checkMap(v, 'input');
    const t = add({ name: v.name, shape: [...v.shape], type: 'FLOAT32' });
    tensorOf.set(v.id, t);
    valueOf.set(t, v);
    model.inputs.push(t);
  }
  // A graph output's tensor takes its output's name, kept from every other tensor.
  const outputName = new Map<number, string>();
  for (const [key, v] of graph.outputs) {
    checkMap(v, 'output');
    if (!outputName.has(v.id)) outputName.set(v.id, unique(key));
  }

  for (const node of graph.nodes) {
    layer = node.name;
    const rule = opDef(node.op).tflite;
    if (!rule) throw new TfliteRefusal(node.name, node.op.type, `has no TF Lite builtin form (the ops TF Lite export writes, of those in this graph: ${exportableOps(graph) || 'none'})`);
    const outs = node.outputs.map((v, i) => {
      if (v.kind === 'state') throw new TfliteRefusal(node.name, node.op.type, `updates ${v.name} in place: TF Lite export writes inference graphs only`);
      if (v.dtype !== 'f32') throw new TfliteRefusal(node.name, node.op.type, `writes ${v.dtype}: TF Lite export takes the canonical f32 graph`);
      const reserved = outputName.get(v.id);
      const t = add({ name: reserved ?? (node.outputs.length > 1 ? `${node.name}:${i}` : node.name), shape: [...v.shape], type: 'FLOAT32' }, reserved !== undefined);
      valueOf.set(t, v);
      return t;
    });
    try {
      rule(node.op, outs, g);
    } catch (e) {
      if (e instanceof TfliteRefusal) throw e;
      throw new TfliteRefusal(node.name, node.op.type, (e as Error).message);
    }
    node.outputs.forEach((v, i) => tensorOf.set(v.id, outs[i]));
  }
  for (const v of graph.outputs.values()) {
    const t = tensorOf.get(v.id);
    if (t === undefined) throw new Error(`output ${v.name} is a state or input, not a computed map`);
    model.outputs.push(t);
  }
  return { model, valueOf };
}
