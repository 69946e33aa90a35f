// Elementwise ops: add and mul (b the same shape as a, or [N,1,1,C] for mul: squeeze-and-excite)
// and a standalone activation. add and mul carry an activation the compile stage may fuse in.
import { shapeString } from '../../gpu/tensor.js';
import type { Activation } from '../../kernels/activation/activation.js';
import { activationGradCpu, activationGradSpec, prepareActivationGrad } from '../../kernels/activation/activation-grad.js';
import { elementwiseBroadcast, elementwiseCpu, elementwiseSpec, prepareElementwise, prepareScale, scaleCpu, scaleSpec } from '../../kernels/elementwise/elementwise.js';
import { type OnnxEmitter, type OnnxRule, fusedEpilogueError } from '../onnx/emitter.js';
import { activationGradOnnx } from '../onnx/rules/map-grads.js';
import { type TfliteRule, tfliteActivation, withActivation } from '../tflite/emitter.js';
import type { GlobalAvgPoolOp } from './pool.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface BinaryOp<T extends 'add' | 'mul' = 'add' | 'mul'> {
  type: T;
  a: Value;
  b: Value;
  attrs: { activation: Activation };
}

export interface ActivationOp {
  type: 'activation';
  input: Value;
  attrs: { activation: Activation };
}

function binary<T extends 'add' | 'mul'>(type: T): OpDef<BinaryOp<T>> {
  return {
    type,
    half: true,
    operands: ['a', 'b'],
    infer(op) {
      const same = shapeString(op.a.shape) === shapeString(op.b.shape);
      const seBroadcast = type === 'mul' && op.a.shape.length === 4 && shapeString(op.b.shape) === shapeString([op.a.shape[0], 1, 1, op.a.shape[3]]);
      if (!same && !seBroadcast) throw new Error(`cannot ${type} ${shapeString(op.a.shape)} and ${shapeString(op.b.shape)}`);
      return [{ shape: [...op.a.shape], dtype: 'f32' }];
    },
    lower(op) {
      const params = { op: type, activation: op.attrs.activation };
      return {
        specs: [elementwiseSpec(params, elementwiseBroadcast(op.a.shape, op.b.shape, type))],
        prepare: (ctx, t, [out]) => [prepareElementwise(ctx, { a: t(op.a), b: t(op.b), out }, params)],
      };
    },
    cpu: (op, read) => [
      elementwiseCpu(read(op.a) as Float32Array, op.a.shape, read(op.b) as Float32Array, op.b.shape, { op: type, activation: op.attrs.activation }),
    ],
    cost: (_op, [out]) => ({ macs: 0, flops: numel(out.shape) }),
    grad: type === 'add' ? addGrad : undefined,
  };
}

/** d(a + b) = dy for both (the canonical add has no activation and no broadcast). */
function addGrad(op: BinaryOp, _outputs: readonly Value[], [dy]: readonly (Value | undefined)[]) {
  if (op.attrs.activation !== 'none') throw new Error('add with a fused activation: differentiate the canonical graph, before fusion');
  return { a: dy, b: dy };
}

export const addOp = binary('add');
export const mulOp = binary('mul');

export const activationOp: OpDef<ActivationOp> = {
  half: true,
  type: 'activation',
  operands: ['input'],
  infer: (op) => [{ shape: [...op.input.shape], dtype: 'f32' }],
  lower(op) {
    const params = { op: 'unary' as const, activation: op.attrs.activation };
    return {
      specs: [elementwiseSpec(params, 0)],
      prepare: (ctx, t, [out]) => [prepareElementwise(ctx, { a: t(op.input), out }, params)],
    };
  },
  cpu: (op, read) => [elementwiseCpu(read(op.input) as Float32Array, op.input.shape, undefined, undefined, { op: 'unary', activation: op.attrs.activation })],
  cost: (_op, [out]) => ({ macs: 0, flops: numel(out.shape) }),
};

