// group_norm: group normalisation with one group (nn.GroupNorm(1, C), MobileViTV2's transformer
// layers): each batch item of a map normalised over all its values, an affine weight and bias
// per channel; and its gradient op.
import { shapeString } from '../../gpu/tensor.js';
import { type GroupNormParams, groupNormCpu, groupNormGradCpu, groupNormGradSpecs, groupNormSpecs, prepareGroupNorm, prepareGroupNormGrad } from '../../kernels/groupnorm/groupnorm.js';
import { normGradOnnx } from '../onnx/rules/norm-grads.js';
import { tfliteNormalise } from '../tflite/emitter.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface GroupNormOp {
  type: 'group_norm';
  input: Value;
  gamma: Value;
  beta: Value;
  attrs: GroupNormParams;
}

/** Gradients of group_norm; outputs dx, dgamma and dbeta. */
export interface GroupNormGradOp {
  type: 'group_norm_grad';
  x: Value;
  gamma: Value;
  dy: Value;
  attrs: GroupNormParams;
}

function checkMap(input: Value, params: Record<string, Value>): number {
  if (input.shape.length !== 4) throw new Error(`group norm needs NHWC, got ${shapeString(input.shape)}`);
  const c = input.shape[3];
  for (const [role, v] of Object.entries(params)) {
    if (v.shape.length !== 1 || v.shape[0] !== c) throw new Error(`group-norm ${role} ${shapeString(v.shape)} does not match the ${c} channels of ${shapeString(input.shape)}`);
  }
  return c;
}

export const groupNormOp: OpDef<GroupNormOp> = {
  type: 'group_norm',
  half: true,
  operands: ['input', 'gamma', 'beta'],
  infer(op) {
    checkMap(op.input, { gamma: op.gamma, beta: op.beta });
    return [{ shape: [...op.input.shape], dtype: 'f32' }];
  },
  lower: (op) => ({
    specs: groupNormSpecs(),
    prepare: (ctx, t, [out]) => prepareGroupNorm(ctx, { input: t(op.input), gamma: t(op.gamma), beta: t(op.beta), out }, op.attrs),
  }),
  cpu(op, read) {
    const f = (v: Value): Float32Array => read(v) as Float32Array;
    return [groupNormCpu(f(op.input), op.input.shape, f(op.gamma), f(op.beta), op.attrs)];
  },
  // Mean, variance, normalise and the affine map: about 8 operations a value.
  cost: (_op, [out]) => ({ macs: 0, flops: 8 * numel(out.shape) }),
  grad(op, _outputs, [dy], g) {
    if (!dy) return {};
    const [dx, dgamma, dbeta] = g.emit<GroupNormGradOp>('', { type: 'group_norm_grad', x: op.input, gamma: op.gamma, dy, attrs: op.attrs });
    return { input: dx, gamma: dgamma, beta: dbeta };
  },
  // ONNX (opset 17) has no GroupNormalization: each item as one instance of one channel
  // ([N, 1, C*H*W]) through InstanceNormalization, back to NCHW, then the affine map per channel.
  onnx(op, [out], g) {
    const [n, h, w, c] = op.input.shape;
    const step = (opType: string, hint: string, inputs: string[], attrs = {}): string => {
      const y = g.intermediate(hint);
      g.node(opType, inputs, [y], attrs);
      return y;
    };
    const perChannel = g.constant('per_channel', 'int64', [3], [c, 1, 1]);
    const flat = step('Reshape', 'items', [g.tensor(op.input), g.constant('items_shape', 'int64', [3], [n, 1, c * h * w])]);
    const normed = step('InstanceNormalization', 'normalised', [flat, g.constant('one', 'float', [1], [1]), g.constant('zero', 'float', [1], [0])], { epsilon: { float: op.attrs.eps } });
    const map = step('Reshape', 'map', [normed, g.constant('map_shape', 'int64', [4], [n, c, h, w])]);
    const scaled = step('Mul', 'scaled', [map, step('Reshape', 'gamma', [g.tensor(op.gamma), perChannel])]);
    g.node('Add', [scaled, step('Reshape', 'beta', [g.tensor(op.beta), perChannel])], [out]);
  },
  // TF Lite: its arithmetic over each item's every value (one group), then the affine map per channel.
  tflite(op, [out], g) {
    tfliteNormalise(g, { ...op, eps: op.attrs.eps }, g.constant('axes', 'INT32', [3], [1, 2, 3]), [op.input.shape[0], 1, 1, 1], out);
  },
};

export const groupNormGradOp: OpDef<GroupNormGradOp> = {
  type: 'group_norm_grad',
  operands: ['x', 'gamma', 'dy'],
  infer(op) {
    const c = checkMap(op.x, { gamma: op.gamma });
    if (shapeString(op.dy.shape) !== shapeString(op.x.shape)) throw new Error(`dy ${shapeString(op.dy.shape)} does not match x ${shapeString(op.x.shape)}`);
    return [
      { shape: [...op.x.shape], dtype: 'f32' },
      { shape: [c], dtype: 'f32' },
      { shape: [c], dtype: 'f32' },
    ];
  },
  lower: (op) => ({
    specs: groupNormGradSpecs(),
    prepare: (ctx, t, [dx, dgamma, dbeta]) => prepareGroupNormGrad(ctx, { x: t(op.x), gamma: t(op.gamma), dy: t(op.dy), dx, dgamma, dbeta }, op.attrs),
  }),
  cpu(op, read) {
    const f = (v: Value): Float32Array => read(v) as Float32Array;
    const r = groupNormGradCpu(f(op.x), op.x.shape, f(op.gamma), f(op.dy), op.attrs);
    return [r.dx, r.dgamma, r.dbeta];
  },
  cost: (op) => ({ macs: 0, flops: 12 * numel(op.x.shape) }),
};

// In standard operators (src/graph/onnx/rules/norm-grads.ts): one group, each batch item's values.
groupNormGradOp.onnx = (op, [dx, dgamma, dbeta], g) => normGradOnnx(g, { ...op, eps: op.attrs.eps, over: 'item' }, { dx, dgamma, dbeta });
