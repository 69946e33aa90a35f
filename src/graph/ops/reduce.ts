// column_sum: a tensor summed over every axis but the last (a bias's or BN beta's gradient);
// its second output is the chunked reduction's scratch.
import { chunkSumSpec, columnSumCpu, columnSumScratchShape, columnSumSpec, prepareColumnSum } from '../../kernels/reduce.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface ColumnSumOp {
  type: 'column_sum';
  x: Value;
}

export const columnSumOp: OpDef<ColumnSumOp> = {
  type: 'column_sum',
  operands: ['x'],
  infer: (op) => [
    { shape: [op.x.shape[op.x.shape.length - 1]], dtype: 'f32' },
    { shape: columnSumScratchShape(op.x.shape), dtype: 'f32' },
  ],
  lower: (op) => ({
    specs: [columnSumSpec(), chunkSumSpec()],
    prepare: (ctx, t, [out, partial]) => prepareColumnSum(ctx, { x: t(op.x), partial, out }),
  }),
  cpu: (op, read) => [columnSumCpu(read(op.x) as Float32Array, op.x.shape), new Float32Array(0)],
  cost: (op) => ({ macs: 0, flops: numel(op.x.shape) }),
};