/** dx = dy * f'(x), x the activation's input. */
export interface ActivationGradOp {
  type: 'activation_grad';
  x: Value;
  dy: Value;
  attrs: { activation: Activation };
}

export const activationGradOp: OpDef<ActivationGradOp> = {
  type: 'activation_grad',
  operands: ['x', 'dy'],
  infer(op) {
    if (shapeString(op.x.shape) !== shapeString(op.dy.shape)) throw new Error(`dy ${shapeString(op.dy.shape)} does not match x ${shapeString(op.x.shape)}`);
    return [{ shape: [...op.x.shape], dtype: 'f32' }];
  },
  lower: (op) => ({
    specs: [activationGradSpec(op.attrs.activation)],
    prepare: (ctx, t, [dx]) => [prepareActivationGrad(ctx, { x: t(op.x), dy: t(op.dy), dx }, op.attrs.activation)],
  }),
  cpu: (op, read) => [activationGradCpu(read(op.x) as Float32Array, read(op.dy) as Float32Array, op.attrs.activation)],
  cost: (op) => ({ macs: 0, flops: numel(op.x.shape) }),
};

activationOp.grad = (op, _outputs, [dy], g) => ({
  input: dy && g.emit<ActivationGradOp>('', { type: 'activation_grad', x: op.input, dy, attrs: op.attrs })[0],
});

/** x times a constant of the graph. */
export interface ScaleOp {
  type: 'scale';
  input: Value;
  attrs: { factor: number };
}

export const scaleOp: OpDef<ScaleOp> = {
  type: 'scale',
  operands: ['input'],
  infer: (op) => [{ shape: [...op.input.shape], dtype: 'f32' }],
  lower: (op) => ({ specs: [scaleSpec()], prepare: (ctx, t, [out]) => [prepareScale(ctx, { x: t(op.input), out }, op.attrs.factor)] }),
  cpu: (op, read) => [scaleCpu(read(op.input) as Float32Array, op.attrs.factor)],
  cost: (op) => ({ macs: 0, flops: numel(op.input.shape) }),
  grad: (op, _outputs, [dy], g) => ({ input: dy && g.emit<ScaleOp>('', { type: 'scale', input: dy, attrs: op.attrs })[0] }),
};

/**
 * d(a * b): da = dy * b; db = dy * a, summed over H and W when b is broadcast ([N,1,1,C], the
 * squeeze-and-excite scale), as a mean over H and W times H*W.
 */
mulOp.grad = (op, _outputs, [dy], g) => {
  if (!dy) return {};
  if (op.attrs.activation !== 'none') throw new Error('mul with a fused activation: differentiate the canonical graph, before fusion');
  const da = g.needs(op.a) ? g.emit<BinaryOp<'mul'>>('a', { type: 'mul', a: dy, b: op.b, attrs: { activation: 'none' } })[0] : undefined;
  let db: Value | undefined;
  if (g.needs(op.b)) {
    const product = g.emit<BinaryOp<'mul'>>('b', { type: 'mul', a: dy, b: op.a, attrs: { activation: 'none' } })[0];
    if (shapeString(op.b.shape) === shapeString(op.a.shape)) db = product;
    else {
      const [, h, w] = op.a.shape;
      const mean = g.emit<GlobalAvgPoolOp>('b_mean', { type: 'global_avg_pool', input: product })[0];
      db = g.emit<ScaleOp>('b_sum', { type: 'scale', input: mean, attrs: { factor: h * w } })[0];
    }
  }
  return { a: da, b: db };
};

