// TF DeepLab's training checkpoint (or frozen graph) variables -> the folded tensors the
// MobileNetV2 builder reads (src/model/weights/tf-weights.ts), with batch norm folded in.
//
// Each conv `<scope>/weights` (HWIO [kh,kw,in,out]) or depthwise `<scope>/depthwise_weights`
// ([kh,kw,C,1]) followed by `<scope>/BatchNorm/{gamma,beta,moving_mean,moving_variance}` becomes
// w * scale and beta - mean * scale per output channel, scale = gamma / sqrt(var + eps), in
// float64 rounded once. The checkpoint does not store eps: the frozen graph does (each
// FusedBatchNorm's attr); without one, TF DeepLab's values apply: 0.001 in MobilenetV2/* (slim's
// batch_norm default) and 1e-5 in the heads (model.py). Optimizer slots (`*/Momentum`),
// `global_step` and anything else that is no conv of the network are left out.
import type { Graph } from '../../graph/ir.js';
import { type HostParams, ParamMismatchError } from '../../graph/params.js';
import type { TensorMap } from './import/tensor-map.js';
import type { NameResolver } from './tf-weights.js';
import { checkBatchNormEpsilon, checkFloatWeight, checkVariance, isFloatDType } from './weight-checks.js';

/** The eps TF DeepLab's batch norms use where the graph does not say: 0.001 in the backbones (MobileNetV2, MobileNetV3, Xception-65), 1e-5 in the heads. */
export function defaultTfBnEpsilon(scope: string): number {
  return scope.startsWith('MobilenetV2/') || scope.startsWith('MobilenetV3/') || scope.startsWith('xception_65/') ? 1e-3 : 1e-5;
}

/** Names the folded tensors go by, for tfMobilenetV2Params: OHWI weights, depthwise [1,H,W,C], biases. */
export const foldedNames: NameResolver = (scope, role, depthwise) => {
  if (role === 'weights') return [depthwise ? `${scope}/depthwise_weights` : `${scope}/weights`];
  return [`${scope}/folded_bias`];
};

/** HWIO [kh,kw,in,out] -> OHWI, scaling output channel o by scale[o]. */
function hwioToOhwiScaled(data: Float32Array, [kh, kw, cin, cout]: readonly number[], scale: Float64Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * kh + h) * kw + w) * cin + i] = data[((h * kw + w) * cin + i) * cout + o] * scale[o];
  return out;
}

/**
 * The folded conv tensors of TF variables (a checkpoint's or a frozen graph's), by foldedNames;
 * `epsilon(scope)` gives each batch norm's eps. Missing BN parts are an error naming them.
 */
export function foldTfVariables(vars: TensorMap, epsilon: (scope: string) => number, what: string): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of vars) {
    const m = /^(.*)\/(weights|depthwise_weights)$/.exec(name);
    if (!m) continue;
    const [, scope, kind] = m;
    const depthwise = kind === 'depthwise_weights';
    if (t.shape.length !== 4) throw new Error(`${what}: '${name}' has shape [${t.shape.join(',')}], not a 4-D conv weight`);
    checkFloatWeight(name, t, what);
    const channels = depthwise ? t.shape[2] * t.shape[3] : t.shape[3];
    const bn = `${scope}/BatchNorm`;
    const scale = new Float64Array(channels).fill(1);
    const bias = new Float64Array(channels);
    if (vars.has(`${bn}/moving_mean`) || vars.has(`${bn}/moving_variance`) || vars.has(`${bn}/beta`)) {
      const part = (p: string, required: boolean) => {
        const v = vars.get(`${bn}/${p}`);
        if (!v && required) throw new Error(`${what}: '${bn}/${p}' is missing (the batch norm after '${name}')`);
        if (v && (v.shape.length !== 1 || v.shape[0] !== channels)) throw new Error(`${what}: '${bn}/${p}' has shape [${v.shape.join(',')}], expected [${channels}]`);
        if (v) checkFloatWeight(`${bn}/${p}`, v, what);
        return v?.data;
      };
      const gamma = part('gamma', false);
      const beta = part('beta', false);
      const mean = part('moving_mean', true)!;
      const variance = part('moving_variance', true)!;
      const eps = epsilon(scope);
      checkBatchNormEpsilon(bn, eps, what);
      checkVariance(`${bn}/moving_variance`, variance, what);
      for (let c = 0; c < channels; c++) {
        scale[c] = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + eps);
        bias[c] = (beta ? beta[c] : 0) - mean[c] * scale[c];
      }
    } else {
      const b = vars.get(`${scope}/biases`);
      if (b && (b.shape.length !== 1 || b.shape[0] !== channels)) throw new Error(`${what}: '${scope}/biases' has shape [${b.shape.join(',')}], expected [${channels}]`);
      if (b) checkFloatWeight(`${scope}/biases`, b, what);
      if (b) bias.set(b.data);
    }
    const weights = depthwise
      ? Float32Array.from(t.data, (v, i) => v * scale[i % channels])
      : hwioToOhwiScaled(t.data, t.shape, scale);
    const shape = depthwise ? [1, t.shape[0], t.shape[1], channels] : [t.shape[3], t.shape[0], t.shape[1], t.shape[2]];
    out.set(foldedNames(scope, 'weights', depthwise)[0], { shape, data: weights, sourceDType: 'f32' });
    out.set(foldedNames(scope, 'biases', depthwise)[0], { shape: [channels], data: Float32Array.from(bias), sourceDType: 'f32' });
  }
  if (out.size === 0) throw new Error(`${what}: no conv weights ('<scope>/weights' or '<scope>/depthwise_weights'): not a TF DeepLab checkpoint`);
  return out;
}

