// The version each operator code states: the lowest version of the builtin that has what the
// operator uses (its tensor types, dilation, half-pixel centres), as TF's converter states it
// (tensorflow/lite/tools/versioning/op_version.cc). Interpreters register each builtin for a
// range of versions and refuse a model naming a version they lack, so stating no more than the
// operator needs keeps the file loadable by older runtimes.
import type { TfliteOperatorSpec, TfliteTensorSpec } from './model.js';

export function operatorVersion(op: TfliteOperatorSpec, tensors: readonly TfliteTensorSpec[]): number {
  const input = tensors[op.inputs[0]]?.type;
  const output = tensors[op.outputs[0]]?.type;
  const int8 = input === 'INT8' || input === 'UINT8';
  const f = op.options?.fields ?? {};
  switch (op.opcode) {
    case 'CONV_2D':
      if (int8) return 3;
      return tensors[op.inputs[1]]?.type === 'INT8' ? 2 : 1;
    case 'DEPTHWISE_CONV_2D':
      if (int8) return 3;
      return Number(f.dilationHFactor ?? 1) !== 1 || Number(f.dilationWFactor ?? 1) !== 1 ? 2 : 1;
    case 'RESIZE_BILINEAR':
      if (f.halfPixelCenters) return 3;
      return int8 ? 2 : 1;
    case 'DEQUANTIZE':
      if (input === 'FLOAT16') return 3;
      return input === 'INT8' ? 2 : 1;
    case 'QUANTIZE':
      return output === 'INT8' && input !== 'FLOAT32' ? 2 : 1;
    case 'ADD':
    case 'MUL':
    case 'SUB':
    case 'CONCATENATION':
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D':
    case 'MEAN':
    case 'PAD':
    case 'SOFTMAX':
    case 'LOGISTIC':
    case 'ARG_MAX':
    case 'RESHAPE':
    case 'TRANSPOSE':
    case 'SLICE':
      return int8 ? 2 : 1;
    default:
      return 1;
  }
}
