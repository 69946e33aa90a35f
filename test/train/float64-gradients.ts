// Whole-graph gradient checks in float64: central differences of the float64 CPU interpreter
// through a graph (with its ReLUs held to their pattern), and a GPU training graph against the
// float64 interpreter run from the GPU's own forward values. Shared by the gradient tests of
// networks built from several layers (DeepLabv3+'s decoder, mmseg's heads and ResNet-18).
import { expect } from 'chai';
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { compile } from '../../src/graph/compile.js';
import { type CpuParams, type ValueHook, runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph, Node } from '../../src/graph/ir.js';
import type { ActivationOp } from '../../src/graph/ops/elementwise.js';
import type { HostArray } from '../../src/graph/ops/registry.js';
import type { HostParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { trainingBatchNorms } from '../../src/train/training-graph.js';
import { relativeError, testContext } from '../helpers.js';
import { reluNodes } from './relu-nodes.js';

export { reluNodes };

/**
 * A network's training step as outputs: batch norms in training mode, the cross-entropy loss of
 * its logits (ignore index 255) as 'loss', the input gradient as 'grad:image' and every
 * parameter's as 'grad:<name>'. A parameter no gradient reaches is an error unless
 * `skipMissing`; `statistics` adds each batch norm's running statistics after the step as
 * 'state:<name>', and `inputGradient: false` leaves the input's gradient out.
 */
export function lossGradientGraph(canonical: Graph, o: { inputGradient?: boolean; statistics?: boolean; skipMissing?: boolean } = {}) {
  const network = trainingBatchNorms(canonical);
  const b = GraphBuilder.extend(network);
  const logits = network.outputs.get('logits')!;
  const [N, H, W] = network.inputs[0].shape;
  const labels = b.input('labels', [N, H, W], 'u32');
  const [loss, dlogits] = b.node('loss', { type: 'softmax_cross_entropy', logits, labels, attrs: { ignoreIndex: 255, scale: 1 } });
  b.output('loss', loss);
  const image = network.inputs[0];
  const inputGradient = o.inputGradient ?? true;
  const params = network.state.filter((v) => v.role === 'param');
  const d = differentiate(b.build(), new Map([[logits, dlogits]]), inputGradient ? [image, ...params] : params);
  const out = GraphBuilder.extend(d.graph);
  const names: string[] = [];
  if (inputGradient) {
    out.output('grad:image', d.grads.get(image.id)!);
    names.push('grad:image');
  }
  for (const p of params) {
    const grad = d.grads.get(p.id);
    if (!grad && o.skipMissing) continue;
    if (!grad) throw new Error(`no gradient reaches ${p.name}`);
    out.output(`grad:${p.name}`, grad);
    names.push(`grad:${p.name}`);
  }
  if (o.statistics) for (const v of network.state) if (v.role === 'statistic') out.output(`state:${v.name}`, v);
  return { graph: out.build(), network, params, names, forwardNodes: network.nodes.length };
}

export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * The worst relative error of `ours` against `ref` over the named tensors. A gradient that is 0
 * in exact arithmetic (a batch-norm shift seen only through batch norms in training mode, which
 * remove any per-channel shift, or through a ReLU that passes its whole channel) comes out as
 * rounding noise in both, where a relative error means nothing: such tensors are told apart by
 * their size against the typical one (the median norm) and must be as small in `ours`, within
 * `zeroTolerance` of that scale.
 */
export function worstError(names: string[], ours: (name: string) => ArrayLike<number>, ref: (name: string) => ArrayLike<number>, what: string, zeroTolerance: number) {
  const scale = median(names.map((n) => norm(ref(n))));
  const zeros = names.filter((n) => norm(ref(n)) < 1e-7 * scale);
  for (const n of zeros) expect(norm(ours(n)), `${what}: ${n}, zero in exact arithmetic (reference ${norm(ref(n)).toExponential(1)}, typical ${scale.toExponential(1)})`).to.be.lessThan(zeroTolerance * scale);
  const errors = names.filter((n) => !zeros.includes(n)).map((name) => ({ name, err: relativeError(ours(name), ref(name)) }));
  const worst = errors.reduce((w, e) => (e.err > w.err ? e : w), { name: '-', err: 0 });
  return { errors, worst, zeros: zeros.length };
}

/**
 * The derivative of `probe` at `x` by the five-point central stencil
 * (8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h, O(h^4): the probe loss sums a whole
 * network's output, so at gradcheck's two-point 1e-6 step its rounding (~1e-13) would be 1e-7 of
 * a small gradient element. The steps are wider than the distance of some ReLU input to its kink,
 * so every ReLU (`relus`: input id -> output id) keeps the on/off pattern it has at `x`: the
 * function differentiated is the network's linear piece around `x`, whose derivative at `x` is
 * the network's. `probe` runs the graph with the hook given. With `indices`, only those elements
 * are differentiated (the others stay 0): a sample of a large tensor.
 */
export function centralDifferences(probe: (x: Float64Array, hook: ValueHook) => number, relus: Map<number, number>, x: Float64Array, h = 2e-5, indices?: Iterable<number>): Float64Array {
  const on = new Map<number, Uint8Array>(); // by output id
  probe(x, (v, data) => {
    const out = relus.get(v.id);
    if (out !== undefined) on.set(out, Uint8Array.from(data, (d) => (d > 0 ? 1 : 0)));
  });
  const inputs = new Map<number, ArrayLike<number>>(); // by output id
  const frozen: ValueHook = (v, data) => {
    const out = relus.get(v.id);
    if (out !== undefined) inputs.set(out, data);
    const pattern = on.get(v.id);
    if (!pattern) return;
    const input = inputs.get(v.id)!;
    for (let i = 0; i < data.length; i++) data[i] = pattern[i] ? input[i] : 0;
  };
  const gradient = new Float64Array(x.length);
  const p = Float64Array.from(x);
  const at = (i: number, step: number): number => {
    p[i] = x[i] + step;
    const f = probe(p, frozen);
    p[i] = x[i];
    return f;
  };
  for (const i of indices ?? x.keys()) gradient[i] = (8 * (at(i, h) - at(i, -h)) - (at(i, 2 * h) - at(i, -2 * h))) / (12 * h);
  return gradient;
}

export const asF64 = (p: HostParams): CpuParams => new Map([...p].map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data) }]));

