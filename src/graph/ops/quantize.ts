// quantize_dynamic: onnxruntime's DynamicQuantizeLinear, what a q8 ONNX file runs before each of
// its convolutions and matrix products (src/kernels/quantize/dynamic-quantize.ts). Its outputs:
// each value's uint8 code less the zero point (an integer in [-255, 255], as f32: a conv of it
// with integer weights sums exactly), the scale and the zero point ([1] each). Integer codes have
// no gradient and no half-precision form: the op runs in f32 inference programs only.
import { dynamicQuantizeCpu, dynamicQuantizeSpecs, prepareDynamicQuantize } from '../../kernels/quantize/dynamic-quantize.js';
import { ONNX_FLOAT } from '../onnx/proto.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface QuantizeDynamicOp {
  type: 'quantize_dynamic';
  input: Value;
}

export const quantizeDynamicOp: OpDef<QuantizeDynamicOp> = {
  type: 'quantize_dynamic',
  operands: ['input'],
  inferenceOnly:
    "a q8 file's dynamic quantisation (DynamicQuantizeLinear, ConvInteger, MatMulInteger) has no gradient and is exact only in f32: fine-tune, or run in half precision, the fp32 file it was made from (model.onnx beside it)",
  infer(op) {
    if (op.input.dtype !== 'f32') throw new Error(`quantize_dynamic reads f32 values, got ${op.input.dtype}`);
    return [
      { shape: [...op.input.shape], dtype: 'f32' },
      { shape: [1], dtype: 'f32' },
      { shape: [1], dtype: 'f32' },
    ];
  },
  lower: (op) => ({
    specs: dynamicQuantizeSpecs(),
    prepare: (ctx, t, [values, scale, zeroPoint]) => prepareDynamicQuantize(ctx, { input: t(op.input), values, scale, zeroPoint }),
  }),
  cpu(op, read) {
    const q = dynamicQuantizeCpu(read(op.input));
    return [q.values, Float32Array.of(q.scale), Float32Array.of(q.zeroPoint)];
  },
  // A min and max, then a division and a rounding a value.
  cost: (op) => ({ macs: 0, flops: 4 * numel(op.input.shape) }),
  // DynamicQuantizeLinear itself; its uint8 code and zero point as floats, the code less the
  // zero point, and the two scalars as the [1] tensors our op gives.
  onnx(op, [values, scale, zeroPoint], g) {
    const [code, s, zp] = ['code', 'scale', 'zero_point'].map((h) => g.intermediate(h));
    g.node('DynamicQuantizeLinear', [g.tensor(op.input)], [code, s, zp]);
    const [codeF, zpF] = [g.intermediate('code_f32'), g.intermediate('zero_point_f32')];
    g.node('Cast', [code], [codeF], { to: { int: ONNX_FLOAT } });
    g.node('Cast', [zp], [zpF], { to: { int: ONNX_FLOAT } });
    g.node('Sub', [codeF, zpF], [values]);
    const one = g.constant('shape_1', 'int64', [1], [1]);
    g.node('Reshape', [s, one], [scale]);
    g.node('Reshape', [zpF, one], [zeroPoint]);
  },
};
