// Winograd F(m x m, 3x3) on the CPU, stage by stage as conv2d/winograd/ computes it (weight
// transform U = G g G^T, input transform V = B^T d B on the same tiles of the dilated grid,
// M[b] = V[b] U[b], output transform Y = A^T M A, the epilogue), with a rounding of choice at
// each stage: the reference of its f16-accumulating variants, and the measure of how much f16
// each stage can take. In float64 where no rounding is given.
import type { Shape } from '../../src/gpu/tensor.js';
import { activateCpu } from '../../src/kernels/activation/activation.js';
import { type Conv2dExtras, type Conv2dParams, convGeometry } from '../../src/kernels/conv2d/params.js';
import { axisTiles } from '../../src/kernels/conv2d/winograd/variants.js';

type Round = (x: number) => number;

export interface WinogradRounding {
  /** After each product and each sum inside the three transforms (transforms computed in f16). */
  transform?: Round;
  /** The transformed operands V and U as the GEMM reads them (stored in f16). */
  operand?: Round;
  /** Each step of the GEMM's sum over input channels: round(acc + round(product)). */
  sum?: Round;
}

type Matrix = readonly (readonly number[])[];

const F2: { BT: Matrix; G: Matrix; AT: Matrix } = {
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
};
const F4: { BT: Matrix; G: Matrix; AT: Matrix } = {
  BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
  G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
  AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
};

const exact: Round = (x) => x;

/** L X R^T, skipping zero coefficients, rounding each product and partial sum with `r`. */
function sandwich(L: Matrix, X: number[][], R: Matrix, r: Round): number[][] {
  const left = L.map((row) => X[0].map((_, k) => row.reduce((acc, c, j) => (c === 0 ? acc : r(acc + r(c * X[j][k]))), 0)));
  return left.map((row) => R.map((rrow) => rrow.reduce((acc, c, j) => (c === 0 ? acc : r(acc + r(c * row[j]))), 0)));
}

/**
 * The convolution of a 3x3, stride-1, one-group layer by Winograd F(tile x tile, 3x3), each
 * stage rounded as `rounding` says; the epilogue exact, the output not rounded.
 */
export function winogradCpu(
  input: ArrayLike<number>,
  inputShape: Shape,
  weight: ArrayLike<number>,
  weightShape: Shape,
  p: Conv2dParams,
  tile: 2 | 4,
  extras: Conv2dExtras<Float32Array | Float64Array> = {},
  rounding: WinogradRounding = {},
): Float64Array {
  const g = convGeometry(inputShape, weightShape, p);
  if (g.KH !== 3 || g.KW !== 3 || p.groups !== 1 || p.strideH !== 1 || p.strideW !== 1) throw new Error('winogradCpu: 3x3, stride 1, one group');
  const { N, H, W, cin, cout, OH, OW } = g;
  const { BT, G, AT } = tile === 2 ? F2 : F4;
  const alpha = tile + 2;
  const t = rounding.transform ?? exact;
  const operand = rounding.operand ?? exact;
  const sum = rounding.sum ?? exact;
  // U [ci][co]: alpha x alpha.
  const U: number[][][][] = [];
  for (let ci = 0; ci < cin; ci++) {
    U.push([]);
    for (let co = 0; co < cout; co++) {
      const taps = [0, 1, 2].map((kh) => [0, 1, 2].map((kw) => weight[((kh * 3 + kw) * cin + ci) * cout + co]));
      U[ci].push(sandwich(G, taps, G, t).map((row) => row.map(operand)));
    }
  }
  const act = p.activation ?? 'none';
  const out = new Float64Array(N * OH * OW * cout);
  const rows = axisTiles(OH, p.dilationH, tile);
  const cols = axisTiles(OW, p.dilationW, tile);
  for (let n = 0; n < N; n++) {
    for (let th = 0; th < rows.tiles; th++) {
      for (let tw = 0; tw < cols.tiles; tw++) {
        // The tile's first output along each axis: phase + d * i0 (conv2d_winograd_params.wgsl).
        const oh0 = Math.floor(th / rows.perPhase) + (th % rows.perPhase) * tile * p.dilationH;
        const ow0 = Math.floor(tw / cols.perPhase) + (tw % cols.perPhase) * tile * p.dilationW;
        const V: number[][][] = [];
        for (let ci = 0; ci < cin; ci++) {
          const patch = Array.from({ length: alpha }, (_, j) => {
            const ih = oh0 - p.padTop + j * p.dilationH;
            return Array.from({ length: alpha }, (_, k) => {
              const iw = ow0 - p.padLeft + k * p.dilationW;
              return ih >= 0 && ih < H && iw >= 0 && iw < W ? input[((n * H + ih) * W + iw) * cin + ci] : 0;
            });
          });
          V.push(sandwich(BT, patch, BT, t).map((row) => row.map(operand)));
        }
        for (let co = 0; co < cout; co++) {
          const M = Array.from({ length: alpha }, (_, a) =>
            Array.from({ length: alpha }, (_, b) => {
              let acc = 0;
              for (let ci = 0; ci < cin; ci++) acc = sum(acc + sum(V[ci][a][b] * U[ci][co][a][b]));
              return acc;
            }),
          );
          const Y = sandwich(AT, M, AT, t);
          for (let a = 0; a < tile; a++) {
            for (let b = 0; b < tile; b++) {
              const oh = oh0 + a * p.dilationH;
              const ow = ow0 + b * p.dilationW;
              if (oh >= OH || ow >= OW) continue;
              const idx = ((n * OH + oh) * OW + ow) * cout + co;
              let v = Y[a][b];
              if (extras.scale) v *= extras.scale[co];
              if (extras.bias) v += extras.bias[co];
              if (extras.residual) v += extras.residual[idx];
              out[idx] = activateCpu(v, act);
            }
          }
        }
      }
    }
  }
  return out;
}
