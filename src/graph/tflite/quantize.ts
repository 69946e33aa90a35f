// Full-integer int8 post-training quantization of a float32 TF Lite model, as TF Lite's
// quantization specification states it: weights int8 symmetric per output channel (CONV_2D's axis
// 0, DEPTHWISE_CONV_2D's axis 3), biases int32 at input scale x weight scale, activations int8
// asymmetric per tensor from calibrated ranges; the ops that must keep their input's scale
// (CONCATENATION, RESIZE_BILINEAR, pools, PAD, SLICE, RESHAPE) share one range over all their
// tensors; LOGISTIC, SOFTMAX and TANH outputs take the fixed scales the kernels require. Float
// input and output with QUANTIZE / DEQUANTIZE at the edges, or (int8Io) a uint8 input and an
// int8 output. A tensor without a range, or an op without an int8 kernel, is refused by layer.
import { type TfliteModelSpec, type TfliteQuantization, type TfliteTensorSpec, f32Of, i32Bytes, pruneTensors } from './model.js';

/** The ops whose int8 kernels take what this pass writes. */
const INT8_OPS = new Set([
  'CONV_2D', 'DEPTHWISE_CONV_2D', 'ADD', 'MUL', 'MEAN', 'AVERAGE_POOL_2D', 'MAX_POOL_2D', 'RESIZE_BILINEAR', 'CONCATENATION',
  'PAD', 'PADV2', 'SLICE', 'RESHAPE', 'SOFTMAX', 'LOGISTIC', 'TANH', 'HARD_SWISH', 'RELU', 'RELU6', 'ARG_MAX',
]);
/** Ops whose output must have their (first) input's scale and zero point: every operand tensor listed. */
const SAME_SCALE = new Set(['CONCATENATION', 'RESIZE_BILINEAR', 'AVERAGE_POOL_2D', 'MAX_POOL_2D', 'PAD', 'PADV2', 'SLICE', 'RESHAPE']);
/** Outputs whose scale and zero point the int8 kernels fix. */
const FIXED: Record<string, TfliteQuantization> = {
  LOGISTIC: { scale: [1 / 256], zeroPoint: [-128] },
  SOFTMAX: { scale: [1 / 256], zeroPoint: [-128] },
  TANH: { scale: [1 / 128], zeroPoint: [0] },
};

export interface Int8Edges {
  /** uint8 input and int8 output (for accelerators) instead of float32 at both edges. */
  int8Io: boolean;
  /** The input's quantization where the caller knows it (the pixels' own: scale 1/std, zero point the mean); else from its range. */
  input?: { scale: number; zeroPoint: number };
}

/** int8 asymmetric parameters covering [lo, hi] (and 0, which must be exact). */
export function int8Params(lo: number, hi: number): { scale: number; zeroPoint: number } {
  const min = Math.min(lo, 0);
  const max = Math.max(hi, 0);
  const scale = max > min ? (max - min) / 255 : 1;
  // `+ 0` makes a rounded -0 a plain 0.
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - min / scale))) + 0;
  return { scale, zeroPoint };
}

/** Union-find over tensor indices: the tensors that must share one scale. */
function sharedScales(m: TfliteModelSpec): (t: number) => number {
  const parent = m.tensors.map((_, i) => i);
  const find = (t: number): number => (parent[t] === t ? t : (parent[t] = find(parent[t])));
  for (const op of m.operators) {
    if (!SAME_SCALE.has(op.opcode)) continue;
    const maps = op.opcode === 'CONCATENATION' ? op.inputs : [op.inputs[0]];
    for (const t of [...maps, ...op.outputs]) parent[find(t)] = find(op.outputs[0]);
  }
  return find;
}

function int8Data(values: Float32Array, scales: number[], zeroPoint: number, axis: number | undefined, shape: readonly number[]): Uint8Array {
  const out = new Int8Array(values.length);
  const inner = axis === undefined ? values.length : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channels = axis === undefined ? 1 : shape[axis];
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / inner) % channels;
    out[i] = Math.max(-128, Math.min(127, Math.round(values[i] / scales[c]) + zeroPoint));
  }
  return new Uint8Array(out.buffer);
}

/** Per-channel symmetric int8 weights along `axis`. */
function quantizeWeight(t: TfliteTensorSpec, axis: number): TfliteTensorSpec {
  const values = f32Of(t);
  const channels = t.shape[axis];
  const inner = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const peak = new Array<number>(channels).fill(0);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / inner) % channels;
    peak[c] = Math.max(peak[c], Math.abs(values[i]));
  }
  const scale = peak.map((p) => (p > 0 ? p / 127 : 1));
  return { ...t, type: 'INT8', data: int8Data(values, scale, 0, axis, t.shape), quantization: { scale, zeroPoint: scale.map(() => 0), axis } };
}

/**
 * Rewrites `m` (float32, as lowerToTflite made it) in place as a full-integer model. `ranges`
 * holds each activation tensor's calibrated [min, max] (by tensor index).
 */