/**
 * A gradient graph run in float32 on the GPU and in float64 by the CPU interpreter. Its first
 * `forwardNodes` nodes are the forward pass. Run on their own, the two forward passes part by
 * float32's accumulated rounding, which batch norms in training mode amplify (they divide by the
 * batch's deviation: ASPP's image-pooling branch sees two values per channel at batch 2), and
 * the backward pass amplifies it again where it matters least (a ReLU input near 0, a batch-norm
 * gradient that nearly cancels). So the float64 run takes each forward value from the GPU as it
 * is computed: every forward op is compared with its float64 reference on the GPU's own inputs
 * (`forwardOps`, the worst relative error), and the backward pass runs from the GPU's forward
 * values, so what remains between the two gradients is what the backward kernels compute.
 * `free()` is the float64 run on its own, run when first asked (a whole float64 step: callers
 * that do not use it do not pay for it): its loss is reported, not asserted (on ResNet-50 at
 * random weights the image-pooling batch norm alone puts it 1e-5 to 1e-4 from float32's).
 * `params64` are the parameters as the float64 runs took them.
 */
export async function againstFloat64(graph: Graph, forwardNodes: number, params: HostParams, inputs: Record<string, Float32Array | Uint32Array>, label: string) {
  const pinned = graph.nodes.slice(0, forwardNodes).flatMap((n) => n.outputs.filter((v) => v.kind !== 'state'));
  const b = GraphBuilder.extend(graph);
  for (const v of pinned) b.output(`forward:${v.id}`, v);
  const probed = b.build();
  const program = await Program.create(await testContext(), compile(probed, { mode: 'training' }), params, label);
  let gpu: Map<string, HostArray>;
  try {
    gpu = await program.run(inputs);
  } finally {
    program.dispose();
  }
  const inputs64 = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v instanceof Float32Array ? Float64Array.from(v) : v]));
  const params64 = asF64(params);
  let freeRun: Map<string, HostArray> | undefined;
  const free = (): Map<string, HostArray> => (freeRun ??= runGraphCpu(probed, params64, inputs64));
  let forwardOps = { name: '', err: 0 };
  const exact = runGraphCpu(probed, params64, inputs64, (v, data) => {
    const ours = gpu.get(`forward:${v.id}`);
    // Skipped: a GPU kernel's scratch (batch-norm partial sums), which the CPU reference has no use for.
    if (!ours || data.length === 0) return;
    const err = norm(data) === 0 ? norm(ours) : relativeError(ours, data);
    if (err > forwardOps.err) forwardOps = { name: v.name, err };
    (data as Float64Array).set(ours);
  });
  return { gpu, exact, free, forwardOps, params64 };
}


