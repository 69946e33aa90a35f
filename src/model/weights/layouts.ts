// Convolution weight layouts: PyTorch's OIHW and ours (HWIO), and a weight's input channels
// reversed (a processor's BGR input folded into the first conv). A module of its own, below
// every mapping, so a backbone's record can use them without reaching the mappings that ask the
// records (torchvision.ts, mmseg.ts).
import { shapeString } from '../../gpu/tensor.js';

/** PyTorch conv weight [O,I,KH,KW] -> ours [KH,KW,I,O] (a (2,3,1,0) permutation). */
export function oihwToHwio(data: Float32Array, shape: readonly number[]): { shape: number[]; data: Float32Array } {
  if (shape.length !== 4) throw new Error(`oihwToHwio: expected a 4-D weight, got ${shapeString(shape)}`);
  const [O, I, KH, KW] = shape;
  if (data.length !== O * I * KH * KW) throw new Error(`oihwToHwio: ${data.length} values for shape ${shapeString(shape)}`);
  const out = new Float32Array(data.length);
  let src = 0;
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      for (let h = 0; h < KH; h++) {
        for (let w = 0; w < KW; w++) out[((h * KW + w) * I + i) * O + o] = data[src++];
      }
    }
  }
  return { shape: [KH, KW, I, O], data: out };
}

/** Ours [KH,KW,I,O] -> PyTorch's [O,I,KH,KW] (the export's inverse of oihwToHwio). */
export function hwioToOihw(data: Float32Array, shape: readonly number[]): { shape: number[]; data: Float32Array } {
  const [KH, KW, I, O] = shape;
  const out = new Float32Array(data.length);
  let dst = 0;
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      for (let h = 0; h < KH; h++) {
        for (let w = 0; w < KW; w++) out[dst++] = data[((h * KW + w) * I + i) * O + o];
      }
    }
  }
  return { shape: [O, I, KH, KW], data: out };
}

/** An HWIO weight [kh, kw, cin, cout] with its input channels in reverse order (BGR input to RGB, and back). */
export function reverseInputChannels(w: { readonly shape: readonly number[]; readonly data: Float32Array }): { shape: number[]; data: Float32Array } {
  const [kh, kw, cin, cout] = w.shape;
  const data = new Float32Array(w.data.length);
  for (let k = 0; k < kh * kw; k++) {
    for (let c = 0; c < cin; c++) data.set(w.data.subarray((k * cin + c) * cout, (k * cin + c + 1) * cout), (k * cin + (cin - 1 - c)) * cout);
  }
  return { shape: [...w.shape], data };
}
