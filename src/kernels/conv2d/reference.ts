// The convolution's CPU reference: the oracle every algorithm of the family is tested against.
import { type Shape, numel } from '../../gpu/tensor.js';
import { activateCpu } from '../activation/activation.js';
import { type Conv2dExtras, type Conv2dParams, convGeometry } from './params.js';

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
  const { N, H, W, cin, KH, KW, cout, OH, OW, cinPerGroup, coutPerGroup } = g;
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
  // One output pixel's cout sums at a time, each summed in the order above (kh, kw, then input
  // channels), so the result is the textbook loop's to the bit; the innermost loop runs over
  // output channels, along the weight's rows, which keeps the reference fast enough for whole
  // networks in the tests.
  const acc = new Float64Array(cout);
  const groups = cout / coutPerGroup;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        acc.fill(0);
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * p.strideH - p.padTop + kh * p.dilationH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
            if (iw < 0 || iw >= W) continue;
            const inBase = ((n * H + ih) * W + iw) * cin;
            const tapBase = (kh * KW + kw) * cinPerGroup * cout;
            for (let group = 0; group < groups; group++) {
              const co0 = group * coutPerGroup;
              const ci0 = group * cinPerGroup;
              for (let ci = 0; ci < cinPerGroup; ci++) {
                const x = input[inBase + ci0 + ci];
                const row = tapBase + ci * cout + co0;
                if (round) for (let co = 0; co < coutPerGroup; co++) acc[co0 + co] = round(acc[co0 + co] + round(x * weight[row + co]));
                else for (let co = 0; co < coutPerGroup; co++) acc[co0 + co] += x * weight[row + co];
              }
            }
          }
        }
        const base = ((n * OH + oh) * OW + ow) * cout;
        for (let co = 0; co < cout; co++) {
          let v = acc[co];
          if (extras.scale) v *= extras.scale[co];
          if (extras.bias) v += extras.bias[co];
          if (extras.residual) v += extras.residual[base + co];
          out[base + co] = activateCpu(v, act);
        }
      }
    }
  }
  return out;
}
