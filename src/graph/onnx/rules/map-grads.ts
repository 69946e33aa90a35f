// Gradients of the map ops as standard ONNX operators, on NCHW tensors: activations (PyTorch's
// derivatives at the kinks, src/kernels/activation/activation-grad.ts), windowed and global
// pooling, the bilinear resize (two MatMuls with its interpolation matrices) and softmax.
import type { Activation } from '../../../kernels/activation/activation.js';
import type { Pool2dParams } from '../../../kernels/pool/pool.js';
import { type ResizeParams, axisTapsCpu } from '../../../kernels/resize/resize.js';
import type { Value } from '../../value.js';
import type { OnnxEmitter } from '../emitter.js';
import { type OnnxSteps, onnxSteps } from './steps.js';

/** 0 / 1 of a boolean tensor, as float. */
const asFloat = (s: OnnxSteps, b: string): string => s.op('Cast', [b], { to: { int: 1 } });

/** f'(x) of `activation`, elementwise. */
function derivative(s: OnnxSteps, x: string, activation: Activation): string {
  const sigmoid = (): string => s.op('Sigmoid', [x]);
  switch (activation) {
    case 'none':
      return s.f(1);
    case 'relu':
      return asFloat(s, s.op('Greater', [x, s.f(0)]));
    case 'relu6':
      return asFloat(s, s.op('And', [s.op('Greater', [x, s.f(0)]), s.op('Less', [x, s.f(6)])]));
    case 'hardswish': {
      // 0 below -3, (2x + 3) / 6 up to 3, 1 above.
      const mid = s.op('Add', [s.op('Mul', [x, s.f(1 / 3)]), s.f(0.5)]);
      const low = s.op('Less', [x, s.f(-3)]);
      const high = s.op('Greater', [x, s.f(3)]);
      return s.op('Where', [low, s.f(0), s.op('Where', [high, s.f(1), mid])]);
    }
    case 'hardsigmoid':
      return s.op('Mul', [asFloat(s, s.op('And', [s.op('Greater', [x, s.f(-3)]), s.op('Less', [x, s.f(3)])])), s.f(1 / 6)]);
    case 'silu': {
      const sg = sigmoid();
      return s.op('Mul', [sg, s.op('Add', [s.f(1), s.op('Mul', [x, s.op('Sub', [s.f(1), sg])])])]);
    }
    case 'sigmoid': {
      const sg = sigmoid();
      return s.op('Mul', [sg, s.op('Sub', [s.f(1), sg])]);
    }
    case 'gelu': {
      // Phi(x) + x phi(x).
      const phi = s.op('Mul', [s.op('Add', [s.op('Erf', [s.op('Mul', [x, s.f(Math.SQRT1_2)])]), s.f(1)]), s.f(0.5)]);
      const density = s.op('Mul', [s.op('Exp', [s.op('Mul', [s.op('Mul', [x, x]), s.f(-0.5)])]), s.f(1 / Math.sqrt(2 * Math.PI))]);
      return s.op('Add', [phi, s.op('Mul', [x, density])]);
    }
    case 'tanh': {
      const t = s.op('Tanh', [x]);
      return s.op('Sub', [s.f(1), s.op('Mul', [t, t])]);
    }
    case 'erf':
      return s.op('Mul', [s.op('Exp', [s.op('Neg', [s.op('Mul', [x, x])])]), s.f(2 / Math.sqrt(Math.PI))]);
  }
}

/** dx = dy f'(x). */
export function activationGradOnnx(g: OnnxEmitter, x: Value, dy: Value, activation: Activation, out: string): void {
  const s = onnxSteps(g);
  const layout = g.layoutOf(dy);
  s.op('Mul', [g.tensor(dy, layout), derivative(s, g.tensor(x, layout), activation)], {}, out);
  g.written(out, layout);
}

/** dx of a global average pool: dy [N,C,1,1] / (H W), spread over the map. */
export function globalAvgPoolGradOnnx(g: OnnxEmitter, dy: Value, inputShape: readonly number[], out: string): void {
  const s = onnxSteps(g);
  const [n, h, w, c] = inputShape;
  s.op('Expand', [s.op('Mul', [g.tensor(dy), s.f(1 / (h * w))]), s.ints([n, c, h, w])], {}, out);
}

/**
 * dx of a windowed pool. Max: each window's gradient to its first largest input, found by
 * MaxPool's indices and scattered with ScatterElements' 'add'. Average: dy divided by each
 * window's count, spread by a transposed convolution with a kernel of ones.
 */
