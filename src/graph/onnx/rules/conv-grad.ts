// A convolution's weight and bias gradients as standard ONNX operators. The weight gradient is a
// sum over the kernel's taps: for tap (kh, kw), the input rows and columns that tap reads (one
// strided Slice of the padded input) against dy. Per tap, by the convolution's groups:
//  - one group: a Gemm of dy [Cout, N*OH*OW] with the tap's input [Cin, N*OH*OW] transposed
//    (MLAS's matrix product; batch items fold into the reduced axis);
//  - depthwise (one input channel a group): the tap's input times dy, summed over batch and map;
//  - other groups: a batched MatMul, a product per group.
// The taps are concatenated into OIHW, the layout training keeps a convolution's weight in.
import type { ConvAttrs } from '../../ops/conv2d.js';
import type { Value } from '../../value.js';
import { HWIO_TO_OIHW, type OnnxEmitter } from '../emitter.js';
import { onnxSteps } from './steps.js';

/** dW of a convolution (our HWIO shape `weightShape`) from x [N,Cin,H,W] and dy [N,Cout,OH,OW], written into `out` as OIHW. */
export function convWeightGradOnnx(g: OnnxEmitter, x: Value, dy: Value, weightShape: readonly number[], a: ConvAttrs, out: string): void {
  const s = onnxSteps(g);
  const [kh, kw, cinGroup, cout] = weightShape;
  const [n, h, w, cin] = x.shape;
  const [, oh, ow] = dy.shape;
  const groups = a.groups;
  // Rows and columns of the padded input the windows reach; padding beyond them is not added.
  const needH = (oh - 1) * a.strideH + (kh - 1) * a.dilationH + 1;
  const needW = (ow - 1) * a.strideW + (kw - 1) * a.dilationW + 1;
  const [padBottom, padRight] = [Math.max(0, needH - h - a.padTop), Math.max(0, needW - w - a.padLeft)];
  let xp = g.tensor(x);
  if (a.padTop || a.padLeft || padBottom || padRight) xp = s.op('Pad', [xp, s.ints([0, 0, a.padTop, a.padLeft, 0, 0, padBottom, padRight])]);
  const tap = (i: number, j: number): string => {
    const [r, c] = [i * a.dilationH, j * a.dilationW];
    if (r === 0 && c === 0 && oh === h + a.padTop + padBottom && ow === w + a.padLeft + padRight && a.strideH === 1 && a.strideW === 1) return xp;
    return s.op('Slice', [xp, s.ints([r, c]), s.ints([r + (oh - 1) * a.strideH + 1, c + (ow - 1) * a.strideW + 1]), s.ints([2, 3]), s.ints([a.strideH, a.strideW])]);
  };
  const taps: string[] = [];
  const dyT = g.tensor(dy);
  if (groups === 1) {
    // dy as [Cout, N*OH*OW] once; each tap's input as [Cin, N*OH*OW].
    const rows = (t: string, c: number): string => s.reshape(n === 1 ? t : s.op('Transpose', [t], { perm: { ints: [1, 0, 2, 3] } }), [c, n * oh * ow]);
    const dyRows = rows(dyT, cout);
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push(s.op('Gemm', [dyRows, rows(tap(i, j), cin)], { transB: { int: 1 } }));
  } else if (cinGroup === 1) {
    // Depthwise: output channel o reads input channel floor(o / multiplier).
    const mult = cout / cin;
    const dyItems = mult === 1 ? dyT : s.reshape(dyT, [n, cin, mult, oh, ow]);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const t = mult === 1 ? tap(i, j) : s.reshape(tap(i, j), [n, cin, 1, oh, ow]);
        const axes = mult === 1 ? [0, 2, 3] : [0, 3, 4];
        taps.push(s.reshape(s.sum(s.op('Mul', [t, dyItems]), axes, false), [cout, 1]));
      }
    }
  } else {
    const coutGroup = cout / groups;
    const grouped = (t: string, c: number, transposed: boolean): string => {
      const split = s.reshape(t, [n, groups, c, oh * ow]);
      // [G, c, N*P] (or its transpose [G, N*P, c]).
      return s.reshape(s.op('Transpose', [split], { perm: { ints: transposed ? [1, 0, 3, 2] : [1, 2, 0, 3] } }), transposed ? [groups, n * oh * ow, c] : [groups, c, n * oh * ow]);
    };
    const dyGroups = grouped(dyT, coutGroup, false);
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push(s.reshape(s.op('MatMul', [dyGroups, grouped(tap(i, j), cinGroup, true)]), [cout, cinGroup]));
  }
  // [Cout, Cin/g] per tap -> [Cout, Cin/g, KH, KW].
  if (taps.length === 1) s.reshape(taps[0], [cout, cinGroup, kh, kw], out);
  else s.reshape(s.op('Concat', taps.map((t) => s.reshape(t, [cout, cinGroup, 1])), { axis: { int: 2 } }), [cout, cinGroup, kh, kw], out);
  g.written(out, HWIO_TO_OIHW);
}

/** A convolution's bias gradient: dy [N,C,OH,OW] summed over all but the channels. */
export function convBiasGradOnnx(g: OnnxEmitter, dy: Value, out: string): void {
  const s = onnxSteps(g);
  if (dy.shape.length !== 4) throw new Error(`the bias gradient takes an NHWC dy, got rank ${dy.shape.length}`);
  s.sum(g.tensor(dy), [0, 2, 3], false, out);
}
