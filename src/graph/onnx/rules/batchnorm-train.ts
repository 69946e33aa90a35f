// Batch norm in training mode and its gradient as standard ONNX operators (opset 17's
// BatchNormalization trains only in onnxruntime's training build), on NCHW maps: statistics
// over batch, rows and columns; the running statistics updated as PyTorch does (the batch
// variance made unbiased for the running one).
import type { Value } from '../../value.js';
import type { OnnxEmitter } from '../emitter.js';
import { onnxSteps } from './steps.js';

const MAP_AXES = [0, 2, 3];

function checkMap(v: Value): void {
  if (v.shape.length !== 4) throw new Error(`batch norm in training takes NHWC maps, got rank ${v.shape.length}`);
}

/** A per-channel vector [C] as [1, C, 1, 1] beside an NCHW map. */
const perChannel = (g: OnnxEmitter, v: Value): string => onnxSteps(g).reshape(g.tensor(v), [1, v.shape[0], 1, 1]);

/**
 * y, the batch mean and biased variance ([C]), and the updated running mean and variance, into
 * the tensors `out` names (y, mean, variance, runningMean, runningVariance).
 */
export function batchNormTrainOnnx(
  g: OnnxEmitter,
  o: { input: Value; gamma: Value; beta: Value; mean: Value; variance: Value; eps: number; momentum: number },
  out: { y: string; mean: string; variance: string; runningMean: string; runningVariance: string },
): void {
  checkMap(o.input);
  const s = onnxSteps(g);
  const [n, h, w, c] = o.input.shape;
  const rows = n * h * w;
  const x = g.tensor(o.input);
  const mean = s.mean(x, MAP_AXES);
  const centred = s.op('Sub', [x, mean]);
  const variance = s.mean(s.op('Mul', [centred, centred]), MAP_AXES);
  const invstd = s.op('Reciprocal', [s.op('Sqrt', [s.op('Add', [variance, s.f(o.eps)])])]);
  s.op('Add', [s.op('Mul', [centred, s.op('Mul', [invstd, perChannel(g, o.gamma)])]), perChannel(g, o.beta)], {}, out.y);
  const flatMean = s.reshape(mean, [c], out.mean);
  const flatVariance = s.reshape(variance, [c], out.variance);
  const m = o.momentum;
  const blend = (running: Value, batch: string, factor: number, into: string): string =>
    s.op('Add', [s.op('Mul', [g.tensor(running), s.f(1 - m)]), s.op('Mul', [batch, s.f(m * factor)])], {}, into);
  blend(o.mean, flatMean, 1, out.runningMean);
  blend(o.variance, flatVariance, rows / Math.max(rows - 1, 1), out.runningVariance);
}

/**
 * dx, dgamma and dbeta of a batch norm that normalised x with `mean` and `variance` ([C]): the
 * batch's ('train': its statistics depend on x) or the running ones ('frozen').
 */
export function batchNormGradOnnx(
  g: OnnxEmitter,
  o: { x: Value; dy: Value; gamma: Value; mean: Value; variance: Value; eps: number; mode: 'train' | 'frozen' },
  out: { dx: string; dgamma: string; dbeta: string },
): void {
  checkMap(o.x);
  const s = onnxSteps(g);
  const [n, h, w] = o.x.shape;
  const rows = n * h * w;
  const dy = g.tensor(o.dy);
  const invstd = s.op('Reciprocal', [s.op('Sqrt', [s.op('Add', [perChannel(g, o.variance), s.f(o.eps)])])]);
  const xhat = s.op('Mul', [s.op('Sub', [g.tensor(o.x), perChannel(g, o.mean)]), invstd]);
  const dbeta = s.sum(dy, MAP_AXES);
  const dgamma = s.sum(s.op('Mul', [dy, xhat]), MAP_AXES);
  s.reshape(dbeta, [o.x.shape[3]], out.dbeta);
  s.reshape(dgamma, [o.x.shape[3]], out.dgamma);
  const scale = s.op('Mul', [perChannel(g, o.gamma), invstd]);
  if (o.mode === 'frozen') {
    s.op('Mul', [dy, scale], {}, out.dx);
    return;
  }
  // gamma invstd / rows * (rows dy - dbeta - xhat dgamma)
  const inner = s.op('Sub', [s.op('Sub', [s.op('Mul', [dy, s.f(rows)]), dbeta]), s.op('Mul', [xhat, dgamma])]);
  s.op('Mul', [inner, s.op('Mul', [scale, s.f(1 / rows)])], {}, out.dx);
}
