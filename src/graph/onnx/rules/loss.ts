// The training losses as standard ONNX operators, each giving the loss [1], the logits' gradient
// and the count of invalid labels [1] u32, as the ops' kernels do (src/kernels/loss/): logits are
// NCHW [N,C,H,W], labels [N,H,W] u32. A label of C or more is ignored (its one-hot row is all
// zeros, as OneHot makes it for an index out of range), and counted as invalid where it is not
// the ignore index.
import type { Value } from '../../value.js';
import type { OnnxEmitter } from '../emitter.js';
import { type OnnxSteps, onnxSteps } from './steps.js';

/**
 * The softmax over the channels (axis 1) of NCHW logits, and its log where asked, as reductions
 * and elementwise operators: ONNX Runtime runs Softmax and LogSoftmax over a middle axis by
 * transposing it last and back, which took 1.7 s of a 5.4 s step of MobileNetV2 at batch 4,
 * crop 257 on the 2-core EPYC host, where these take a few passes over the logits.
 */
function channelSoftmax(s: OnnxSteps, x: string): { probs: string; logProbs: () => string } {
  const shifted = s.op('Sub', [x, s.op('ReduceMax', [x], { axes: { ints: [1] }, keepdims: { int: 1 } })]);
  const exp = s.op('Exp', [shifted]);
  const total = s.sum(exp, [1]);
  return { probs: s.op('Div', [exp, total]), logProbs: () => s.op('Sub', [shifted, s.op('Log', [total])]) };
}

/** What both losses start from: the one-hot labels [N,C,H,W] (f32), the softmax, and the invalid count into `invalidOut`. */
function labelsAndSoftmax(g: OnnxEmitter, s: OnnxSteps, logits: Value, labels: Value, ignoreIndex: number, invalidOut: string): { onehot: string } & ReturnType<typeof channelSoftmax> {
  const C = logits.shape[3];
  const x = g.tensor(logits);
  const y = s.op('Cast', [g.tensor(labels)], { to: { int: 7 } });
  // OneHot's depth and values, the classes on axis 1 ([N,C,H,W]); indices >= C give zeros.
  const onehot = s.op('OneHot', [y, s.ints([C]), g.constant('off_on', 'float', [2], [0, 1])], { axis: { int: 1 } });
  const outside = s.op('GreaterOrEqual', [y, s.ints([C])]);
  const notIgnored = s.op('Not', [s.op('Equal', [y, s.ints([ignoreIndex])])]);
  const invalid = s.op('Cast', [s.op('And', [outside, notIgnored])], { to: { int: 1 } });
  s.op('Cast', [s.reshape(s.sum(invalid, [0, 1, 2], false), [1])], { to: { int: 12 } }, invalidOut);
  return { onehot, ...channelSoftmax(s, x) };
}

/**
 * PyTorch's weighted cross-entropy with an ignore index, over only the hardest fraction of the
 * valid pixels where `hardFraction` < 1 (src/kernels/loss/cross-entropy.ts).
 */
export function crossEntropyOnnx(
  g: OnnxEmitter,
  o: { logits: Value; labels: Value; weights?: Value; ignoreIndex: number; scale: number; hardFraction?: number },
  out: { loss: string; dlogits: string; invalid: string },
): void {
  const s = onnxSteps(g);
  const [N, H, W, C] = o.logits.shape;
  const { onehot, probs, logProbs } = labelsAndSoftmax(g, s, o.logits, o.labels, o.ignoreIndex, out.invalid);
  // Per pixel [N,1,H,W]: its class weight (0 where ignored) and -log softmax at its label.
  const classWeights = o.weights ? s.reshape(g.tensor(o.weights), [1, C, 1, 1]) : s.f(1);
  const pixelWeight = s.sum(s.op('Mul', [onehot, classWeights]), [1]);
  const nll = s.op('Neg', [s.sum(s.op('Mul', [onehot, logProbs()]), [1])]);
  const key = s.op('Mul', [pixelWeight, nll]);
  let kept = s.op('Cast', [s.op('Greater', [pixelWeight, s.f(0)])], { to: { int: 1 } });
  if (o.hardFraction !== undefined && o.hardFraction < 1) kept = hardPixels(g, s, kept, key, o.hardFraction, N * H * W);
  const keptWeight = s.op('Mul', [pixelWeight, kept]);
  const weightSum = s.sum(keptWeight, [0, 1, 2, 3]);
  const lossSum = s.sum(s.op('Mul', [key, kept]), [0, 1, 2, 3]);
  // scale / sum of weights, 0 where no pixel counts.
  const some = s.op('Greater', [weightSum, s.f(0)]);
  const factor = s.op('Where', [some, s.op('Div', [s.f(o.scale), s.op('Max', [weightSum, s.f(1e-30)])]), s.f(0)]);
  s.reshape(s.op('Mul', [lossSum, factor]), [1], out.loss);
  s.op('Mul', [s.op('Sub', [probs, onehot]), s.op('Mul', [keptWeight, factor])], {}, out.dlogits);
}

