// Dropout as standard ONNX operators, with the mask the kernel draws (src/kernels/elementwise/
// dropout.ts): each element keyed by its index (or image and channel), hashed with the per-step
// u32 seed by the kernel's 32-bit mixer. Opset 17 has no bitwise operators (opset 18 does), so
// the u32 arithmetic runs in int64: a shift is a division by a power of two, a product modulo
// 2^32 is two products of 16-bit halves, and an exclusive or is a look-up in a 256 x 256 table,
// a byte at a time. The mask is computed once per graph for the forward pass and its gradient.
import type { DropoutParams } from '../../../kernels/elementwise/dropout.js';
import { mix32 } from '../../../kernels/elementwise/dropout.js';
import type { Value } from '../../value.js';
import type { OnnxEmitter } from '../emitter.js';
import { type OnnxSteps, onnxSteps } from './steps.js';

const BYTE_PLACES = [1, 256, 65536, 16777216];

/** a XOR b of int64 tensors holding u32 values (broadcasting), a byte at a time through the table. */
function xor32(g: OnnxEmitter, s: OnnxSteps, a: string, b: string): string {
  const table = g.shared('xor-table', () => g.constant('xor_table', 'int64', [65536], Array.from({ length: 65536 }, (_, i) => (i >> 8) ^ (i & 255))));
  const places = s.ints(BYTE_PLACES);
  const bytes = (t: string): string => s.op('Mod', [s.op('Div', [s.op('Unsqueeze', [t, s.ints([-1])]), places]), s.ints([256])]);
  const index = s.op('Add', [s.op('Mul', [bytes(a), s.ints([256])]), bytes(b)]);
  return s.sum(s.op('Mul', [s.op('Gather', [table, index]), places]), [-1], false);
}

/** a * c modulo 2^32 for a u32 constant c: the product of c's 16-bit halves, each within int64. */
function mulMod32(s: OnnxSteps, a: string, c: number): string {
  const [lo, hi] = [c & 0xffff, c >>> 16];
  const low = s.op('Mul', [a, s.ints([lo])]);
  const high = s.op('Mul', [s.op('Mod', [s.op('Mul', [a, s.ints([hi])]), s.ints([65536])]), s.ints([65536])]);
  return s.op('Mod', [s.op('Add', [low, high]), s.ints([2 ** 32])]);
}

/** The kernel's mixer (mix32) on an int64 tensor of u32 values. */
function mix32Onnx(g: OnnxEmitter, s: OnnxSteps, v: string): string {
  const shiftXor = (h: string, bits: number): string => xor32(g, s, h, s.op('Div', [h, s.ints([2 ** bits])]));
  let h = shiftXor(v, 16);
  h = mulMod32(s, h, 0x7feb352d);
  h = shiftXor(h, 15);
  h = mulMod32(s, h, 0x846ca68b);
  return shiftXor(h, 16);
}

/**
 * The keep mask times 1 / (1 - p) of a dropout on `input` (0 where dropped), in the layout
 * `layout` of the input's ONNX tensor: [N,C,H,W], or [N,C,1,1] per image and channel.
 */
function dropoutScale(g: OnnxEmitter, input: Value, seed: Value, d: DropoutParams, layout: readonly number[]): string {
  const key = `dropout|${seed.id}|${d.salt}|${d.p}|${d.channelwise ? 'c' : 'e'}|${input.shape.join('x')}|${layout.join('')}`;
  return g.shared(key, () => {
    const s = onnxSteps(g);
    const shape = input.shape;
    // Each element's key in our (NHWC) order, then laid out as the tensor is.
    const [n, , , c] = shape.length === 4 ? shape : [1, 1, 1, shape.reduce((a, b) => a * b, 1)];
    const keyShape = d.channelwise ? [n, 1, 1, c] : [...shape];
    const keys = Array.from({ length: keyShape.reduce((a, b) => a * b, 1) }, (_, i) => i);
    const keyDims = layout.map((a) => keyShape[a]);
    const permuted = permuteIndices(keys, keyShape, layout);
    const keyTensor = g.constant('dropout_keys', 'int64', keyDims, permuted);
    const base = mix32Onnx(g, s, xor32(g, s, s.op('Cast', [g.tensor(seed)], { to: { int: 7 } }), s.ints([mix32(d.salt)])));
    const hash = mix32Onnx(g, s, xor32(g, s, keyTensor, base));
    const threshold = Math.min(0xffffffff, Math.round(d.p * 2 ** 32));
    const keep = s.op('Cast', [s.op('GreaterOrEqual', [hash, s.ints([threshold])])], { to: { int: 1 } });
    return d.p === 0 ? keep : s.op('Mul', [keep, s.f(Math.fround(1 / (1 - d.p)))]);
  });
}

/** `data` of our shape `shape` with its axes in `layout`, as plain numbers. */
function permuteIndices(data: number[], shape: readonly number[], layout: readonly number[]): number[] {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const dims = layout.map((a) => shape[a]);
  const out = new Array<number>(data.length);
  const index = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) src += index[k] * strides[layout[k]];
    out[o] = data[src];
    for (let k = dims.length - 1; k >= 0 && ++index[k] === dims[k]; k--) index[k] = 0;
  }
  return out;
}

/** Dropout of `input` (forward, or of dy for the gradient: the same mask) into `out`. */
export function dropoutOnnx(g: OnnxEmitter, input: Value, seed: Value, d: DropoutParams, out: string): void {
  const layout = g.layoutOf(input);
  const x = g.tensor(input, layout);
  const mask = dropoutScale(g, input, seed, d, layout.length === 4 && d.channelwise ? [0, 3, 1, 2] : layout);
  g.node('Mul', [x, mask], [out]);
  g.written(out, layout);
}
