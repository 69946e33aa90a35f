// The backward kernels' view of a convolution: the forward's shapes and params validated under
// the backward kernel's name, and the sizes derived from them.
import type { Shape } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';
import { type Conv2dParams, conv2dOutputShape } from '../conv2d/params.js';

export const INPUT_GRAD = 'conv2dInputGrad';
export const WEIGHT_GRAD = 'conv2dWeightGrad';
export const BIAS_GRAD = 'conv2dBiasGrad';

/** Everything the backward kernels need, derived from validated shapes. */
export interface Geometry {
  N: number;
  H: number;
  W: number;
  cin: number;
  KH: number;
  KW: number;
  cout: number;
  OH: number;
  OW: number;
  cinPerGroup: number;
  coutPerGroup: number;
}

/**
 * Validates the forward's input / weight shapes and params (the forward's checks, reported under
 * the backward kernel's name) and, when given, that dY has the forward's output shape.
 */
export function geometry(kernel: string, inputShape: Shape, weightShape: Shape, p: Conv2dParams, dOutShape?: Shape): Geometry {
  if (p.activation !== undefined && p.activation !== 'none') {
    throw new Error(
      `${kernel}: params.activation is '${p.activation}'; the backward kernels differentiate the bare convolution ` +
        `(apply the activation's derivative to dOut first and pass activation 'none')`,
    );
  }
  let outShape: number[];
  try {
    outShape = conv2dOutputShape(inputShape, weightShape, p);
  } catch (e) {
    throw new Error(`${kernel}: ${(e as Error).message}`);
  }
  if (dOutShape) expectShape(dOutShape, outShape, kernel, 'dOut (the forward output shape)');
  const [N, H, W, cin] = inputShape;
  const [KH, KW, cinPerGroup, cout] = weightShape;
  const [, OH, OW] = outShape;
  return { N, H, W, cin, KH, KW, cout, OH, OW, cinPerGroup, coutPerGroup: cout / p.groups };
}

export function expectLength(kernel: string, what: string, a: ArrayLike<number>, n: number): void {
  if (a.length !== n) throw new Error(`${kernel}: ${what} has ${a.length} values, expected ${n}`);
}

