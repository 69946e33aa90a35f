// Broadcasting ops: `binary` (a + b, a - b, a * b, a / b with numpy's broadcasting between
// operands of one rank), `expand` (a tensor broadcast to a larger shape) and `reduce_sum` (a sum
// over the axes a shape has at 1), each the other's transpose: what an imported ONNX graph's
// arithmetic needs beyond add and mul of equal shapes.
import { shapeString } from '../../gpu/tensor.js';
import {
  type BroadcastOp,
  broadcastCpu,
  broadcastOutputShape,
  broadcastSpec,
  broadcastsTo,
  expandCpu,
  prepareBroadcast,
  prepareReduceSum,
  reduceSumCpu,
  reduceSumOutputShape,
  reduceSumSpec,
} from '../../kernels/broadcast/broadcast.js';
import type { Value } from '../value.js';
import type { ScaleOp } from './elementwise.js';
import { type GradEmitter, type OpDef, numel } from './op-def.js';

export interface BinaryBroadcastOp {
  type: 'binary';
  a: Value;
  b: Value;
  attrs: { op: BroadcastOp };
}

export interface ExpandOp {
  type: 'expand';
  input: Value;
  attrs: { shape: number[] };
}

export interface ReduceSumOp {
  type: 'reduce_sum';
  input: Value;
  attrs: { shape: number[] };
}

const sameShape = (a: readonly number[], b: readonly number[]) => shapeString(a) === shapeString(b);

/** `x` summed to `shape` where it is larger (a broadcast operand's gradient). */
function sumTo(g: GradEmitter, hint: string, x: Value, shape: readonly number[]): Value {
  return sameShape(x.shape, shape) ? x : g.emit<ReduceSumOp>(hint, { type: 'reduce_sum', input: x, attrs: { shape: [...shape] } })[0];
}

const binaryOf = (g: GradEmitter, hint: string, op: BroadcastOp, a: Value, b: Value): Value => g.emit<BinaryBroadcastOp>(hint, { type: 'binary', a, b, attrs: { op } })[0];
const negated = (g: GradEmitter, hint: string, x: Value): Value => g.emit<ScaleOp>(hint, { type: 'scale', input: x, attrs: { factor: -1 } })[0];

export const binaryOp: OpDef<BinaryBroadcastOp> = {
  type: 'binary',
  half: true,
  operands: ['a', 'b'],
  infer: (op) => [{ shape: broadcastOutputShape(op.a.shape, op.b.shape, `binary(${op.attrs.op})`), dtype: 'f32' }],
  lower: (op) => ({ specs: [broadcastSpec(op.attrs.op)], prepare: (ctx, t, [out]) => [prepareBroadcast(ctx, { a: t(op.a), b: t(op.b), out }, op.attrs.op)] }),
  cpu: (op, read) => [broadcastCpu(read(op.a) as Float32Array, op.a.shape, read(op.b) as Float32Array, op.b.shape, op.attrs.op)],
  cost: (_op, [out]) => ({ macs: 0, flops: numel(out.shape) }),
  // d(a + b) = dy; d(a - b) = dy, -dy; d(a * b) = dy b, dy a; d(a / b) = dy / b, -dy (a / b) / b: each summed over what the operand broadcasts.
  grad(op, [y], [dy], g) {
    if (!dy) return {};
    const { a, b } = op;
    const need = { a: g.needs(a), b: g.needs(b) };
    switch (op.attrs.op) {
      case 'add':
        return { a: need.a ? sumTo(g, 'da', dy, a.shape) : undefined, b: need.b ? sumTo(g, 'db', dy, b.shape) : undefined };
      case 'sub':
        return { a: need.a ? sumTo(g, 'da', dy, a.shape) : undefined, b: need.b ? sumTo(g, 'db', negated(g, 'neg', dy), b.shape) : undefined };
      case 'mul':
        return { a: need.a ? sumTo(g, 'da', binaryOf(g, 'dy_b', 'mul', dy, b), a.shape) : undefined, b: need.b ? sumTo(g, 'db', binaryOf(g, 'dy_a', 'mul', dy, a), b.shape) : undefined };
      case 'div':
        return {
          a: need.a ? sumTo(g, 'da', binaryOf(g, 'dy_over_b', 'div', dy, b), a.shape) : undefined,
          b: need.b ? sumTo(g, 'db', negated(g, 'neg', binaryOf(g, 'dy_y_over_b', 'div', binaryOf(g, 'dy_y', 'mul', dy, y), b)), b.shape) : undefined,
        };
    }
  },
};

