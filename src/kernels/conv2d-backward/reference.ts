// CPU references of the convolution's gradients (PyTorch semantics), accumulated in float64:
// the oracles the backward kernels and the autograd's gradient checks compare against. Both
// scatter each forward product x[x0 + ci] * w[w0 + ci * cout + co] -> y[y0 + co] the other way,
// over the forward's taps in their order (conv2d/taps.ts: n, oh, ow, kh, kw), then output
// channels for dX, which sums over them: every sum runs over the products in that order, so the
// loops inside a tap may run in whatever order keeps memory contiguous without changing a bit.
import { type Shape, numel } from '../../gpu/tensor.js';
import { expectRank } from '../checks.js';
import type { Conv2dParams } from '../conv2d/params.js';
import { type FloatArray, asFloat64, zerosLike } from '../cpu-arrays.js';
import { W_AT, X_AT, Y_AT, addDepthwiseTaps, addFourProducts, convTaps, tapChunksByWeightRow } from '../conv2d/taps.js';
import { BIAS_GRAD, INPUT_GRAD, WEIGHT_GRAD, backwardGeometry, expectLength } from './geometry.js';

/**
 * CPU reference for dX [N, H, W, Cin] from dY [N, OH, OW, Cout] and the weight: each forward
 * product x * w that fed y adds w * dY[y] to dX[x]. Accumulated in float64; returns dOut's kind.
 */
export function conv2dInputGradCpu<T extends FloatArray>(
  dOut: T,
  dOutShape: Shape,
  weight: FloatArray,
  weightShape: Shape,
  inputShape: Shape,
  p: Conv2dParams,
): T {
  const g = backwardGeometry(INPUT_GRAD, inputShape, weightShape, p, dOutShape);
  expectLength(INPUT_GRAD, 'dOut', dOut, numel(dOutShape));
  expectLength(INPUT_GRAD, 'weight', weight, numel(weightShape));
  const acc = new Float64Array(numel(inputShape));
  const { cout, cinPerGroup, coutPerGroup } = g;
  const groups = cout / coutPerGroup;
  const w = asFloat64(weight);
  const dy = asFloat64(dOut);
  const taps = convTaps(g, p);
  if (cinPerGroup === 1 && coutPerGroup === 1) {
    // Depthwise: channel c of each tap adds w[w0 + c] * dY[y0 + c] to dX[x0 + c], taps in order.
    addDepthwiseTaps(taps, cout, acc, X_AT, w, W_AT, dy, Y_AT);
    return fromAccumulator(dOut, acc);
  }
  for (let t = 0; t < taps.length; t += 3) {
    const x0 = taps[t];
    const w0 = taps[t + 1];
    const y0 = taps[t + 2];
    for (let group = 0; group < groups; group++) {
      const co0 = group * coutPerGroup;
      const ci0 = group * cinPerGroup;
      const co1 = co0 + coutPerGroup;
      const xg = x0 + ci0;
      // dX[x] gains w * dY over the group's output channels, in their order; four input channels
      // at a time share each dY load.
      let ci = 0;
      for (; ci + 4 <= cinPerGroup; ci += 4) {
        const ra = w0 + ci * cout;
        const rb = ra + cout;
        const rc = rb + cout;
        const rd = rc + cout;
        let sa = acc[xg + ci];
        let sb = acc[xg + ci + 1];
        let sc = acc[xg + ci + 2];
        let sd = acc[xg + ci + 3];
        for (let co = co0; co < co1; co++) {
          const d = dy[y0 + co];
          sa += w[ra + co] * d;
          sb += w[rb + co] * d;
          sc += w[rc + co] * d;
          sd += w[rd + co] * d;
        }
        acc[xg + ci] = sa;
        acc[xg + ci + 1] = sb;
        acc[xg + ci + 2] = sc;
        acc[xg + ci + 3] = sd;
      }
      for (; ci < cinPerGroup; ci++) {
        const row = w0 + ci * cout;
        let sum = acc[xg + ci];
        for (let co = co0; co < co1; co++) sum += w[row + co] * dy[y0 + co];
        acc[xg + ci] = sum;
      }
    }
  }
  return fromAccumulator(dOut, acc);
}

