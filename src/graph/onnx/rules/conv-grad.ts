// A convolution's weight and bias gradients as standard ONNX operators. The weight gradient sums,
// over the kernel's taps, the input rows and columns each tap reads (one strided Slice of the
// padded input) against dy. By the convolution's groups:
//  - one group: per batch item one Gemm of dy [Cout, OH*OW] with the item's columns (every tap's
//    input, [Cin * KH * KW, OH*OW] in OIHW's order) transposed, the items summed by Gemm's C;
//    it writes OIHW as it is. (Per-tap Gemms put together by a Transpose took 1 s a step of
//    DeepLabv3-ResNet-50 in ONNX Runtime's Transpose alone; a Conv over transposed operands makes
//    a matrix product 9 columns wide.)
//  - depthwise (one input channel a group): per tap, its input times dy, summed;
//  - other groups: per tap a batched MatMul, a product per group.
// OIHW is the layout training keeps a convolution's weight in.
import type { Conv2dParams } from '../../../kernels/conv2d/params.js';
import type { Value } from '../../value.js';
import { HWIO_TO_OIHW, type OnnxEmitter } from '../emitter.js';
import { liveTapsAtRunTime, padToWholeKernel } from './live-taps.js';
import { onnxSteps } from './steps.js';

/**
 * dW of a convolution (our HWIO shape `weightShape`) from x [N,Cin,H,W] and dy [N,Cout,OH,OW],
 * written into `out` as OIHW; in a training step only the live taps' (live-taps.ts), the others
 * zeros.
 */
export function convWeightGradOnnx(g: OnnxEmitter, x: Value, dy: Value, weightShape: readonly number[], a: Required<Conv2dParams>, out: string): void {
  const [kh, kw, cinGroup, cout] = weightShape;
  const taps = liveTapsAtRunTime(g, x.shape, dy.shape, [kh, kw], a);
  if (taps) {
    const cropped = g.intermediate('live_taps');
    tapsWeightGrad(g, x, dy, [...taps.kernel, cinGroup, cout], taps.attrs, cropped);
    padToWholeKernel(g, cropped, [cout, cinGroup], [kh, kw], taps, out);
  } else tapsWeightGrad(g, x, dy, weightShape, a, out);
  g.written(out, HWIO_TO_OIHW);
}

/** dW over every tap of the kernel `weightShape` (HWIO), into `out` as OIHW. */
function tapsWeightGrad(g: OnnxEmitter, x: Value, dy: Value, weightShape: readonly number[], a: Required<Conv2dParams>, out: string): void {
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
  const [xpH, xpW] = [h + a.padTop + padBottom, w + a.padLeft + padRight];
  /** The input tap t reads ([N, Cin, OH, OW]). */
  const tap = (t: number): string => {
    const [r, c] = [Math.floor(t / kw) * a.dilationH, (t % kw) * a.dilationW];
    if (r === 0 && c === 0 && oh === xpH && ow === xpW) return xp;
    return s.op('Slice', [xp, s.ints([r, c]), s.ints([r + (oh - 1) * a.strideH + 1, c + (ow - 1) * a.strideW + 1]), s.ints([2, 3]), s.ints([a.strideH, a.strideW])]);
  };
  const dyT = g.tensor(dy);
  const [taps, P] = [kh * kw, oh * ow];
  const tapOffsets = Array.from({ length: taps }, (_, t) => [Math.floor(t / kw) * a.dilationH, (t % kw) * a.dilationW]);
  if (groups === 1) {
    // Per batch item: dy_n [Cout, P] against the item's columns [Cin * taps, P] (its input under
    // each tap, OIHW's order), summed over the items by Gemm's C: dW as [Cout, Cin * KH * KW].
    const slice = (t: string, k: number, axes: number[], starts: number[], ends: number[], steps: number[]): string =>
      s.op('Slice', [t, s.ints([k, ...starts]), s.ints([k + 1, ...ends]), s.ints([0, ...axes]), s.ints([1, ...steps])]);
    const rows = (t: string, k: number, c: number): string => s.reshape(n === 1 ? t : slice(t, k, [], [], [], []), [c, P]);
    let acc = '';
    for (let k = 0; k < n; k++) {
      const columns = tapOffsets.map(([r, c]) =>
        s.reshape(r === 0 && c === 0 && oh === xpH && ow === xpW ? (n === 1 ? xp : slice(xp, k, [], [], [], [])) : slice(xp, k, [2, 3], [r, c], [r + (oh - 1) * a.strideH + 1, c + (ow - 1) * a.strideW + 1], [a.strideH, a.strideW]), [cin, 1, P]),
      );
      const cols = s.reshape(taps === 1 ? columns[0] : s.op('Concat', columns, { axis: { int: 1 } }), [cin * taps, P]);
      const inputs = [rows(dyT, k, cout), cols, ...(k > 0 ? [acc] : [])];
      acc = s.op('Gemm', inputs, { transB: { int: 1 }, ...(k > 0 ? { beta: { float: 1 } } : {}) });
    }
    s.reshape(acc, [cout, cin, kh, kw], out);
  } else if (cinGroup === 1) {
    // Depthwise: output channel o reads input channel floor(o / multiplier); per tap [Cout, 1].
    const mult = cout / cin;
    const dyItems = mult === 1 ? dyT : s.reshape(dyT, [n, cin, mult, oh, ow]);
    const perTap = tapOffsets.map((_, t) => {
      const x = mult === 1 ? tap(t) : s.reshape(tap(t), [n, cin, 1, oh, ow]);
      return s.reshape(s.sum(s.op('Mul', [x, dyItems]), mult === 1 ? [0, 2, 3] : [0, 3, 4], false), [cout, 1]);
    });
    s.reshape(taps === 1 ? perTap[0] : s.op('Concat', perTap, { axis: { int: 1 } }), [cout, 1, kh, kw], out);
  } else {
    // Other groups: per tap a batched MatMul, a product per group: [G, Cout/g, Cin/g].
    const coutGroup = cout / groups;
    const grouped = (t: string, c: number, transposed: boolean): string => {
      const split = s.reshape(t, [n, groups, c, P]);
      return s.reshape(s.op('Transpose', [split], { perm: { ints: transposed ? [1, 0, 3, 2] : [1, 2, 0, 3] } }), transposed ? [groups, n * P, c] : [groups, c, n * P]);
    };
    const dyGroups = grouped(dyT, coutGroup, false);
    const perTap = tapOffsets.map((_, t) => s.reshape(s.op('MatMul', [dyGroups, grouped(tap(t), cinGroup, true)]), [cout, cinGroup, 1]));
    s.reshape(taps === 1 ? perTap[0] : s.op('Concat', perTap, { axis: { int: 2 } }), [cout, cinGroup, kh, kw], out);
  }
}

/** A convolution's bias gradient: dy [N,C,OH,OW] summed over all but the channels. */
export function convBiasGradOnnx(g: OnnxEmitter, dy: Value, out: string): void {
  const s = onnxSteps(g);
  if (dy.shape.length !== 4) throw new Error(`the bias gradient takes an NHWC dy, got rank ${dy.shape.length}`);
  s.sum(g.tensor(dy), [0, 2, 3], false, out);
}
