// A q8 file's quantisations, ours against onnxruntime's, one DynamicQuantizeLinear after another.
// Its quantised ops are exact (test/graph/onnx-import-quant.test.ts), but the float ops between
// them (layer norms, softmax, attention's products, GELU, resizes) are f32 arithmetic in another
// order than onnxruntime's: a few ULPs apart. Where one of onnxruntime's quotients x / scale lies
// within those ULPs of a halfway point between codes, ours can take the other code, and every
// layer after it then reads other values (a code is 1/255 of the tensor's range: the logits move
// by up to 1e-2). So the codes are compared in the file's order up to the first quantisation
// whose codes differ, which is accepted only where every differing code is explained: a flip
// between the two codes on either side of one of onnxruntime's quotients lying within 2^-10 of
// a half (f32 values computed in another order agree to about 1e-6, so their quotients, at most
// 255, to about 3e-4; a wrong rounding, scale or zero point moves codes far from halves).
import ort from 'onnxruntime-node';
import type { Graph, Value } from '../../src/graph/ir.js';
import { lowerToOnnx, nchwShape, onnxModelOf } from '../../src/graph/onnx/lower.js';
import type { OnnxValueInfo } from '../../src/graph/onnx/model.js';
import { ONNX_FLOAT, encodeModel } from '../../src/graph/onnx/proto.js';
import { writeOnnx } from '../../src/graph/onnx/write.js';
import type { HostParams } from '../../src/graph/params.js';
import { dynamicQuantizeCpu } from '../../src/kernels/quantize/dynamic-quantize.js';
import { runOnnx } from '../onnx-runtime.js';
import type { HubFile } from './hub-onnx-fixture.js';

const f32 = Math.fround;
/** How near a half a quotient lies for another f32 arithmetic to round it the other way. */
const NEAR_HALF = 2 ** -10;

export interface Quantised {
  /** The float values quantised. */
  x: Float32Array;
  /** Their uint8 codes. */
  codes: Float32Array;
  scale: number;
  zeroPoint: number;
}

/** Our side: every quantize_dynamic layer's input and outputs, as graph outputs named after the layer (the ONNX node); an input of the graph is not one. */
export function quantisedOutputs(graph: Graph): Map<string, Value> {
  const out = new Map<string, Value>();
  for (const n of graph.nodes) {
    if (n.op.type !== 'quantize_dynamic') continue;
    if (n.op.input.kind !== 'input') out.set(`x:${n.name}`, n.op.input);
    out.set(`codes:${n.name}`, n.outputs[0]);
    out.set(`scale:${n.name}`, n.outputs[1]);
    out.set(`zp:${n.name}`, n.outputs[2]);
  }
  return out;
}

/** Our program's outputs back as each layer's values and codes (the values plus the zero point); `image` is what a layer quantising the graph's input read. */
export function oursQuantised(outputs: ReadonlyMap<string, Float32Array | Uint32Array>, nodes: readonly string[], image: Float32Array): Map<string, Quantised> {
  return new Map(
    nodes.map((name) => {
      const zeroPoint = outputs.get(`zp:${name}`)![0];
      const x = (outputs.get(`x:${name}`) as Float32Array | undefined) ?? image;
      return [name, { x, codes: Float32Array.from(outputs.get(`codes:${name}`)!, (v) => v + zeroPoint), scale: outputs.get(`scale:${name}`)![0], zeroPoint }];
    }),
  );
}

/** The layers whose codes, scale or zero point are not the CPU reference's of the values they read (the GPU's quantisation on the network's own values). */
export function unlikeReference(ours: ReadonlyMap<string, Quantised>): string[] {
  return [...ours].flatMap(([name, o]) => {
    const want = dynamicQuantizeCpu(o.x);
    const same = want.scale === o.scale && want.zeroPoint === o.zeroPoint && want.values.every((v, i) => v + want.zeroPoint === o.codes[i]);
    return same ? [] : [name];
  });
}

export interface OrtTrace {
  /** The file's output (NCHW). */
  logits: Float32Array;
  /** Each DynamicQuantizeLinear's float input (ONNX's order) and outputs, by node name, in the file's order. */
  steps: Map<string, Quantised>;
}

/** onnxruntime (optimisations off, one thread: the fixtures' settings) on the file with every DynamicQuantizeLinear's input and outputs made outputs. */
export async function ortTrace(f: HubFile, input: Float32Array): Promise<OrtTrace> {
  const g = f.model.graph;
  const inputName = g.inputs[0].name;
  const dqls = g.nodes.filter((n) => n.opType === 'DynamicQuantizeLinear');
  const extra = new Map<string, OnnxValueInfo>();
  const add = (name: string, dtype: 'float' | 'uint8') => name !== inputName && extra.set(name, { name, dtype, dims: null });
  for (const n of dqls) [add(n.inputs[0], 'float'), add(n.outputs[0], 'uint8'), add(n.outputs[1], 'float'), add(n.outputs[2], 'uint8')];
  const bytes = writeOnnx(f.model, { outputs: [...g.outputs, ...extra.values()] });
  const out = await runOnnx(bytes, { [inputName]: { dims: [1, 3, 64, 64], data: input } }, { exact: true });
  const get = (name: string) => (name === inputName ? input : out.get(name)!.data);
  const steps = new Map(dqls.map((n) => [n.name, { x: get(n.inputs[0]), codes: get(n.outputs[0]), scale: get(n.outputs[1])[0], zeroPoint: get(n.outputs[2])[0] }]));
  return { logits: out.get(g.outputs[0].name)!.data, steps };
}

