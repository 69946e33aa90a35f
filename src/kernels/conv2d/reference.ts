// The convolution's CPU reference: the oracle every algorithm of the family is tested against.
import { type Shape, numel } from '../../gpu/tensor.js';
import { activateCpu } from '../activation/activation.js';
import { type Conv2dExtras, type Conv2dParams, convGeometry } from './params.js';

/**
 * The textbook seven-deep loop, zero padding by skipping out-of-range taps, then the epilogue
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
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let co = 0; co < cout; co++) {
          const ciBase = Math.floor(co / coutPerGroup) * cinPerGroup;
          let acc = 0;
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * p.strideH - p.padTop + kh * p.dilationH;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
              if (iw < 0 || iw >= W) continue;
              for (let ci = 0; ci < cinPerGroup; ci++) {
                const product = input[((n * H + ih) * W + iw) * cin + ciBase + ci] * weight[((kh * KW + kw) * cinPerGroup + ci) * cout + co];
                acc = round ? round(acc + round(product)) : acc + product;
              }
            }
          }
          const idx = ((n * OH + oh) * OW + ow) * cout + co;
          let v = acc;
          if (extras.scale) v *= extras.scale[co];
          if (extras.bias) v += extras.bias[co];
          if (extras.residual) v += extras.residual[idx];
          out[idx] = activateCpu(v, act);
        }
      }
    }
  }
  return out;
}
