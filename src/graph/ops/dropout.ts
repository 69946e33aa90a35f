// dropout: training-only inverted dropout of the heads (torchvision's ASPP projection and FCN
// head, TF DeepLab's concat projection) or channelwise (mmseg's Dropout2d). The mask is a hash of
// the per-run u32 input `seed`, the layer's salt and the element index (or image and channel), so
// the gradient is the same op applied to dy.
import { shapeString } from '../../gpu/tensor.js';
import { dropoutCpu, dropoutSpec, prepareDropout } from '../../kernels/elementwise/dropout.js';
import { dropoutOnnx } from '../onnx/rules/dropout.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface DropoutOp {
  type: 'dropout';
  input: Value;
  /** u32 [1]: changes every step. */
  seed: Value;
  attrs: { p: number; salt: number; channelwise?: boolean };
}

export const dropoutOp: OpDef<DropoutOp> = {
  type: 'dropout',
  operands: ['input', 'seed'],
  infer(op) {
    if (op.seed.dtype !== 'u32' || numel(op.seed.shape) !== 1) throw new Error(`dropout: seed must be one u32, got ${op.seed.dtype} ${shapeString(op.seed.shape)}`);
    return [{ shape: [...op.input.shape], dtype: 'f32' }];
  },
  lower: (op) => ({
    specs: [dropoutSpec()],
    prepare: (ctx, t, [out]) => [prepareDropout(ctx, { x: t(op.input), seed: t(op.seed), out }, op.attrs)],
  }),
  cpu: (op, read) => [dropoutCpu(read(op.input) as Float32Array, read(op.seed)[0], op.attrs, op.input.shape)],
  cost: (op) => ({ macs: 0, flops: numel(op.input.shape) }),
  grad: (op, _outputs, [dy], g) => ({ input: dy && g.emit<DropoutOp>('', { type: 'dropout', input: dy, seed: op.seed, attrs: op.attrs })[0] }),
};

// The kernel's mask in int64 arithmetic (src/graph/onnx/rules/dropout.ts), shared by the forward
// pass and its gradient.
dropoutOp.onnx = (op, [out], g) => dropoutOnnx(g, op.input, op.seed, op.attrs, out);