export function pool2dGradOnnx(g: OnnxEmitter, input: Value, dy: Value, p: Required<Pool2dParams>, out: string): void {
  const s = onnxSteps(g);
  const [n, h, w, c] = input.shape;
  const [, oh, ow] = dy.shape;
  const window = { kernel_shape: { ints: [p.kernelH, p.kernelW] }, strides: { ints: [p.strideH, p.strideW] }, pads: { ints: [p.padTop, p.padLeft, p.padBottom, p.padRight] } };
  if (p.kind === 'max') {
    const pooled = g.intermediate('pooled');
    const indices = g.intermediate('indices');
    g.node('MaxPool', [g.tensor(input)], [pooled, indices], window);
    // ConstantOfShape's default value is a float 0.
    const zeros = s.op('ConstantOfShape', [s.ints([n * c * h * w])]);
    const flat = s.op('ScatterElements', [zeros, s.reshape(indices, [n * c * oh * ow]), s.reshape(g.tensor(dy), [n * c * oh * ow])], { axis: { int: 0 }, reduction: { string: 'add' } });
    s.reshape(flat, [n, c, h, w], out);
    return;
  }
  // Each output cell's divisor: the whole window, or only its cells inside the input.
  const inside = (o: number, stride: number, pad: number, k: number, size: number): number => Math.min(o * stride - pad + k, size) - Math.max(o * stride - pad, 0);
  const counts = Array.from({ length: oh * ow }, (_, i) => {
    const [y, x] = [Math.floor(i / ow), i % ow];
    return 1 / ((p.countIncludePad ?? true) ? p.kernelH * p.kernelW : inside(y, p.strideH, p.padTop, p.kernelH, h) * inside(x, p.strideW, p.padLeft, p.kernelW, w));
  });
  const scaled = s.op('Mul', [g.tensor(dy), s.floats([1, 1, oh, ow], counts)]);
  const ones = s.floats([c, 1, p.kernelH, p.kernelW], new Array<number>(c * p.kernelH * p.kernelW).fill(1));
  const extent = (o: number, stride: number, k: number, p0: number, p1: number): number => stride * (o - 1) + k - p0 - p1;
  g.node('ConvTranspose', [scaled, ones], [out], {
    ...window,
    group: { int: c },
    output_padding: { ints: [h - extent(oh, p.strideH, p.kernelH, p.padTop, p.padBottom), w - extent(ow, p.strideW, p.kernelW, p.padLeft, p.padRight)] },
  });
}

/** The interpolation matrix of one axis, [out, in]: row o holds the bilinear weights of output o. */
function interpolation(inSize: number, outSize: number, mode: ResizeParams['mode']): number[] {
  const m = new Array<number>(outSize * inSize).fill(0);
  axisTapsCpu(inSize, outSize, mode).forEach(([i0, i1, t], o) => {
    m[o * inSize + i0] += 1 - t;
    m[o * inSize + i1] += t;
  });
  return m;
}

/** The transpose of a row-major [rows, cols] matrix. */
const transposed = (m: number[], rows: number, cols: number): number[] => Array.from({ length: rows * cols }, (_, i) => m[(i % rows) * cols + Math.floor(i / rows)]);

/** dx of a bilinear resize: Ah^T dy Aw, Ah [outH, H] and Aw [outW, W] its interpolation matrices. */
export function resizeGradOnnx(g: OnnxEmitter, dy: Value, inputShape: readonly number[], p: ResizeParams, out: string): void {
  const s = onnxSteps(g);
  const [, h, w] = inputShape;
  const alongW = s.op('MatMul', [g.tensor(dy), s.floats([p.outW, w], interpolation(w, p.outW, p.mode))]);
  s.op('MatMul', [s.floats([h, p.outH], transposed(interpolation(h, p.outH, p.mode), p.outH, h)), alongW], {}, out);
}

/** dx = y (dy - sum(dy y)) over the channels (ONNX axis 1 of a map, the last axis otherwise). */
export function softmaxGradOnnx(g: OnnxEmitter, y: Value, dy: Value, out: string): void {
  const s = onnxSteps(g);
  const axis = y.shape.length === 4 ? 1 : y.shape.length - 1;
  const [yt, dyt] = [g.tensor(y), g.tensor(dy)];
  s.op('Mul', [yt, s.op('Sub', [dyt, s.sum(s.op('Mul', [dyt, yt]), [axis])])], {}, out);
}
