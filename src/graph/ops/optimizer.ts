// Ops that update state in place (their outputs are the state values they write):
//  - accumulate: a gradient added into its accumulator over micro-batches (`first` is a
//    per-run u32 flag: the first micro-batch overwrites);
//  - sgd: SGD with momentum and weight decay on a parameter and its momentum buffer, the
//    per-step values (lr, momentum, weight decay, first step) from a per-run input.
import { shapeString } from '../../gpu/tensor.js';
import { accumulateCpu, accumulateSpec, prepareAccumulate } from '../../kernels/optimizer/accumulate.js';
import { type SgdGroup, prepareSgd, sgdCpu, sgdSpec } from '../../kernels/optimizer/sgd.js';
import { accumulateOnnx, sgdOnnx } from '../onnx/rules/optimizer.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface AccumulateOp {
  type: 'accumulate';
  g: Value;
  first: Value;
  acc: Value;
}

export interface SgdOp {
  type: 'sgd';
  grad: Value;
  hyper: Value;
  param: Value;
  momentum: Value;
  attrs: SgdGroup;
}

const sameShape = (a: Value, b: Value, what: string): void => {
  if (shapeString(a.shape) !== shapeString(b.shape)) throw new Error(`${what} ${shapeString(a.shape)} does not match ${shapeString(b.shape)}`);
};

export const accumulateOp: OpDef<AccumulateOp> = {
  type: 'accumulate',
  operands: ['g', 'first', 'acc'],
  infer(op) {
    sameShape(op.g, op.acc, 'gradient');
    if (op.acc.kind !== 'state') throw new Error(`the accumulator ${op.acc.name} must be state`);
    return [];
  },
  lower: (op) => ({
    specs: [accumulateSpec()],
    prepare: (ctx, t, [acc]) => [prepareAccumulate(ctx, { g: t(op.g), first: t(op.first), acc })],
  }),
  cpu: (op, read) => [accumulateCpu(read(op.acc) as Float32Array, read(op.g) as Float32Array, read(op.first)[0] !== 0)],
  cost: (op) => ({ macs: 0, flops: numel(op.g.shape) }),
};

export const sgdOp: OpDef<SgdOp> = {
  type: 'sgd',
  operands: ['grad', 'hyper', 'param', 'momentum'],
  infer(op) {
    sameShape(op.grad, op.param, 'gradient');
    sameShape(op.momentum, op.param, 'momentum buffer');
    if (op.param.kind !== 'state' || op.momentum.kind !== 'state') throw new Error('sgd updates state only');
    return [];
  },
  lower: (op) => ({
    specs: [sgdSpec()],
    prepare: (ctx, t, [param, momentum]) => [prepareSgd(ctx, { grad: t(op.grad), hyper: t(op.hyper), param, momentum }, op.attrs)],
  }),
  cpu(op, read) {
    const h = read(op.hyper);
    const r = sgdCpu(read(op.param), read(op.grad), read(op.momentum), { lr: h[0], momentum: h[1], weightDecay: h[2], first: h[3] !== 0 }, op.attrs);
    return [Float32Array.from(r.param), Float32Array.from(r.momentum)];
  },
  cost: (op) => ({ macs: 0, flops: 4 * numel(op.param.shape) }),
};

accumulateOp.onnx = (op, [acc], g) => accumulateOnnx(g, op.g, op.first, op.acc, acc);
sgdOp.onnx = (op, [param, momentum], g) => sgdOnnx(g, { ...op, group: op.attrs }, { param, momentum });
