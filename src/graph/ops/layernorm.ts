// layer_norm: normalisation over the last axis with an affine weight and bias (MobileViT's
// transformer layers), and its gradient op.
import { shapeString } from '../../gpu/tensor.js';
import { fromLike } from '../../kernels/cpu-arrays.js';
import {
  type LayerNormParams,
  layerNormCpu,
  layerNormGradCpu,
  layerNormGradSpecs,
  layerNormScratchShape,
  layerNormSpec,
  prepareLayerNorm,
  prepareLayerNormGrad,
} from '../../kernels/layernorm/layernorm.js';
import { normGradOnnx } from '../onnx/rules/norm-grads.js';
import { tfliteNormalise } from '../tflite/emitter.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface LayerNormOp {
  type: 'layer_norm';
  input: Value;
  gamma: Value;
  beta: Value;
  attrs: LayerNormParams;
}

/** Gradients of layer_norm; outputs dx, dgamma, dbeta and the row statistics (scratch). */
export interface LayerNormGradOp {
  type: 'layer_norm_grad';
  x: Value;
  gamma: Value;
  dy: Value;
  attrs: LayerNormParams;
}

const channels = (v: Value): number => v.shape[v.shape.length - 1];

function checkAffine(input: Value, params: Record<string, Value>): void {
  const c = channels(input);
  for (const [role, v] of Object.entries(params)) {
    if (v.shape.length !== 1 || v.shape[0] !== c) throw new Error(`layer-norm ${role} ${shapeString(v.shape)} does not match the ${c} channels of ${shapeString(input.shape)}`);
  }
}

export const layerNormOp: OpDef<LayerNormOp> = {
  type: 'layer_norm',
  half: true,
  operands: ['input', 'gamma', 'beta'],
  infer(op) {
    checkAffine(op.input, { gamma: op.gamma, beta: op.beta });
    return [{ shape: [...op.input.shape], dtype: 'f32' }];
  },
  lower: (op) => ({
    specs: [layerNormSpec()],
    prepare: (ctx, t, [out]) => [prepareLayerNorm(ctx, { input: t(op.input), gamma: t(op.gamma), beta: t(op.beta), out }, op.attrs)],
  }),
  cpu(op, read) {
    const f = (v: Value): Float32Array => read(v) as Float32Array;
    return [layerNormCpu(f(op.input), op.input.shape, f(op.gamma), f(op.beta), op.attrs)];
  },
  // Mean, variance, normalise and the affine map: about 8 operations an element.
  cost: (_op, [out]) => ({ macs: 0, flops: 8 * numel(out.shape) }),
  grad(op, _outputs, [dy], g) {
    if (!dy) return {};
    const [dx, dgamma, dbeta] = g.emit<LayerNormGradOp>('', { type: 'layer_norm_grad', x: op.input, gamma: op.gamma, dy, attrs: op.attrs });
    return { input: dx, gamma: dgamma, beta: dbeta };
  },
  // ONNX normalises from an axis to the end: a map (NCHW there) is normalised in NHWC order.
  onnx(op, [out], g) {
    const inputs = (x: string): string[] => [x, g.tensor(op.gamma), g.tensor(op.beta)];
    const attrs = { axis: { int: -1 }, epsilon: { float: op.attrs.eps } };
    if (op.input.shape.length !== 4) return g.node('LayerNormalization', inputs(g.tensor(op.input)), [out], attrs);
    const nhwc = g.intermediate('nhwc');
    const normed = g.intermediate('normalised');
    g.node('Transpose', [g.tensor(op.input)], [nhwc], { perm: { ints: [0, 2, 3, 1] } });
    g.node('LayerNormalization', inputs(nhwc), [normed], attrs);
    g.node('Transpose', [normed], [out], { perm: { ints: [0, 3, 1, 2] } });
  },
  // TF Lite has no layer-norm builtin: its arithmetic over the last axis, (x - mean) x rsqrt(var + eps) x gamma + beta.
  tflite(op, [out], g) {
    tfliteNormalise(g, { ...op, eps: op.attrs.eps }, g.constant('axis', 'INT32', [1], [op.input.shape.length - 1]), [...op.input.shape.slice(0, -1), 1], out);
  },
};

export const layerNormGradOp: OpDef<LayerNormGradOp> = {
  type: 'layer_norm_grad',
  operands: ['x', 'gamma', 'dy'],
  infer(op) {
    checkAffine(op.x, { gamma: op.gamma });
    if (shapeString(op.dy.shape) !== shapeString(op.x.shape)) throw new Error(`dy ${shapeString(op.dy.shape)} does not match x ${shapeString(op.x.shape)}`);
    const C = channels(op.x);
    return [
      { shape: [...op.x.shape], dtype: 'f32' },
      { shape: [C], dtype: 'f32' },
      { shape: [C], dtype: 'f32' },
      { shape: layerNormScratchShape(op.x.shape), dtype: 'f32' },
    ];
  },
  lower: (op) => ({
    specs: layerNormGradSpecs(),
    prepare: (ctx, t, [dx, dgamma, dbeta, stats]) => prepareLayerNormGrad(ctx, { x: t(op.x), gamma: t(op.gamma), dy: t(op.dy), dx, dgamma, dbeta, stats }, op.attrs),
  }),
  cpu(op, read) {
    const f = (v: Value): Float32Array => read(v) as Float32Array;
    const r = layerNormGradCpu(f(op.x), op.x.shape, f(op.gamma), f(op.dy), op.attrs);
    return [r.dx, fromLike(r.dx, r.dgamma), fromLike(r.dx, r.dbeta), new Float32Array(0)];
  },
  cost: (op) => ({ macs: 0, flops: 12 * numel(op.x.shape) }),
};

// In standard operators (src/graph/onnx/rules/norm-grads.ts); the row statistics (scratch) are not written.
layerNormGradOp.onnx = (op, [dx, dgamma, dbeta], g) => normGradOnnx(g, { ...op, eps: op.attrs.eps, over: 'channels' }, { dx, dgamma, dbeta });