/** A ReLU/ReLU6 input element that a float32 forward puts on the other side of a kink (0, or 6) than float64 does. */
export interface KinkFlip {
  /** The activation node. */
  layer: string;
  /** Row-major (NHWC) index into its input, of this shape. */
  index: number;
  shape: readonly number[];
  /** The float64 forward's input value there, and the float32 forward's. */
  f64: number;
  f32: number;
  /** The float64 input's root mean square over the layer: the scale its drift is relative to. */
  rms: number;
}

/** Which side of ReLU's kink, or of ReLU6's two, `v` lies on. */
function kinkSide(v: number, six: boolean): number {
  return v <= 0 ? 0 : six && v >= 6 ? 2 : 1;
}


/**
 * A float64 run (runGraphCpu's hook) whose ReLU/ReLU6 inputs take the float32 forward's side of
 * every kink: each input element that `ours` (the float32 forward's input of that activation, by
 * node name) puts on the other side is replaced by ours, so the float64 forward AND backward (the
 * activation's gradient reads its input) follow our on/off pattern. The moved elements differ
 * from float64 by float32's drift, the size of every other forward difference, so what remains
 * between such a run's gradients and ours is drift, not a whole element's share of a flipped
 * kink. `flips` lists the elements moved.
 */
export function followKinks(nodes: readonly Node[], ours: (layer: string, f64: ArrayLike<number>) => ArrayLike<number>): { hook: ValueHook; flips: KinkFlip[] } {
  const byInput = new Map<number, Node>(reluNodes(nodes).map((n) => [(n.op as ActivationOp).input.id, n]));
  const flips: KinkFlip[] = [];
  const hook: ValueHook = (v, data) => {
    const n = byInput.get(v.id);
    if (!n) return;
    const six = (n.op as ActivationOp).attrs.activation === 'relu6';
    const f32 = ours(n.name, data);
    if (f32.length !== data.length) throw new Error(`${n.name}: ${f32.length} float32 inputs for ${data.length}`);
    const rms = norm(data) / Math.sqrt(data.length);
    for (let i = 0; i < data.length; i++) {
      if (kinkSide(data[i], six) === kinkSide(f32[i], six)) continue;
      flips.push({ layer: n.name, index: i, shape: v.shape, f64: data[i], f32: f32[i], rms });
      data[i] = f32[i];
    }
  };
  return { hook, flips };
}

/**
 * A float64 run's hook that takes the named values from another run (`ours`, by value name)
 * where they are computed: what follows starts from ours there.
 */
export function holdValues(ours: ReadonlyMap<string, ArrayLike<number>>): ValueHook {
  return (v, data) => {
    const held = ours.get(v.name);
    if (!held) return;
    if (held.length !== data.length) throw new Error(`${v.name}: ${held.length} values held for ${data.length}`);
    (data as Float64Array).set(held);
  };
}

/** A flipped element as 'layer[n, h, w, c] float64 x, float32 y'. */
export function describeFlip(k: KinkFlip): string {
  const at: number[] = [];
  let rest = k.index;
  for (let d = k.shape.length - 1; d >= 0; d--) {
    at.unshift(rest % k.shape[d]);
    rest = Math.floor(rest / k.shape[d]);
  }
  return `${k.layer}[${at.join(', ')}] float64 ${k.f64.toExponential(3)}, float32 ${k.f32.toExponential(3)}`;
}

/** A float32 forward's ReLU/ReLU6 input elements near a kink: their indices and values (what a page sends back of a whole layer). */
export interface NearKinks {
  index: number[];
  value: number[];
}

/**
 * followKinks' `ours` from only the elements of our float32 inputs that lie near a kink: the
 * float64 input with those elements replaced. An element of ours not given lies farther from its
 * kink than float32's drift reaches, so it is on float64's side; were it not, the flip would go
 * untraced and the gradients it moves would fail their bound, never pass it wrongly.
 */
export function nearKinkValues(near: ReadonlyMap<string, NearKinks>): (layer: string, f64: ArrayLike<number>) => ArrayLike<number> {
  return (layer, f64) => {
    const k = near.get(layer);
    if (!k) throw new Error(`no float32 values near a kink for ${layer}`);
    const out = Float64Array.from(f64);
    k.index.forEach((i, j) => (out[i] = k.value[j]));
    return out;
  };
}
