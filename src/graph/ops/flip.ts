// flip_w: left-right mirror (flipped inference mirrors the flipped view's logits back).
import { flipWidthCpu, flipWidthSpec, prepareFlipWidth } from '../../kernels/layout/flip.js';
import { shapeString } from '../../gpu/tensor.js';
import type { Value } from '../value.js';
import type { OpDef } from './op-def.js';

export interface FlipWidthOp {
  type: 'flip_w';
  input: Value;
}

export const flipWidthOp: OpDef<FlipWidthOp> = {
  type: 'flip_w',
  operands: ['input'],
  infer(op) {
    if (op.input.shape.length !== 4) throw new Error(`flip needs NHWC, got ${shapeString(op.input.shape)}`);
    return [{ shape: [...op.input.shape], dtype: 'f32' }];
  },
  lower: (op) => ({ specs: [flipWidthSpec()], prepare: (ctx, t, [out]) => [prepareFlipWidth(ctx, { input: t(op.input), out })] }),
  cpu: (op, read) => [flipWidthCpu(read(op.input) as Float32Array, op.input.shape)],
  cost: () => ({ macs: 0, flops: 0 }),
  // A mirror is its own inverse (and its own transpose).
  grad: (_op, _outputs, [dy], g) => ({ input: dy && g.emit<FlipWidthOp>('', { type: 'flip_w', input: dy })[0] }),
};
