// Import rules of the elementwise ops: activations, the four arithmetic ops with numpy
// broadcasting, and the ops that pass their input on (Identity, Dropout at inference, a float
// Cast).
import type { Activation } from '../../../kernels/activation/activation.js';
import type { Value } from '../../ir.js';
import { type ImportContext, type Slot, type ValueSlot, identityOrder } from './context.js';
import { broadcastDims, hostBinary, hostTensor, numelOf } from './host.js';
import type { ImportRule } from './rules-nn.js';

/** Input i as a value slot (a constant made state in its own layout). */
function valueInput(c: ImportContext, i: number, what: string): ValueSlot {
  return c.value(c.need(i, what));
}

/** The slot of `v`, which holds what `x` holds in x's layout (an elementwise op's output). */
const like = (c: ImportContext, x: ValueSlot, v: Value): ValueSlot => c.slotOf(v, x.dims, x.order);

function activation(a: Activation): ImportRule {
  return (c) => {
    const x = valueInput(c, 0, 'input');
    return [like(c, x, c.b.activation(c.layer(), x.v, a))];
  };
}

const near = (x: number, y: number): boolean => Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y));

const hardSigmoid: ImportRule = (c) => {
  c.only(['alpha', 'beta']);
  const [alpha, beta] = [c.float('alpha', 0.2), c.float('beta', 0.5)];
  // Ours is PyTorch's, min(max(x + 3, 0), 6) / 6: alpha 1/6, beta 1/2.
  if (!near(alpha, 1 / 6) || !near(beta, 0.5)) c.refuse(`alpha ${alpha} and beta ${beta}: only PyTorch's hard sigmoid (alpha 1/6, beta 0.5) is run`);
  return activation('hardsigmoid')(c);
};

const clip: ImportRule = (c) => {
  const bound = (i: number, attr: string, dflt: number): number => {
    if (c.opset < 11) return c.float(attr, dflt);
    const s = c.input(i);
    return s ? c.constant(i, attr).data[0] : dflt;
  };
  const [lo, hi] = [bound(1, 'min', -Infinity), bound(2, 'max', Infinity)];
  if (lo === 0 && hi === 6) return activation('relu6')(c);
  if (lo === 0 && hi === Infinity) return activation('relu')(c);
  return c.refuse(`clips to [${lo}, ${hi}]: only ReLU6 [0, 6] and ReLU [0, inf) are run`);
};

/**
 * LeakyRelu as relu(x) + alpha * (x - relu(x)): exactly ONNX's x or alpha * x (where x > 0 the
 * difference is 0, else relu(x) is 0), so it fuses, trains and exports as those ops do.
 */
const leakyRelu: ImportRule = (c) => {
  c.only(['alpha']);
  const alpha = c.float('alpha', 0.01);
  const x = valueInput(c, 0, 'input');
  const positive = c.b.activation(c.layer('positive'), x.v, 'relu');
  const negative = c.b.binary(c.layer('negative'), 'sub', x.v, positive);
  const slope = c.b.node(c.layer('slope'), { type: 'scale', input: negative, attrs: { factor: alpha } })[0];
  return [like(c, x, c.b.addValues(c.layer(), positive, slope))];
};

const gelu: ImportRule = (c) => {
  if (c.string('approximate', 'none') !== 'none') c.refuse(`approximate '${c.string('approximate', 'none')}': only the exact GELU is run`);
  return activation('gelu')(c);
};

/** Identity, Dropout at inference, a Cast between float types: the input as it is. */
const passOn: ImportRule = (c) => {
  if (c.node.opType === 'Cast') {
    const to = c.int('to', 1);
    if (![1, 10, 11, 16].includes(to)) c.refuse(`casts a float value to type ${to}: only float values are run`);
  }
  if (c.node.opType === 'Dropout' && c.node.outputs[1]) c.refuse('outputs its mask, which inference does not make');
  return [c.need(0, 'input')];
};

/** A slot's ONNX dims. */
export const dimsOf = (s: Slot): number[] => (s.kind === 'const' ? s.t.dims : s.dims);

/** A slot as a value of rank `rank` (unit axes added in front) in `order`. */
function operand(c: ImportContext, s: Slot, rank: number, order: readonly number[]): Value {
  if (s.kind === 'const') return c.state(s.t, order);
  if (s.dims.length === rank) return c.valueIn(s, order);
  const dims = [...new Array<number>(rank - s.dims.length).fill(1), ...s.dims];
  const flat = c.b.reshape(c.layer('rank'), c.valueIn(s, identityOrder(s.dims.length)), dims);
  return c.valueIn(c.slotOf(flat, dims, identityOrder(rank)), order);
}

