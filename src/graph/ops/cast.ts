// cast: a float tensor converted between f32 and f16 storage. Only the half-precision compile
// pass (src/graph/half.ts) emits it; the canonical graph is all f32.
import { castCpu, castSpec, prepareCast } from '../../kernels/elementwise/cast.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface CastOp {
  type: 'cast';
  input: Value;
  attrs: { to: 'f32' | 'f16' };
}

export const castOp: OpDef<CastOp> = {
  type: 'cast',
  operands: ['input'],
  infer(op) {
    const from = op.input.dtype;
    if (from !== 'f32' && from !== 'f16') throw new Error(`cast converts float tensors, got ${from}`);
    if (from === op.attrs.to) throw new Error(`cast from ${from} to itself`);
    return [{ shape: [...op.input.shape], dtype: op.attrs.to }];
  },
  lower: (op) => ({ specs: [castSpec(op.attrs.to)], prepare: (ctx, t, [out]) => [prepareCast(ctx, { input: t(op.input), out })] }),
  cpu: (op, read) => [castCpu(read(op.input) as Float32Array, op.attrs.to)],
  cost: (_op, [out]) => ({ macs: 0, flops: numel(out.shape) }),
  // The gradient of a cast is the gradient cast back.
  grad: (op, _outputs, [dy], g) => ({ input: dy && g.emit<CastOp>('', { type: 'cast', input: dy, attrs: { to: op.input.dtype as 'f32' | 'f16' } })[0] }),
};