export const expandOp: OpDef<ExpandOp> = {
  type: 'expand',
  half: true,
  operands: ['input'],
  infer(op) {
    if (!broadcastsTo(op.input.shape, op.attrs.shape)) throw new Error(`expand: ${shapeString(op.input.shape)} does not broadcast to ${shapeString(op.attrs.shape)}`);
    return [{ shape: [...op.attrs.shape], dtype: 'f32' }];
  },
  lower: (op) => ({ specs: [broadcastSpec('expand')], prepare: (ctx, t, [out]) => [prepareBroadcast(ctx, { a: t(op.input), out }, 'expand')] }),
  cpu: (op, read) => [expandCpu(read(op.input) as Float32Array, op.input.shape, op.attrs.shape)],
  cost: () => ({ macs: 0, flops: 0 }),
  grad: (op, _outputs, [dy], g) => ({ input: dy && sumTo(g, '', dy, op.input.shape) }),
};

export const reduceSumOp: OpDef<ReduceSumOp> = {
  type: 'reduce_sum',
  half: true,
  operands: ['input'],
  infer: (op) => [{ shape: reduceSumOutputShape(op.input.shape, op.attrs.shape), dtype: 'f32' }],
  lower: (op) => ({ specs: [reduceSumSpec()], prepare: (ctx, t, [out]) => [prepareReduceSum(ctx, { input: t(op.input), out })] }),
  cpu: (op, read) => [reduceSumCpu(read(op.input) as Float32Array, op.input.shape, op.attrs.shape)],
  cost: (op) => ({ macs: 0, flops: numel(op.input.shape) }),
  grad: (op, _outputs, [dy], g) => ({ input: dy && g.emit<ExpandOp>('', { type: 'expand', input: dy, attrs: { shape: [...op.input.shape] } })[0] }),
};

// ONNX: maps (rank 4, state operands included) are NCHW there, so a rank-4 operand's shape and
// axes are read in that order; other ranks keep ours.
const NHWC_IN_NCHW = [0, 3, 1, 2];
const onnxShape = (shape: readonly number[]): number[] => (shape.length === 4 ? NHWC_IN_NCHW.map((a) => shape[a]) : [...shape]);
const ONNX_BINARY: Record<BroadcastOp, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div' };

binaryOp.onnx = (op, [out], g) => g.node(ONNX_BINARY[op.attrs.op], [g.tensor(op.a), g.tensor(op.b)], [out]);
expandOp.onnx = (op, [out], g) => g.node('Expand', [g.tensor(op.input), g.constant('shape', 'int64', [op.attrs.shape.length], onnxShape(op.attrs.shape))], [out]);
reduceSumOp.onnx = (op, [out], g) => {
  const axes = onnxShape(op.input.shape).flatMap((d, i) => (onnxShape(op.attrs.shape)[i] === 1 && d !== 1 ? [i] : []));
  // No axis to sum (empty axes would sum them all): the input as it is.
  if (axes.length === 0) return g.node('Identity', [g.tensor(op.input)], [out]);
  g.node('ReduceSum', [g.tensor(op.input), g.constant('axes', 'int64', [axes.length], axes)], [out], { keepdims: { int: 1 } });
};

// TF Lite: ADD, SUB, MUL and DIV broadcast as numpy does; BROADCAST_TO; SUM keeping its axes.
const TFLITE_BINARY: Record<BroadcastOp, [string, string]> = { add: ['ADD', 'AddOptions'], sub: ['SUB', 'SubOptions'], mul: ['MUL', 'MulOptions'], div: ['DIV', 'DivOptions'] };
binaryOp.tflite = (op, [out], g) => {
  const [opcode, table] = TFLITE_BINARY[op.attrs.op];
  g.op(opcode, [g.tensor(op.a), g.tensor(op.b)], [out], { table, fields: { fusedActivationFunction: 'NONE' } });
};
expandOp.tflite = (op, [out], g) => g.op('BROADCAST_TO', [g.tensor(op.input), g.constant('shape', 'INT32', [op.attrs.shape.length], op.attrs.shape)], [out]);
reduceSumOp.tflite = (op, [out], g) => {
  const axes = op.input.shape.flatMap((d, i) => (op.attrs.shape[i] === 1 && d !== 1 ? [i] : []));
  if (axes.length === 0) return g.op('RESHAPE', [g.tensor(op.input), g.constant('shape', 'INT32', [op.attrs.shape.length], op.attrs.shape)], [out], { table: 'ReshapeOptions', fields: { newShape: op.attrs.shape } });
  g.op('SUM', [g.tensor(op.input), g.constant('axes', 'INT32', [axes.length], axes)], [out], { table: 'ReducerOptions', fields: { keepDims: true } });
};
