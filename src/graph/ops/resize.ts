// Bilinear resize in every corner convention, and the fused resize + argmax that gives class
// maps at a photo's size without materialising full-size logits.
import { shapeString } from '../../gpu/tensor.js';
import {
  type ResizeMode,
  prepareResizeBilinear,
  prepareResizeBilinearGrad,
  resizeBilinearCpu,
  resizeBilinearGradCpu,
  resizeBilinearGradScratchShape,
  resizeBilinearGradSpec,
  resizeBilinearSpec,
  resizeLayout,
  resizeTunable,
} from '../../kernels/resize/resize.js';
import { prepareResizeArgmax, resizeArgmaxCpu, resizeArgmaxSpec } from '../../kernels/resize/resize-argmax.js';
import { resizeGradOnnx } from '../onnx/rules/map-grads.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface ResizeAttrs {
  outH: number;
  outW: number;
  mode: ResizeMode;
}

export interface ResizeOp {
  type: 'resize';
  input: Value;
  attrs: ResizeAttrs;
}

export interface ResizeArgmaxOp {
  type: 'resize_argmax';
  input: Value;
  attrs: ResizeAttrs;
}

function checkResize(input: Value, a: ResizeAttrs): void {
  if (input.shape.length !== 4) throw new Error(`resize needs NHWC, got ${shapeString(input.shape)}`);
  for (const [k, v] of [['outH', a.outH], ['outW', a.outW]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`resize ${k} must be a positive integer, got ${v}`);
  }
}

// Back at the image's size: stride 1; an upsample to any other size (the pooled branch) has none.
const resizeStride = (a: ResizeAttrs, imageHeight: number | undefined): number | null => (a.outH === imageHeight ? 1 : null);

export const resizeOp: OpDef<ResizeOp> = {
  half: true,
  type: 'resize',
  operands: ['input'],
  infer(op) {
    checkResize(op.input, op.attrs);
    const [n, , , c] = op.input.shape;
    return [{ shape: [n, op.attrs.outH, op.attrs.outW, c], dtype: 'f32' }];
  },
  lower: (op, _outputs, ctx) => {
    // The layout is chosen here, once, for the program's precision: the kernel compiled is the one prepared.
    const layout = resizeLayout(ctx, op.input.shape, op.attrs, op.input.dtype === 'f16' ? 'f16' : 'f32');
    return {
      specs: [resizeBilinearSpec(op.attrs, layout)],
      prepare: (ctx, t, [out]) => [prepareResizeBilinear(ctx, { input: t(op.input), out }, op.attrs, layout)],
    };
  },
  cpu: (op, read) => [resizeBilinearCpu(read(op.input) as Float32Array, op.input.shape, op.attrs)],
  // 4 taps, a multiply and an add each.
  cost: (_op, [out]) => ({ macs: 0, flops: 8 * numel(out.shape) }),
  tunable: (op, ctx) => resizeTunable(ctx, op.input.shape, op.attrs, op.input.dtype === 'f16' ? 'f16' : 'f32'),
  outputStride: (op, _s, imageHeight) => resizeStride(op.attrs, imageHeight),
};

export const resizeArgmaxOp: OpDef<ResizeArgmaxOp> = {
  type: 'resize_argmax',
  operands: ['input'],
  infer(op) {
    checkResize(op.input, op.attrs);
    return [{ shape: [op.input.shape[0], op.attrs.outH, op.attrs.outW], dtype: 'u32' }];
  },
  lower: (op) => ({
    specs: [resizeArgmaxSpec(op.attrs)],
    prepare: (ctx, t, [out]) => [prepareResizeArgmax(ctx, { input: t(op.input), out }, op.attrs)],
  }),
  cpu: (op, read) => [resizeArgmaxCpu(read(op.input) as Float32Array, op.input.shape, op.attrs)],
  // Every channel resized (8) then compared (1) per output pixel.
  cost: (op, [out]) => ({ macs: 0, flops: 9 * numel(out.shape) * op.input.shape[3] }),
  outputStride: (op, _s, imageHeight) => resizeStride(op.attrs, imageHeight),
};

/** Gradient of a bilinear resize; the second output is the scratch between its two passes. */
export interface ResizeGradOp {
  type: 'resize_grad';
  dy: Value;
  attrs: ResizeAttrs & { inputShape: number[] };
}

export const resizeGradOp: OpDef<ResizeGradOp> = {
  type: 'resize_grad',
  operands: ['dy'],
  infer(op) {
    const [n, , , c] = op.attrs.inputShape;
    const expected = [n, op.attrs.outH, op.attrs.outW, c];
    if (shapeString(op.dy.shape) !== shapeString(expected)) throw new Error(`dy ${shapeString(op.dy.shape)} is not the resize's output ${shapeString(expected)}`);
    return [
      { shape: [...op.attrs.inputShape], dtype: 'f32' },
      { shape: resizeBilinearGradScratchShape(op.attrs.inputShape, op.attrs), dtype: 'f32' },
    ];
  },
  lower: (op) => ({
    specs: [resizeBilinearGradSpec(op.attrs.mode)],
    prepare: (ctx, t, [dx, scratch]) => prepareResizeBilinearGrad(ctx, { dy: t(op.dy), scratch, dx }, op.attrs),
  }),
  cpu: (op, read) => [resizeBilinearGradCpu(read(op.dy) as Float32Array, op.attrs.inputShape, op.attrs), new Float32Array(0)],
  cost: (op) => ({ macs: 0, flops: 8 * numel(op.dy.shape) }),
};

resizeOp.grad = (op, _outputs, [dy], g) => ({
  input: dy && g.emit<ResizeGradOp>('', { type: 'resize_grad', dy, attrs: { ...op.attrs, inputShape: [...op.input.shape] } })[0],
});

// ONNX Resize (linear) to explicit sizes; its coordinate_transformation_mode names our three
// conventions alike (see ResizeMode), half_pixel's clamp at 0 included.
resizeOp.onnx = (op, [out], g) => {
  const [n, , , c] = op.input.shape;
  const sizes = g.constant(`sizes_${op.attrs.outH}x${op.attrs.outW}`, 'int64', [4], [n, c, op.attrs.outH, op.attrs.outW]);
  g.node('Resize', [g.tensor(op.input), '', '', sizes], [out], {
    mode: { string: 'linear' },
    coordinate_transformation_mode: { string: op.attrs.mode },
  });
};

// The gradient as two MatMuls with the interpolation matrices (its scratch is not written).
resizeGradOp.onnx = (op, [out], g) => resizeGradOnnx(g, op.dy, op.attrs.inputShape, op.attrs, out);

// TF Lite RESIZE_BILINEAR to a constant size; align_corners and half_pixel_centers name our
// conventions (asymmetric is neither), half-pixel's clamp at 0 as ours.
resizeOp.tflite = (op, [out], g) => {
  const size = g.constant(`size_${op.attrs.outH}x${op.attrs.outW}`, 'INT32', [2], [op.attrs.outH, op.attrs.outW]);
  const fields = { alignCorners: op.attrs.mode === 'align_corners', halfPixelCenters: op.attrs.mode === 'half_pixel' };
  g.op('RESIZE_BILINEAR', [g.tensor(op.input), size], [out], { table: 'ResizeBilinearOptions', fields });
};