/**
 * The pixels mining keeps: the k = max(1, floor(fraction * valid)) valid pixels of largest key
 * (a key below 0 counts as 0) and every one tied with the k-th, as 0 / 1 [N,1,H,W].
 */
function hardPixels(g: OnnxEmitter, s: OnnxSteps, valid: string, key: string, fraction: number, pixels: number): string {
  const clamped = s.op('Max', [key, s.f(0)]);
  // Invalid pixels rank below every valid one.
  const ranked = s.reshape(s.op('Where', [s.op('Cast', [valid], { to: { int: 9 } }), clamped, s.f(-1)]), [pixels]);
  const count = s.sum(valid, [0, 1, 2, 3], false);
  const k = s.op('Max', [s.op('Floor', [s.op('Mul', [count, s.f(Math.fround(fraction))])]), s.f(1)]);
  const kInt = s.reshape(s.op('Cast', [k], { to: { int: 7 } }), [1]);
  const [top, order] = [g.intermediate('top'), g.intermediate('top_indices')];
  g.node('TopK', [ranked, kInt], [top, order], { largest: { int: 1 }, sorted: { int: 1 } });
  const threshold = s.op('ReduceMin', [top], { keepdims: { int: 0 } });
  return s.op('Mul', [valid, s.op('Cast', [s.op('GreaterOrEqual', [clamped, threshold])], { to: { int: 1 } })]);
}

/** smp's soft Dice loss, multi-class or binary (src/kernels/loss/dice.ts). */
export function diceOnnx(g: OnnxEmitter, o: { logits: Value; labels: Value; ignoreIndex: number; scale: number; binary?: boolean }, out: { loss: string; dlogits: string; invalid: string }): void {
  const s = onnxSteps(g);
  const C = o.logits.shape[3];
  const { onehot, probs: allProbs } = labelsAndSoftmax(g, s, o.logits, o.labels, o.ignoreIndex, out.invalid);
  // Softmax of counted pixels only (a pixel whose label is no class has no one-hot 1).
  const counted = s.sum(onehot, [1]);
  const probs = s.op('Mul', [allProbs, counted]);
  const sumP = s.sum(probs, [0, 2, 3]);
  const sumT = s.sum(onehot, [0, 2, 3]);
  const sumPT = s.sum(s.op('Mul', [probs, onehot]), [0, 2, 3]);
  const S = s.op('Add', [sumP, sumT]);
  const dice = s.op('Div', [s.op('Mul', [sumPT, s.f(2)]), s.op('Max', [S, s.f(1e-7)])]);
  // Per class weight [1,C,1,1]: scale / classes counted where the class has a target pixel.
  const mask = o.binary ? g.constant('binary_mask', 'float', [1, C, 1, 1], Array.from({ length: C }, (_, c) => (c === 1 ? 1 : 0))) : s.f(1);
  const present = s.op('Cast', [s.op('Greater', [sumT, s.f(0)])], { to: { int: 1 } });
  const weight = s.op('Mul', [s.op('Mul', [present, mask]), s.f(o.scale / (o.binary ? 1 : C))]);
  s.reshape(s.sum(s.op('Mul', [weight, s.op('Sub', [s.f(1), dice])]), [0, 1, 2, 3]), [1], out.loss);
  // d loss / d p_c = -w_c (2 t_c - dice_c) / S_c, then through the softmax: p (g - sum_c p g).
  const safeS = s.op('Max', [S, s.f(1e-30)]);
  const grad = s.op('Div', [s.op('Neg', [s.op('Mul', [weight, s.op('Sub', [s.op('Mul', [onehot, s.f(2)]), dice])])]), safeS]);
  const dot = s.sum(s.op('Mul', [probs, grad]), [1]);
  s.op('Mul', [probs, s.op('Sub', [grad, dot])], {}, out.dlogits);
}