/** `a op b` with numpy broadcasting between two slots (either may be a constant, made state). */
function binarySlots(c: ImportContext, op: 'add' | 'sub' | 'mul' | 'div', a: Slot, b: Slot): ValueSlot {
  const dims = broadcastDims(dimsOf(a), dimsOf(b)) ?? c.refuse(`cannot broadcast [${dimsOf(a).join(',')}] and [${dimsOf(b).join(',')}]`);
  const same = (s: Slot): s is ValueSlot => s.kind === 'value' && s.dims.length === dims.length && s.dims.every((d, i) => d === dims[i]);
  const scalar = (s: Slot): number | undefined => (s.kind === 'const' && numelOf(s.t.dims) === 1 ? s.t.data[0] : undefined);
  // x * k, x / k, k * x: a scale, no state.
  const k = scalar(b);
  if (same(a) && k !== undefined && (op === 'mul' || op === 'div')) return like(c, a, c.b.node(c.layer(), { type: 'scale', input: a.v, attrs: { factor: op === 'mul' ? k : 1 / k } })[0]);
  if (same(b) && scalar(a) !== undefined && op === 'mul') return like(c, b, c.b.node(c.layer(), { type: 'scale', input: b.v, attrs: { factor: scalar(a)! } })[0]);
  // The output takes the layout of an operand of the output's dims, else ONNX's.
  const full = same(a) ? a : same(b) ? b : undefined;
  const order = full?.order ?? identityOrder(dims.length);
  const x = operand(c, a, dims.length, order);
  const y = operand(c, b, dims.length, order);
  const out = order.map((i) => dims[i]);
  const shapeIs = (v: Value, s: readonly number[]) => v.shape.length === s.length && v.shape.every((d, i) => d === s[i]);
  let v: Value;
  if (op === 'add' && shapeIs(x, out) && shapeIs(y, out)) v = c.b.addValues(c.layer(), x, y);
  else if (op === 'mul' && shapeIs(x, out) && (shapeIs(y, out) || (out.length === 4 && shapeIs(y, [out[0], 1, 1, out[3]])))) v = c.b.mulValues(c.layer(), x, y);
  else if (op === 'mul' && shapeIs(y, out) && out.length === 4 && shapeIs(x, [out[0], 1, 1, out[3]])) v = c.b.mulValues(c.layer(), y, x);
  else v = c.b.binary(c.layer(), op, x, y);
  return c.slotOf(v, dims, order);
}

function binary(op: 'add' | 'sub' | 'mul' | 'div'): ImportRule {
  return (c) => [binarySlots(c, op, c.need(0, 'A'), c.need(1, 'B'))];
}

/**
 * Where by a condition known when the graph is built (a mask of the shapes: the dynamo exporter's
 * masked_fill in adaptive pooling and shifted windows): X times the mask plus Y times its
 * complement, each constant side folded with its mask. Exact for finite values (v * 1 = v, v * 0
 * = 0, and one of the two terms is 0).
 */
const where: ImportRule = (c) => {
  const cond = c.constant(0, 'condition');
  const sides = [c.need(1, 'X'), c.need(2, 'Y')];
  const dims = [cond.dims, ...sides.map(dimsOf)].reduce<number[] | null>((d, e) => d && broadcastDims(d, e), []) ?? c.refuse('cannot broadcast its condition and values');
  const masks = [0, 1].map((side) => hostTensor(`${c.node.name}:mask${side}`, 'float', cond.dims, Array.from(cond.data, (v) => ((v !== 0) === (side === 0) ? 1 : 0))));
  let constant = hostTensor(`${c.node.name}:constant`, 'float', dims, new Float32Array(numelOf(dims)));
  const terms: ValueSlot[] = [];
  sides.forEach((s, i) => {
    if (masks[i].data.every((v) => v === 0)) return;
    if (s.kind === 'const') constant = hostBinary(constant.name, constant, hostBinary('', s.t, masks[i], 'float', (x, m) => x * m)!, 'float', (x, y) => x + y)!;
    else terms.push(binarySlots(c, 'mul', s, { kind: 'const', t: masks[i] }));
  });
  if (terms.length === 0) return [{ kind: 'const', t: constant }];
  let out = terms.reduce((x, y) => binarySlots(c, 'add', x, y));
  const full = out.dims.length === dims.length && out.dims.every((d, i) => d === dims[i]);
  if (!full || constant.data.some((v) => v !== 0)) out = binarySlots(c, 'add', out, { kind: 'const', t: constant });
  return [out];
};

export const MATH_RULES: Readonly<Record<string, ImportRule>> = {
  Relu: activation('relu'),
  Sigmoid: activation('sigmoid'),
  HardSwish: activation('hardswish'),
  Tanh: activation('tanh'),
  Erf: activation('erf'),
  HardSigmoid: hardSigmoid,
  Clip: clip,
  LeakyRelu: leakyRelu,
  Gelu: gelu,
  // Sigmoid(x) * x, as patterns.ts finds it.
  Silu: activation('silu'),
  Identity: passOn,
  Dropout: passOn,
  Cast: passOn,
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Where: where,
};
