// CPU references of the convolution's gradients (PyTorch semantics), accumulated in float64:
// the oracles the backward kernels and the autograd's gradient checks compare against.
import { type Shape, numel } from '../../gpu/tensor.js';
import { expectRank } from '../checks.js';
import type { Conv2dParams, ConvGeometry } from '../conv2d/params.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';
import { BIAS_GRAD, INPUT_GRAD, WEIGHT_GRAD, backwardGeometry, expectLength } from './geometry.js';

/**
 * Visits every (output pixel, tap) of the forward convolution that reads a real (non-padding)
 * input pixel, in the order n, oh, ow, kh, kw: `visit(x0, w0, y0)` with the flat offsets of the
 * input pixel's channel 0, the tap's weight row for input channel 0 and output channel 0, and
 * the output pixel's channel 0. The references below scatter each of the tap's products
 * x[x0 + ci] * w[w0 + ci * cout + co] -> y[y0 + co] the other way. Every sum they make runs
 * over the products in this order (then output channels for dX, which sums over them), so the
 * loops inside a tap may run in whatever order keeps memory contiguous without changing a bit.
 */
function forEachTap(g: ConvGeometry, p: Conv2dParams, visit: (x0: number, w0: number, y0: number) => void): void {
  const { N, H, W, cin, KH, KW, cout, OH, OW, cinPerGroup } = g;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const y0 = ((n * OH + oh) * OW + ow) * cout;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * p.strideH - p.padTop + kh * p.dilationH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
            if (iw < 0 || iw >= W) continue;
            visit(((n * H + ih) * W + iw) * cin, (kh * KW + kw) * cinPerGroup * cout, y0);
          }
        }
      }
    }
  }
}

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
  forEachTap(g, p, (x0, w0, y0) => {
    for (let group = 0; group < groups; group++) {
      const co0 = group * coutPerGroup;
      const ci0 = group * cinPerGroup;
      for (let ci = 0; ci < cinPerGroup; ci++) {
        // dX[x] gains w * dY over the group's output channels, in their order.
        const row = w0 + ci * cout;
        let sum = acc[x0 + ci0 + ci];
        for (let co = co0; co < co0 + coutPerGroup; co++) sum += weight[row + co] * dOut[y0 + co];
        acc[x0 + ci0 + ci] = sum;
      }
    }
  });
  const out = zerosLike(dOut, acc.length);
  out.set(acc);
  return out;
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
  forEachTap(g, p, (x0, w0, y0) => {
    for (let group = 0; group < groups; group++) {
      const co0 = group * coutPerGroup;
      const ci0 = group * cinPerGroup;
      for (let ci = 0; ci < cinPerGroup; ci++) {
        const x = input[x0 + ci0 + ci];
        const row = w0 + ci * cout;
        for (let co = co0; co < co0 + coutPerGroup; co++) acc[row + co] += x * dOut[y0 + co];
      }
    }
  });
  const out = zerosLike(input, acc.length);
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
  const out = zerosLike(dOut, cout);
  out.set(acc);
  return out;
}

