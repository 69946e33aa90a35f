// permute: the input viewed as one shape, its axes reordered, read as another: transposes,
// reshapes, and MobileViT's unfolding of a map into patch sequences and folding back.
import { type PermuteParams, inversePermute, permuteCpu, permuteOutputShape, permuteSpec, preparePermute } from '../../kernels/layout/permute.js';
import type { Value } from '../value.js';
import type { OpDef } from './op-def.js';

export interface PermuteOp {
  type: 'permute';
  input: Value;
  attrs: PermuteParams;
}

const isIdentity = (perm: readonly number[]): boolean => perm.every((a, i) => a === i);

export const permuteOp: OpDef<PermuteOp> = {
  type: 'permute',
  half: true,
  operands: ['input'],
  infer: (op) => [{ shape: permuteOutputShape(op.input.shape, op.attrs), dtype: 'f32' }],
  lower: (op) => ({ specs: [permuteSpec()], prepare: (ctx, t, [out]) => [preparePermute(ctx, { input: t(op.input), out }, op.attrs)] }),
  cpu: (op, read) => [permuteCpu(read(op.input) as Float32Array, op.input.shape, op.attrs)],
  cost: () => ({ macs: 0, flops: 0 }),
  // A permutation's transpose is its inverse.
  grad: (op, _outputs, [dy], g) => ({ input: dy && g.emit<PermuteOp>('', { type: 'permute', input: dy, attrs: inversePermute(op.input.shape, op.attrs) })[0] }),
  // Maps are NCHW in ONNX: a rank-4 input is first brought back to our NHWC order, and a rank-4
  // output is written as NCHW, so the steps between are ours.
  onnx(op, [out], g) {
    const { view, perm, shape } = op.attrs;
    let x = g.tensor(op.input);
    const step = (opType: string, hint: string, inputs: (t: string) => string[], attrs = {}): void => {
      const y = g.intermediate(hint);
      g.node(opType, inputs(x), [y], attrs);
      x = y;
    };
    const reshape = (hint: string, dims: readonly number[]): void => step('Reshape', hint, (t) => [t, g.constant(`${hint}_shape`, 'int64', [dims.length], dims)]);
    if (op.input.shape.length === 4) step('Transpose', 'nhwc', (t) => [t], { perm: { ints: [0, 2, 3, 1] } });
    reshape('view', view);
    if (!isIdentity(perm)) step('Transpose', 'permuted', (t) => [t], { perm: { ints: perm } });
    if (shape.length === 4) {
      reshape('nhwc_out', shape);
      g.node('Transpose', [x], [out], { perm: { ints: [0, 3, 1, 2] } });
    } else {
      g.node('Reshape', [x, g.constant('shape', 'int64', [shape.length], shape)], [out]);
    }
  },
  // TF Lite: RESHAPE to the view, TRANSPOSE, RESHAPE to the shape (NHWC in both: no transposes of maps).
  tflite(op, [out], g) {
    const { view, perm, shape } = op.attrs;
    const reshape = (x: number, dims: readonly number[], y: number): void =>
      g.op('RESHAPE', [x, g.constant('shape', 'INT32', [dims.length], dims)], [y], { table: 'ReshapeOptions', fields: { newShape: dims } });
    let x = g.tensor(op.input);
    if (view.join() !== op.input.shape.join()) {
      const viewed = g.intermediate('view', view);
      reshape(x, view, viewed);
      x = viewed;
    }
    if (!isIdentity(perm)) {
      const permuted = g.intermediate('permuted', perm.map((p) => view[p]));
      g.op('TRANSPOSE', [x, g.constant('perm', 'INT32', [perm.length], perm)], [permuted]);
      x = permuted;
    }
    reshape(x, shape, out);
  },
};
