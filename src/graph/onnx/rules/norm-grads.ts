// The gradients of layer norm (each row's channels normalised) and group norm (each batch item's
// values, one group) as standard ONNX operators, as the CPU reference computes them
// (src/kernels/normalization-cpu.ts): per group, with g = dy gamma and xhat the normalised input,
//   dx = rstd (g - mean(g) - xhat mean(g xhat)),  dgamma = sum dy xhat,  dbeta = sum dy,
// the sums over everything but the channels. A map is NCHW here (channels ONNX's axis 1); other
// ranks keep ours (channels last).
import type { Value } from '../../value.js';
import type { OnnxEmitter } from '../emitter.js';
import { onnxSteps } from './steps.js';

/** dx, dgamma, dbeta of a normalisation over `over` ('channels': layer norm; 'item': group norm, one group). */
export function normGradOnnx(g: OnnxEmitter, o: { x: Value; gamma: Value; dy: Value; eps: number; over: 'channels' | 'item' }, out: { dx: string; dgamma: string; dbeta: string }): void {
  const s = onnxSteps(g);
  const rank = o.x.shape.length;
  const channelAxis = rank === 4 ? 1 : rank - 1;
  const C = o.x.shape[rank - 1];
  const groupAxes = o.over === 'channels' ? [channelAxis] : Array.from({ length: rank - 1 }, (_, i) => i + 1);
  const otherAxes = Array.from({ length: rank }, (_, i) => i).filter((a) => a !== channelAxis);
  const gammaDims = Array.from({ length: rank }, (_, i) => (i === channelAxis ? C : 1));
  const [x, dy] = [g.tensor(o.x), g.tensor(o.dy)];
  const mean = s.mean(x, groupAxes);
  const centred = s.op('Sub', [x, mean]);
  const rstd = s.op('Reciprocal', [s.op('Sqrt', [s.op('Add', [s.mean(s.op('Mul', [centred, centred]), groupAxes), s.f(o.eps)])])]);
  const xhat = s.op('Mul', [centred, rstd]);
  const gdy = s.op('Mul', [dy, s.reshape(g.tensor(o.gamma), gammaDims)]);
  const inner = s.op('Sub', [s.op('Sub', [gdy, s.mean(gdy, groupAxes)]), s.op('Mul', [xhat, s.mean(s.op('Mul', [gdy, xhat]), groupAxes)])]);
  s.op('Mul', [inner, rstd], {}, out.dx);
  s.reshape(s.sum(s.op('Mul', [dy, xhat]), otherAxes), [C], out.dgamma);
  s.reshape(s.sum(dy, otherAxes), [C], out.dbeta);
}
