// Maps TF DeepLab MobileNetV2 tensors (from the TFLite file or the .npy folder) onto the params
// of our graph (src/model/networks/mobilenet-v2.ts), converting layouts: TF conv weights are OHWI and
// depthwise weights [1,H,W,C]; ours are HWIO and [H,W,1,C].
import type { Graph } from '../../graph/ir.js';
import { type HostParams, ParamMismatchError } from '../../graph/params.js';
import type { HostTensor, TensorMap } from './import/tensor-map.js';
import { checkFloatWeight, isFloatDType } from './weight-checks.js';

/** Our param name -> the names it may have in a source, tried in order. */
export type NameResolver = (scope: string, role: 'weights' | 'biases', depthwise: boolean) => string[];

/**
 * Names in the official TFLite file: `<scope>/weights`, `<scope>/depthwise_weights`,
 * `<scope>/Conv2D_bias`; or in our export of the network (`deeplab export --format tflite`):
 * `<scope>/weights` and `<scope>/biases`, as our graph names them.
 */
export const tfliteNames: NameResolver = (scope, role, depthwise) => {
  if (role === 'weights') return depthwise ? [`${scope}/depthwise_weights`, `${scope}/weights`] : [`${scope}/weights`];
  return [depthwise ? `${scope}/depthwise_bias` : `${scope}/Conv2D_bias`, `${scope}/biases`];
};

/** Names in the .npy folder: slashes become underscores, BN folded into `_bn_offset` biases. */
export const npyNames: NameResolver = (scope, role, depthwise) => {
  const s = scope.replace(/\//g, '_');
  if (role === 'weights') return [depthwise ? `${s}_depthwise` : `${s}_Conv2D`];
  if (scope === 'logits/semantic') return [`${s}_biases`];
  return depthwise ? [`${s}_depthwise_bn_offset`, `${s}_BatchNorm_FusedBatchNorm`] : [`${s}_Conv2D_bn_offset`];
};

/** OHWI -> HWIO (a depthwise [1,H,W,C] is already HWIO with I = 1 after a reshape). */
function toHwio(t: HostTensor, depthwise: boolean, name: string): { shape: number[]; data: Float32Array } {
  if (t.shape.length !== 4) throw new Error(`${name}: expected a 4-D conv weight, got [${t.shape.join(',')}]`);
  if (depthwise) return { shape: [t.shape[1], t.shape[2], 1, t.shape[3]], data: t.data };
  const [o, h, w, i] = t.shape;
  const out = new Float32Array(t.data.length);
  for (let oo = 0; oo < o; oo++)
    for (let hh = 0; hh < h; hh++)
      for (let ww = 0; ww < w; ww++)
        for (let ii = 0; ii < i; ii++) out[((hh * w + ww) * i + ii) * o + oo] = t.data[((oo * h + hh) * w + ww) * i + ii];
  return { shape: [h, w, i, o], data: out };
}

/**
 * Params for `graph` from a TF tensor map. Every graph param (of those `owns` takes, by default
 * all) must be found with the right shape, float and finite (weight-checks.ts), and every float
 * source tensor must be used; otherwise one error lists all problems.
 */
export function tfMobilenetV2Params(graph: Graph, source: TensorMap, names: NameResolver, what: string, owns: (param: string) => boolean = () => true): HostParams {
  const params: HostParams = new Map();
  const used = new Set<string>();
  const missing: string[] = [];
  const misShaped: ParamMismatchError['misShaped'] = [];
  const depthwiseScopes = new Set<string>();
  for (const n of graph.nodes) {
    if (n.op.type === 'conv2d' && n.op.attrs.groups > 1) depthwiseScopes.add(n.op.weight.name.replace(/\/weights$/, ''));
  }
  for (const p of graph.state) {
    if (!owns(p.name)) continue;
    const m = /^(.*)\/(weights|biases)$/.exec(p.name);
    if (!m) throw new Error(`${what}: parameter ${p.name} is not a TF conv parameter`);
    const [, scope, role] = m;
    const depthwise = depthwiseScopes.has(scope);
    const candidates = names(scope, role as 'weights' | 'biases', depthwise);
    const found = candidates.find((c) => source.has(c));
    if (!found) {
      missing.push(candidates.join(' | '));
      continue;
    }
    used.add(found);
    const t = source.get(found)!;
    checkFloatWeight(found, t, what);
    const converted = role === 'weights' ? toHwio(t, depthwise, found) : { shape: [...t.shape], data: t.data };
    if (converted.shape.join() !== p.shape.join()) {
      misShaped.push({ name: found, expected: p.shape, got: converted.shape });
      continue;
    }
    params.set(p.name, converted);
  }
  // Integer tensors no parameter takes are graph constants (a TFLite resize's size), not weights.
  const unexpected = [...source.keys()].filter((k) => !used.has(k) && isFloatDType(source.get(k)!.sourceDType));
  if (missing.length || unexpected.length || misShaped.length) {
    throw new ParamMismatchError(missing, unexpected, misShaped, what);
  }
  return params;
}