export function quantizeInt8(m: TfliteModelSpec, ranges: ReadonlyMap<number, [number, number]>, edges: Int8Edges): void {
  for (const op of m.operators) if (!INT8_OPS.has(op.opcode)) throw new Error(`int8: layer ${op.layer}: ${op.opcode} has no int8 form this export writes`);
  const group = sharedScales(m);
  const groupRange = new Map<number, [number, number]>();
  for (const [t, [lo, hi]] of ranges) {
    const g = group(t);
    const r = groupRange.get(g);
    groupRange.set(g, r ? [Math.min(r[0], lo), Math.max(r[1], hi)] : [lo, hi]);
  }
  const fixed = new Map<number, TfliteQuantization>();
  for (const op of m.operators) if (FIXED[op.opcode]) fixed.set(group(op.outputs[0]), FIXED[op.opcode]);
  const [input] = m.inputs;
  if (edges.input) fixed.set(group(input), { scale: [edges.input.scale], zeroPoint: [edges.input.zeroPoint - 128] });

  const writer = new Map(m.operators.flatMap((op) => op.outputs.map((o) => [o, op] as const)));
  const activation = (t: number): TfliteQuantization => {
    const forced = fixed.get(group(t));
    if (forced) return forced;
    const r = groupRange.get(group(t));
    if (!r) throw new Error(`int8: layer ${writer.get(t)?.layer ?? 'inputs'}: tensor ${m.tensors[t].name} has no calibrated range (a value computed inside one of our layers)`);
    const { scale, zeroPoint } = int8Params(r[0], r[1]);
    return { scale: [scale], zeroPoint: [zeroPoint] };
  };

  const tensors = m.tensors;
  const quantized = new Set<number>();
  // Activations first: biases need their input's scale.
  for (const [i, t] of tensors.entries()) {
    if (t.type === 'FLOAT32' && !t.data) {
      tensors[i] = { ...t, type: 'INT8', quantization: activation(i) };
      quantized.add(i);
    }
  }
  for (const op of m.operators) {
    const conv = op.opcode === 'CONV_2D' || op.opcode === 'DEPTHWISE_CONV_2D';
    for (const [k, t] of op.inputs.entries()) {
      const spec = tensors[t];
      if (quantized.has(t) || spec.type !== 'FLOAT32' || !spec.data) continue;
      if (conv && k === 1) tensors[t] = quantizeWeight(spec, op.opcode === 'CONV_2D' ? 0 : 3);
      else if (conv && k === 2) continue; // after its weight, below
      else if (op.opcode === 'PADV2') {
        // A max pool's padding: the lowest value the input's int8 holds.
        const q = tensors[op.inputs[0]].quantization!;
        tensors[t] = { ...spec, type: 'INT8', data: new Uint8Array(Int8Array.of(-128).buffer), quantization: q };
      } else {
        // A constant operand (a scale, a shift, a pad value): int8 per tensor over its own values.
        const values = f32Of(spec);
        const { scale, zeroPoint } = int8Params(Math.min(...values), Math.max(...values));
        tensors[t] = { ...spec, type: 'INT8', data: int8Data(values, [scale], zeroPoint, undefined, spec.shape), quantization: { scale: [scale], zeroPoint: [zeroPoint] } };
      }
      quantized.add(t);
    }
    if (conv) {
      // The bias at input scale x weight scale, channel by channel; a bias two convolutions share is copied for each.
      const bias = tensors[op.inputs[2]];
      const values = f32Of(bias);
      const inScale = tensors[op.inputs[0]].quantization!.scale[0];
      const scale = tensors[op.inputs[1]].quantization!.scale.map((s) => s * inScale);
      const ints = Array.from(values, (v, c) => Math.round(v / scale[c]));
      op.inputs[2] = tensors.push({ name: bias.name, shape: [...bias.shape], type: 'INT32', data: i32Bytes(ints), quantization: { scale, zeroPoint: scale.map(() => 0), axis: 0 } }) - 1;
    }
  }

  // The edges: float32 (or uint8) in through QUANTIZE, float32 out through DEQUANTIZE (or int8 as it is).
  const inner = tensors[input];
  const outer: TfliteTensorSpec = { name: inner.name, shape: [...inner.shape], type: 'FLOAT32' };
  if (edges.int8Io) {
    const q = inner.quantization!;
    outer.type = 'UINT8';
    outer.quantization = { scale: q.scale, zeroPoint: [q.zeroPoint[0] + 128] };
  }
  inner.name = `${inner.name}/int8`;
  const outerIndex = tensors.push(outer) - 1;
  m.operators.unshift({ opcode: 'QUANTIZE', inputs: [outerIndex], outputs: [input], layer: 'inputs' });
  m.inputs = [outerIndex];
  if (!edges.int8Io) {
    m.outputs = m.outputs.map((o) => {
      const out = tensors[o];
      const float = tensors.push({ name: out.name, shape: [...out.shape], type: 'FLOAT32' }) - 1;
      out.name = `${out.name}/int8`;
      m.operators.push({ opcode: 'DEQUANTIZE', inputs: [o], outputs: [float], layer: 'outputs' });
      return float;
    });
  }
  pruneTensors(m);
}
