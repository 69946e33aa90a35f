// The convolution's CPU reference: the oracle every algorithm of the family is tested against.
import { type Shape, numel } from '../../gpu/tensor.js';
import { activateCpu } from '../activation/activation.js';
import { asFloat64 } from '../cpu-arrays.js';
import { type Conv2dExtras, type Conv2dParams, type ConvGeometry, convGeometry } from './params.js';
import { W_AT, X_AT, Y_AT, addDepthwiseTaps, addFourProducts, convTaps, tapChunksByWeightRow } from './taps.js';

/**
 * The textbook seven-deep loop (reordered, not resummed: see below), zero padding by skipping
 * out-of-range taps, then the epilogue
 * activation(acc * scale + bias + residual). Float64 in, float64 out (gradient checks);
 * float32 likewise.
 */
export function conv2dCpu<T extends Float32Array | Float64Array>(
  input: T,
  inputShape: Shape,
  weight: Float32Array | Float64Array,
  weightShape: Shape,
  p: Conv2dParams,
  extras: Conv2dExtras<Float32Array | Float64Array> = {},
  /**
   * How each step of the sum rounds: `round(acc + round(product))` (f16 accumulation: both f16
   * roundings). Exact (in the array's precision) when omitted. The taps are summed in the
   * order the register-tile kernels sum them (kh, kw, then input channels).
   */
  round?: (x: number) => number,
): T {
  const g = convGeometry(inputShape, weightShape, p);
  const { N, cout, OH, OW } = g;
  const expectLength = (what: string, a: Float32Array | Float64Array | undefined, n: number) => {
    if (a && a.length !== n) throw new Error(`conv2d: ${what} has ${a.length} values, expected ${n}`);
  };
  expectLength('input', input, numel(inputShape));
  expectLength('weight', weight, numel(weightShape));
  expectLength('bias', extras.bias, cout);
  expectLength('scale', extras.scale, cout);
  expectLength('residual', extras.residual, N * OH * OW * cout);
  const act = p.activation ?? 'none';
  const out = new (input.constructor as { new (n: number): T })(N * OH * OW * cout);
  // Every output's sum runs over its taps in the order the register-tile kernels sum them (kh,
  // kw, then input channels), so the result is the textbook loop's to the bit.
  const sums = new Float64Array(out.length);
  const taps = convTaps(g, p);
  const x = asFloat64(input);
  const w = asFloat64(weight);
  if (round) sumTapsRounded(sums, x, w, taps, g, round);
  else sumTaps(sums, x, w, taps, g);
  for (let i = 0; i < out.length; i++) {
    const co = i % cout;
    let v = sums[i];
    if (extras.scale) v *= extras.scale[co];
    if (extras.bias) v += extras.bias[co];
    if (extras.residual) v += extras.residual[i];
    out[i] = activateCpu(v, act);
  }
  return out;
}

/**
 * sums[y0 + co] += x[x0 + ci] * w[w0 + ci * cout + co] over every tap, each output's products in
 * the taps' order, then its group's input channels'.
 */
function sumTaps(sums: Float64Array, x: Float64Array, w: Float64Array, taps: Int32Array, g: ConvGeometry): void {
  const { cout, cinPerGroup, coutPerGroup } = g;
  if (cinPerGroup === 1 && coutPerGroup === 1) {
    // Depthwise: output channel c reads input channel c through its weight w[w0 + c].
    addDepthwiseTaps(taps, cout, sums, Y_AT, x, X_AT, w, W_AT);
    return;
  }
  const groups = cout / coutPerGroup;
  // Weight row by weight row (kh, kw in order, as each output's taps are), a chunk of output
  // pixels at a time, four input channels per pass over the outputs: each sum adds its products
  // one at a time in order while four weight rows stay in cache across the chunk.
  for (const { taps: rowTaps, w0, start: c0, end: c1 } of tapChunksByWeightRow(taps, g)) {
    for (let group = 0; group < groups; group++) {
      const co0 = group * coutPerGroup;
      const co1 = co0 + coutPerGroup;
      const ci0 = group * cinPerGroup;
      let ci = 0;
      for (; ci + 4 <= cinPerGroup; ci += 4) {
        // The four weight rows of input channels ci .. ci + 3.
        const row = w0 + ci * cout;
        for (let t = c0; t < c1; t += 3) {
          const xg = rowTaps[t] + ci0 + ci;
          addFourProducts(sums, rowTaps[t + 2], w, co0, co1, x[xg], row, x[xg + 1], row + cout, x[xg + 2], row + 2 * cout, x[xg + 3], row + 3 * cout);
        }
      }
      for (; ci < cinPerGroup; ci++) {
        const row = w0 + ci * cout;
        for (let t = c0; t < c1; t += 3) {
          const xv = x[rowTaps[t] + ci0 + ci];
          const y0 = rowTaps[t + 2];
          for (let co = co0; co < co1; co++) sums[y0 + co] += xv * w[row + co];
        }
      }
    }
  }
}

/** sumTaps with each step rounded: round(sum + round(product)), the products in the same order. */
function sumTapsRounded(sums: Float64Array, x: Float64Array, w: Float64Array, taps: Int32Array, g: ConvGeometry, round: (v: number) => number): void {
  const { cout, cinPerGroup, coutPerGroup } = g;
  const groups = cout / coutPerGroup;
  for (const { taps: rowTaps, w0, start, end } of tapChunksByWeightRow(taps, g)) {
    for (let group = 0; group < groups; group++) {
      const co0 = group * coutPerGroup;
      const ci0 = group * cinPerGroup;
      for (let ci = 0; ci < cinPerGroup; ci++) {
        const row = w0 + ci * cout;
        for (let t = start; t < end; t += 3) {
          const xv = x[rowTaps[t] + ci0 + ci];
          const y0 = rowTaps[t + 2];
          for (let co = co0; co < co0 + coutPerGroup; co++) sums[y0 + co] = round(sums[y0 + co] + round(xv * w[row + co]));
        }
      }
    }
  }
}