/**
 * CPU reference for dW [KH, KW, Cin/groups, Cout] from the forward input X and dY: each forward
 * product x * w that fed y adds X[x] * dY[y] to dW[w]. Float64 accumulation; returns input's kind.
 */
export function conv2dWeightGradCpu<T extends FloatArray>(
  input: T,
  inputShape: Shape,
  dOut: FloatArray,
  dOutShape: Shape,
  weightShape: Shape,
  p: Conv2dParams,
): T {
  const g = backwardGeometry(WEIGHT_GRAD, inputShape, weightShape, p, dOutShape);
  expectLength(WEIGHT_GRAD, 'input', input, numel(inputShape));
  expectLength(WEIGHT_GRAD, 'dOut', dOut, numel(dOutShape));
  const acc = new Float64Array(numel(weightShape));
  const { cout, cinPerGroup, coutPerGroup } = g;
  const groups = cout / coutPerGroup;
  const x = asFloat64(input);
  const dy = asFloat64(dOut);
  if (cinPerGroup === 1 && coutPerGroup === 1) {
    // Depthwise: channel c of each tap adds x[x0 + c] * dY[y0 + c] to dW[w0 + c], taps in order.
    addDepthwiseTaps(convTaps(g, p), cout, acc, W_AT, x, X_AT, dy, Y_AT);
    return fromAccumulator(input, acc);
  }
  // Each dW element sums over the taps of its weight row in their order, so the taps are taken
  // row by row, in chunks whose dY rows stay in cache, four output pixels per pass over the
  // output channels: the same additions in the same order, with a quarter of the loads and stores.
  for (const { taps: rowTaps, w0, start: c0, end: c1 } of tapChunksByWeightRow(convTaps(g, p), g)) {
    for (let group = 0; group < groups; group++) {
      const co0 = group * coutPerGroup;
      const co1 = co0 + coutPerGroup;
      const ci0 = group * cinPerGroup;
      for (let ci = 0; ci < cinPerGroup; ci++) {
        const row = w0 + ci * cout;
        const xc = ci0 + ci;
        let t = c0;
        for (; t + 12 <= c1; t += 12) {
          addFourProducts(
            acc, row, dy, co0, co1,
            x[rowTaps[t] + xc], rowTaps[t + 2], x[rowTaps[t + 3] + xc], rowTaps[t + 5],
            x[rowTaps[t + 6] + xc], rowTaps[t + 8], x[rowTaps[t + 9] + xc], rowTaps[t + 11],
          );
        }
        for (; t < c1; t += 3) {
          const xv = x[rowTaps[t] + xc];
          const y0 = rowTaps[t + 2];
          for (let co = co0; co < co1; co++) acc[row + co] += xv * dy[y0 + co];
        }
      }
    }
  }
  return fromAccumulator(input, acc);
}

/**
 * The float64 sums as an array of `like`'s kind: the sums themselves for a float64 reference (a
 * copy would touch as much fresh memory again: a network's weight gradients are hundreds of MB).
 */
function fromAccumulator<T extends FloatArray>(like: T, acc: Float64Array): T {
  if (like instanceof Float64Array) return acc as T;
  const out = zerosLike(like, acc.length);
  out.set(acc);
  return out;
}

/** CPU reference for db [Cout]: dY summed over N, OH, OW in float64; returns dOut's kind. */
export function conv2dBiasGradCpu<T extends FloatArray>(dOut: T, dOutShape: Shape): T {
  expectRank(dOutShape, 4, BIAS_GRAD, 'dOut');
  expectLength(BIAS_GRAD, 'dOut', dOut, numel(dOutShape));
  const cout = dOutShape[3];
  const acc = new Float64Array(cout);
  for (let i = 0; i < dOut.length; i++) acc[i % cout] += dOut[i];
  return fromAccumulator(dOut, acc);
}

