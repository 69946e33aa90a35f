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
 */
export function sgdOnnx(g: OnnxEmitter, o: { grad: Value; hyper: Value; param: Value; momentum: Value; group: SgdGroup }, out: { param: string; momentum: string }): void {
  const s = onnxSteps(g);
  const layout = g.layoutOf(o.param);
  const hyper = (k: number, hint: string): string => g.shared(`sgd|${o.hyper.id}|${hint}`, () => s.op('Slice', [g.tensor(o.hyper), s.ints([k]), s.ints([k + 1])]));
  const [lr, momentum, decay] = [hyper(0, 'lr'), hyper(1, 'momentum'), hyper(2, 'decay')];
  const first = g.shared(`sgd|${o.hyper.id}|first`, () => s.op('Cast', [hyper(3, 'first-value')], { to: { int: 9 } }));
  const scaled = (t: string, factor: number | undefined): string => (factor === undefined || factor === 1 ? t : s.op('Mul', [t, s.f(factor)]));
  const param = g.tensor(o.param, layout);
  const d = s.op('Add', [g.tensor(o.grad, layout), s.op('Mul', [param, scaled(decay, o.group.decayScale)])]);
  const buf = s.op('Where', [first, d, s.op('Add', [s.op('Mul', [g.tensor(o.momentum, layout), momentum]), d])], {}, out.momentum);
  s.op('Sub', [param, s.op('Mul', [buf, scaled(lr, o.group.lrScale)])], {}, out.param);
  g.written(out.param, layout);
  g.written(out.momentum, layout);
}
