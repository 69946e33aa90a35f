// The optimizer's in-place updates as standard ONNX operators: their outputs are the new values
// of the state they update (a training graph's outputs, src/graph/onnx/lower-training.ts), in
// the layout that state is held in, so nothing is transposed.
import type { SgdGroup } from '../../../kernels/optimizer/sgd.js';
import type { Value } from '../../value.js';
import type { OnnxEmitter } from '../emitter.js';
import { onnxSteps } from './steps.js';

/** acc = g on a step's first micro-batch (the u32 flag `first` is 1), acc + g after. */
export function accumulateOnnx(g: OnnxEmitter, grad: Value, first: Value, acc: Value, out: string): void {
  const s = onnxSteps(g);
  const layout = g.layoutOf(acc);
  const [gt, at] = [g.tensor(grad, layout), g.tensor(acc, layout)];
  const restart = g.shared(`first|${first.id}`, () => s.op('Cast', [g.tensor(first)], { to: { int: 9 } }));
  s.op('Where', [restart, gt, s.op('Add', [at, gt])], {}, out);
  g.written(out, layout);
}

/**
 * SGD with momentum and weight decay (PyTorch's, as src/kernels/optimizer/sgd.ts computes it),
 * the per-step values read from `hyper` [lr, momentum, weight decay, first]:
 *   d = grad + wd param; buf = first ? d : momentum buf + d; param -= lr buf.
 * The first step's choice is a factor, momentum (1 - first), on the buffer (which a run starts
 * at zero): ONNX Runtime's Where with a scalar condition ran several times slower than a Mul.
 */
export function sgdOnnx(g: OnnxEmitter, o: { grad: Value; hyper: Value; param: Value; momentum: Value; group: SgdGroup }, out: { param: string; momentum: string }): void {
  const s = onnxSteps(g);
  const layout = g.layoutOf(o.param);
  const scalar = (key: string, make: () => string): string => g.shared(`sgd|${o.hyper.id}|${key}`, make);
  const hyper = (k: number): string => scalar(`h${k}`, () => s.op('Slice', [g.tensor(o.hyper), s.ints([k]), s.ints([k + 1])]));
  const scaled = (k: number, factor: number | undefined): string => (factor === undefined || factor === 1 ? hyper(k) : scalar(`h${k}*${factor}`, () => s.op('Mul', [hyper(k), s.f(factor)])));
  const keep = scalar('keep', () => s.op('Mul', [hyper(1), s.op('Sub', [s.f(1), hyper(3)])]));
  const param = g.tensor(o.param, layout);
  const d = s.op('Add', [g.tensor(o.grad, layout), s.op('Mul', [param, scaled(2, o.group.decayScale)])]);
  const buf = s.op('Add', [s.op('Mul', [g.tensor(o.momentum, layout), keep]), d], {}, out.momentum);
  s.op('Sub', [param, s.op('Mul', [buf, scaled(0, o.group.lrScale)])], {}, out.param);
  g.written(out.param, layout);
  g.written(out.momentum, layout);
}