/** ONNX's uint8 element type. */
const ONNX_UINT8 = 2;

/**
 * The CPU device's quantisations (src/model/devices/cpu/model-cpu.ts): `graph` (the network, NHWC
 * image in) lowered as the device lowers it and run by onnxruntime-node with the device's session
 * options (every graph optimisation), every DynamicQuantizeLinear's input and outputs made outputs
 * too; by layer name (the node's), in the graph's order, as firstFlip takes onnxruntime's steps.
 */
export async function cpuDeviceTrace(graph: Graph, params: HostParams, image: Float32Array): Promise<OrtTrace['steps']> {
  const proto = lowerToOnnx(graph, params, 'q8 trace', 'nhwc');
  const dqls = proto.node.filter((n) => n.op_type === 'DynamicQuantizeLinear');
  const info = (name: string, elem_type: number, dims: readonly number[]) => ({ name, type: { tensor_type: { elem_type, shape: { dim: dims.map((dim_value) => ({ dim_value })) } } } });
  for (const n of dqls) {
    const layer = graph.nodes.find((g) => g.name === n.name);
    if (layer?.op.type !== 'quantize_dynamic') throw new Error(`DynamicQuantizeLinear '${n.name}' is no quantize_dynamic layer`);
    // Maps are NCHW in the ONNX graph; the scale and zero point, scalars.
    const s = layer.op.input.shape;
    const dims = s.length === 4 ? nchwShape(s) : s;
    proto.output.push(info(n.input[0], ONNX_FLOAT, dims), info(n.output[0], ONNX_UINT8, dims), info(n.output[1], ONNX_FLOAT, []), info(n.output[2], ONNX_UINT8, []));
  }
  const session = await ort.InferenceSession.create(encodeModel(onnxModelOf(proto)), { graphOptimizationLevel: 'all' });
  try {
    const [input] = graph.inputs;
    const out = await session.run({ [input.name]: new ort.Tensor('float32', image, [...input.shape]) });
    const get = (name: string) => Float32Array.from(out[name].data as ArrayLike<number>);
    return new Map(dqls.map((n) => [n.name, { x: get(n.input[0]), codes: get(n.output[0]), scale: get(n.output[1])[0], zeroPoint: get(n.output[2])[0] }]));
  } finally {
    await session.release();
  }
}

export interface Flip {
  node: string;
  /** Codes that moved, of how many. */
  flipped: number;
  of: number;
  /** Every move is between the codes on either side of one of onnxruntime's quotients within NEAR_HALF of a half. */
  explained: boolean;
  detail: string;
}

const histogram = (codes: ArrayLike<number>): Int32Array => {
  const h = new Int32Array(256);
  for (let i = 0; i < codes.length; i++) h[codes[i]]++;
  return h;
};

/** The first quantisation, in the file's order, whose codes differ from onnxruntime's (as multisets: layouts differ), or null. */
export function firstFlip(theirs: OrtTrace['steps'], ours: ReadonlyMap<string, Quantised>): Flip | null {
  for (const [node, t] of theirs) {
    const o = ours.get(node);
    if (!o) throw new Error(`no quantize_dynamic layer '${node}' in our graph`);
    const of = t.codes.length;
    // The same values (as multisets: layouts differ) quantise to the same codes: nothing to explain.
    const sorted = (x: Float32Array) => Float32Array.from(x).sort();
    const [mine, its] = [sorted(o.x), sorted(t.x)];
    const sameInput = mine.length === its.length && mine.every((v, i) => Object.is(v, its[i]));
    const quotient = (x: number) => f32(x / t.scale);
    const halfway = (q: number) => Math.abs(q - Math.floor(q) - 0.5);
    if (o.zeroPoint !== t.zeroPoint) {
      const lo = t.x.reduce((m, v) => Math.min(m, v), 0);
      const near = halfway(f32(0 - quotient(lo)));
      return { node, flipped: of, of, explained: !sameInput && near <= NEAR_HALF, detail: `zero point ${o.zeroPoint}, onnxruntime's ${t.zeroPoint} (its -min / scale ${near.toExponential(1)} from a half)${sameInput ? ', of the same values' : ''}` };
    }
    if (Math.abs(o.scale - t.scale) > 1e-5 * t.scale) return { node, flipped: of, of, explained: false, detail: `scale ${o.scale}, onnxruntime's ${t.scale}` };
    const theirCounts = histogram(t.codes);
    const d = histogram(o.codes).map((v, c) => v - theirCounts[c]);
    if (d.every((v) => v === 0)) continue;
    const allowed = new Set<number>();
    let near = 0;
    let nearest = Infinity;
    for (const x of t.x) {
      const q = quotient(x);
      nearest = Math.min(nearest, halfway(q));
      if (halfway(q) > NEAR_HALF) continue;
      near++;
      const below = Math.floor(q) + t.zeroPoint;
      allowed.add(below).add(below + 1);
    }
    const flipped = d.reduce((s, v) => s + Math.max(v, 0), 0);
    const explained = !sameInput && flipped <= near && d.every((v, c) => v === 0 || allowed.has(c));
    const what = sameInput ? 'the same values as onnxruntime quantised' : 'values onnxruntime computed otherwise';
    return { node, flipped, of, explained, detail: `${flipped} of ${of} codes moved, of ${what}; ${near} of onnxruntime's quotients lie within 2^-10 of a half, the nearest ${nearest.toExponential(1)} from it` };
  }
  return null;
}