/** Whether a checkpoint variable is model state, not an optimizer slot or a step counter. */
export function isModelVariable(name: string): boolean {
  return !/\/(Momentum|Adam(_1)?|RMSProp(_1)?|ExponentialMovingAverage)$/.test(name) && name !== 'global_step';
}

/**
 * Params for a graph that keeps TF's batch norms (TF DeepLab's Xception, src/model/networks/
 * xception.ts) straight from a checkpoint's or frozen graph's variables: every name is TF's, and
 * TF's layouts are ours (conv weights HWIO), but for a depthwise conv, whose `<scope>/weights`
 * [kh,kw,1,C] is TF's `<scope>/depthwise_weights` [kh,kw,C,1] (the same bytes). Each batch norm's
 * eps in the graph must be the one the weights' source gives (`epsilon(scope)`). Missing,
 * unexpected and mis-shaped tensors are reported all at once (ParamMismatchError). With `owns`,
 * only the parameters it takes (the decoder of a network whose other batch norms are folded).
 */
export function tfKeptParams(graph: Graph, vars: TensorMap, epsilon: (scope: string) => number, what: string, owns: (param: string) => boolean = () => true): HostParams {
  const depthwise = new Set<string>();
  for (const n of graph.nodes) {
    if (n.op.type === 'conv2d' && n.op.attrs.groups > 1) depthwise.add(n.op.weight.name);
    if (n.op.type === 'batchnorm' && owns(n.op.gamma.name)) {
      const scope = n.op.gamma.name.replace(/\/BatchNorm\/gamma$/, '');
      const eps = epsilon(scope);
      if (Math.abs(eps - n.op.attrs.eps) > 1e-6 * n.op.attrs.eps) {
        throw new Error(`${what}: the batch norm '${scope}/BatchNorm' has eps ${eps} in the file, but TF DeepLab's network has ${n.op.attrs.eps}`);
      }
    }
  }
  const params: HostParams = new Map();
  const used = new Set<string>();
  const missing: string[] = [];
  const misShaped: ParamMismatchError['misShaped'] = [];
  for (const p of graph.state) {
    if (!owns(p.name)) continue;
    const isDepthwise = depthwise.has(p.name);
    const name = isDepthwise ? p.name.replace(/\/weights$/, '/depthwise_weights') : p.name;
    const t = vars.get(name);
    if (!t) {
      missing.push(name);
      continue;
    }
    used.add(name);
    checkFloatWeight(name, t, what);
    if (name.endsWith('/moving_variance')) checkVariance(name, t.data, what);
    const shape = isDepthwise && t.shape.length === 4 ? [t.shape[0], t.shape[1], t.shape[3], t.shape[2]] : [...t.shape];
    if (shape.join() !== p.shape.join() || (isDepthwise && t.shape[3] !== 1)) {
      misShaped.push({ name, expected: isDepthwise ? [p.shape[0], p.shape[1], p.shape[3], 1] : p.shape, got: t.shape });
      continue;
    }
    params.set(p.name, { shape, data: t.data });
  }
  const unexpected = [...vars.keys()].filter((k) => !used.has(k) && isFloatDType(vars.get(k)!.sourceDType));
  if (missing.length || unexpected.length || misShaped.length) throw new ParamMismatchError(missing, unexpected, misShaped, what);
  return params;
}