/** Our activations as ONNX operators (opset 17), from tensor `x` into tensor `y`. */
function onnxActivation(g: OnnxEmitter, activation: Activation, x: string, y: string): void {
  switch (activation) {
    case 'none':
      return g.node('Identity', [x], [y]);
    case 'relu':
      return g.node('Relu', [x], [y]);
    case 'relu6':
      return g.node('Clip', [x, g.constant('zero', 'float', [], [0]), g.constant('six', 'float', [], [6])], [y]);
    case 'hardswish':
      return g.node('HardSwish', [x], [y]);
    case 'hardsigmoid':
      // ONNX: max(0, min(1, alpha * x + beta)); ours min(max(x + 3, 0), 6) / 6.
      return g.node('HardSigmoid', [x], [y], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
    case 'silu': {
      // Opset 17 has no SiLU operator: x * Sigmoid(x).
      const s = g.intermediate('sigmoid');
      g.node('Sigmoid', [x], [s]);
      return g.node('Mul', [x, s], [y]);
    }
    case 'sigmoid':
      return g.node('Sigmoid', [x], [y]);
    case 'gelu': {
      // Opset 17 has no Gelu (opset 20 does): x * 0.5 * (1 + Erf(x / sqrt 2)).
      const scaled = g.intermediate('gelu_scaled');
      g.node('Mul', [x, g.constant('one_over_sqrt2', 'float', [], [Math.SQRT1_2])], [scaled]);
      const e = g.intermediate('gelu_erf');
      g.node('Erf', [scaled], [e]);
      const phi2 = g.intermediate('gelu_one_plus_erf');
      g.node('Add', [e, g.constant('one', 'float', [], [1])], [phi2]);
      const half = g.intermediate('gelu_half_x');
      g.node('Mul', [x, g.constant('half', 'float', [], [0.5])], [half]);
      return g.node('Mul', [half, phi2], [y]);
    }
    case 'tanh':
      return g.node('Tanh', [x], [y]);
    case 'erf':
      return g.node('Erf', [x], [y]);
  }
}

// Add and Mul broadcast numpy-style: the squeeze-and-excite scale [N,C,1,1] needs nothing more.
// Operands of one shape are read in a's layout (two weight gradients summed stay OIHW).
function binaryOnnx(onnxType: 'Add' | 'Mul'): OnnxRule<BinaryOp> {
  return (op, [out], g) => {
    if (op.attrs.activation !== 'none') throw fusedEpilogueError(`activation (${op.attrs.activation})`);
    const layout = shapeString(op.a.shape) === shapeString(op.b.shape) ? g.layoutOf(op.a) : undefined;
    g.node(onnxType, [g.tensor(op.a, layout), g.tensor(op.b, layout)], [out]);
    if (layout) g.written(out, layout);
  };
}
addOp.onnx = binaryOnnx('Add');
mulOp.onnx = binaryOnnx('Mul');

activationOp.onnx = (op, [out], g) => onnxActivation(g, op.attrs.activation, g.tensor(op.input), out);
scaleOp.onnx = (op, [out], g) => {
  const layout = g.layoutOf(op.input);
  g.node('Mul', [g.tensor(op.input, layout), g.constant('factor', 'float', [], [op.attrs.factor])], [out]);
  g.written(out, layout);
};
activationGradOp.onnx = (op, [out], g) => activationGradOnnx(g, op.x, op.dy, op.attrs.activation, out);

// TF Lite: ADD and MUL (broadcasting the squeeze-and-excite scale [N,1,1,C] as they are), the
// activation fused where TF Lite fuses it.
function binaryTflite(opcode: 'ADD' | 'MUL'): TfliteRule<BinaryOp> {
  return (op, [out], g) => {
    const table = opcode === 'ADD' ? 'AddOptions' : 'MulOptions';
    withActivation(g, op.attrs.activation, out, op.a.shape, (target, fused) => g.op(opcode, [g.tensor(op.a), g.tensor(op.b)], [target], { table, fields: { fusedActivationFunction: fused } }));
  };
}
addOp.tflite = binaryTflite('ADD');
mulOp.tflite = binaryTflite('MUL');
activationOp.tflite = (op, [out], g) => tfliteActivation(g, op.attrs.activation, g.tensor(op.input), out, op.input.shape);
scaleOp.tflite = (op, [out], g) =>
  g.op('MUL', [g.tensor(op.input), g.constant('factor', 'FLOAT32', [], [op.attrs.factor])], [out], { table: 'MulOptions', fields: { fusedActivationFunction: 'NONE' } });
