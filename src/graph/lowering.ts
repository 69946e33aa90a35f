// Maps each graph node onto kernels: the specs to compile ahead, and how to prepare its
// dispatches once every tensor has a buffer.
import type { GpuContext } from '../gpu/context.js';
import type { Dispatch } from '../gpu/dispatch.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { batchNormSpec, prepareBatchNorm } from '../kernels/batchnorm.js';
import { concatSpec, prepareConcat } from '../kernels/concat.js';
import { conv2dSpec, prepareConv2d } from '../kernels/conv2d.js';
import { elementwiseBroadcast, elementwiseSpec, prepareElementwise } from '../kernels/elementwise.js';
import { globalAvgPoolSpec, pool2dSpec, prepareGlobalAvgPool, preparePool2d } from '../kernels/pool.js';
import { prepareResizeBilinear, resizeBilinearSpec } from '../kernels/resize.js';
import { prepareResizeArgmax, resizeArgmaxSpec } from '../kernels/resize-argmax.js';
import { argmaxSpec, prepareArgmax, prepareSoftmax, softmaxSpec } from '../kernels/softmax.js';
import type { Node, Value } from './ir.js';

export interface LoweredNode {
  specs: KernelSpec[];
  prepare(ctx: GpuContext, tensorOf: (v: Value) => GpuTensor, out: GpuTensor): Dispatch[];
}

export function lowerNode(node: Node): LoweredNode {
  const op = node.op;
  switch (op.type) {
    case 'conv2d': {
      const has = { bias: !!op.bias, scale: !!op.scale, residual: !!op.residual };
      return {
        specs: [conv2dSpec(op.input.shape, op.weight.shape, op.attrs, has)],
        prepare: (ctx, t, out) => [
          prepareConv2d(
            ctx,
            {
              input: t(op.input),
              weight: t(op.weight),
              bias: op.bias && t(op.bias),
              scale: op.scale && t(op.scale),
              residual: op.residual && t(op.residual),
              out,
            },
            op.attrs,
          ),
        ],
      };
    }
    case 'batchnorm':
      return {
        specs: [batchNormSpec(op.attrs)],
        prepare: (ctx, t, out) => [
          prepareBatchNorm(
            ctx,
            { input: t(op.input), gamma: t(op.gamma), beta: t(op.beta), mean: t(op.mean), variance: t(op.variance), out },
            op.attrs,
          ),
        ],
      };
    case 'add':
    case 'mul': {
      const params = { op: op.type, activation: op.attrs.activation };
      const broadcast = elementwiseBroadcast(op.a.shape, op.b.shape, op.type);
      return {
        specs: [elementwiseSpec(params, broadcast)],
        prepare: (ctx, t, out) => [prepareElementwise(ctx, { a: t(op.a), b: t(op.b), out }, params)],
      };
    }
    case 'activation': {
      const params = { op: 'unary' as const, activation: op.attrs.activation };
      return {
        specs: [elementwiseSpec(params, 0)],
        prepare: (ctx, t, out) => [prepareElementwise(ctx, { a: t(op.input), out }, params)],
      };
    }
    case 'global_avg_pool':
      return {
        specs: [globalAvgPoolSpec()],
        prepare: (ctx, t, out) => [prepareGlobalAvgPool(ctx, { input: t(op.input), out })],
      };
    case 'pool2d':
      return {
        specs: [pool2dSpec(op.attrs)],
        prepare: (ctx, t, out) => [preparePool2d(ctx, { input: t(op.input), out }, op.attrs)],
      };
    case 'resize':
      return {
        specs: [resizeBilinearSpec(op.attrs)],
        prepare: (ctx, t, out) => [prepareResizeBilinear(ctx, { input: t(op.input), out }, op.attrs)],
      };
    case 'resize_argmax':
      return {
        specs: [resizeArgmaxSpec(op.attrs)],
        prepare: (ctx, t, out) => [prepareResizeArgmax(ctx, { input: t(op.input), out }, op.attrs)],
      };
    case 'concat':
      return {
        specs: [concatSpec()],
        prepare: (ctx, t, out) => prepareConcat(ctx, { inputs: op.inputs.map(t), out }),
      };
    case 'softmax':
      return { specs: [softmaxSpec()], prepare: (ctx, t, out) => [prepareSoftmax(ctx, { input: t(op.input), out })] };
    case 'argmax':
      return { specs: [argmaxSpec()], prepare: (ctx, t, out) => [prepareArgmax(ctx, { input: t(op.input), out })] };
  }
}
