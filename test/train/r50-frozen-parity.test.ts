// ResNet-50 with frozen batch norms against PyTorch's autograd, tensor by tensor: the loss, the
// input gradient, the fixture's parameter gradients, the gradient of every bottleneck block's
// output, of the stem and the heads, and each of layer3's three readers' share of layer3's
// gradient (../shared/fixtures/train, README section "ResNet-50, frozen BN: gradients of
// intermediate activations"). Every tensor is asserted.
//
// Two references, because PyTorch's are exact (float64):
// - Our graph run in float64 on the CPU (the op references keep float64) must land on them to
//   their float32 storage: that checks what is computed, op definitions and gradient rules.
// - Our float32 GPU run must land on that float64 run, with one allowance: a ReLU whose input
//   is within float32 rounding of zero may take either side of the kink, where its derivative
//   jumps from 0 to 1. Such elements are found by comparing every ReLU input of the two runs,
//   each must be within rounding of zero, and the float64 reference is then run again taking
//   the GPU's side at exactly those elements. On these inputs there is one, and it was the
//   "ResNet-50 gradient gap" (7e-4 below layer4): layer3.1's residual sum for image 2 at row 6,
//   column 5, channel 545 is -5.3e-7 in float32 and just above 0 in float64 (its terms sum to
//   17 in magnitude), so the block passes a gradient there in PyTorch and none in ours; the
//   difference then spreads to everything below. PyTorch's own float32 run happens to round the
//   other way.
import { expect } from 'chai';
import { compile } from '../../src/graph/compile.js';
import { type CpuParams, runGraphCpu } from '../../src/graph/cpu-reference.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph, Node, Value } from '../../src/graph/ir.js';
import type { HostArray } from '../../src/graph/ops/registry.js';
import { Program } from '../../src/graph/program.js';
import { Session } from '../../src/graph/session.js';
import { readPth } from '../../src/model/weights/import/pth.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { relativeError, testContext } from '../helpers.js';
import { MODELS, TRAIN, asFixture, gradientGraph, nchwToNhwc, scalar, setup } from './fixtures.js';
import { readFlag } from '../../src/util/flags.js';

const ACTIVATIONS = `${TRAIN}/r50_frozen_bn_activation_grads.pth`;

/** Our value for each module output the fixture names (torchvision module -> our layer). */
function ourValue(key: string): string {
  const named: Record<string, string> = {
    'stem.relu': 'backbone.bn1:relu',
    'stem.maxpool': 'backbone.maxpool',
    'layer4.0.conv1': 'backbone.layer4.0.conv1',
    'layer4.0.downsample': 'backbone.layer4.0.downsample.1',
    'aux.conv': 'aux_classifier.0',
    'aux.relu': 'aux_classifier.1:relu',
    'aux.logits': 'aux_classifier.4',
    'classifier.aspp': 'classifier.0.project.1:relu',
    'classifier.logits': 'classifier.4',
  };
  if (named[key]) return named[key];
  const block = /^layer(\d)\.(\d+)$/.exec(key);
  if (block) return `backbone.layer${block[1]}.${block[2]}:relu`; // after the residual add's ReLU
  throw new Error(`the fixture names ${key}, which no value of ours is mapped to`);
}

/** The layers reading layer3's output, by the fixture's names. */
const LAYER3_READERS: Record<string, string> = {
  'layer4.0.conv1': 'backbone.layer4.0.conv1',
  'layer4.0.downsample': 'backbone.layer4.0.downsample.0',
  'aux.conv': 'aux_classifier.0',
};

/**
 * Each reader's contribution to the gradient of `target`, by reader layer: autograd sums them
 * in nodes named `<reader>:grad_sum<k>(<target>)`, and each summand is made by a node named
 * `<reader>:grad...`.
 */
function contributions(graph: Graph, target: Value): Map<string, Value> {
  const producer = new Map<number, Node>();
  for (const n of graph.nodes) for (const v of n.outputs) producer.set(v.id, n);
  const reader = (v: Value): string => producer.get(v.id)!.name.split(':grad')[0];
  const out = new Map<string, Value>();
  for (const n of graph.nodes) {
    if (n.op.type !== 'add' || /:grad_sum\d+\((.*)\)$/.exec(n.name)?.[1] !== target.name) continue;
    const { a, b } = n.op;
    if (out.size === 0) out.set(reader(a), a);
    out.set(reader(b), b);
  }
  return out;
}

/** The gradient graph with the fixture's activation gradients, forward values, reader shares and every ReLU's input as outputs. */
function probedGraph(network: Graph, keys: string[]): { graph: Graph; reluInputs: Value[] } {
  const byName = new Map<string, Value>();
  for (const n of network.nodes) for (const v of n.outputs) byName.set(v.name, v);
  const find = (name: string): Value => {
    const v = byName.get(name);
    if (!v) throw new Error(`the network has no value ${name}`);
    return v;
  };
  const gradKeys = keys.filter((k) => k.startsWith('grad:')).map((k) => k.slice(5));
  const layer3 = find(ourValue('layer3.5'));
  const { graph, grads } = gradientGraph(network, [...gradKeys.map((k) => find(ourValue(k))), layer3]);
  const b = GraphBuilder.extend(graph);
  for (const k of gradKeys) b.output(`grad:${k}`, grads.get(find(ourValue(k)).id)!);
  for (const k of keys.filter((k) => k.startsWith('value:'))) b.output(k, find(ourValue(k.slice(6))));
  const shares = contributions(graph, layer3);
  for (const [key, layer] of Object.entries(LAYER3_READERS)) {
    const v = shares.get(layer);
    if (!v) throw new Error(`no gradient contribution from ${layer} to ${layer3.name} (found: ${[...shares.keys()].join(', ')})`);
    b.output(`grad_layer3_out_via_${key}`, v);
  }
  const reluInputs = network.nodes.filter((n) => n.op.type === 'activation' && n.op.attrs.activation === 'relu').map((n) => (n.op as { input: Value }).input);
  for (const v of reluInputs) b.output(`relu_input:${v.name}`, v);
  return { graph: b.build(), reluInputs };
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

interface Flip {
  value: string;
  index: number;
  f32: number;
  f64: number;
  rms: number;
}

/** Elements where the float32 and float64 runs put a ReLU's input on different sides of 0. */
function reluFlips(reluInputs: Value[], f32: Map<string, HostArray>, f64: Map<string, HostArray>): Flip[] {
  const flips: Flip[] = [];
  for (const v of reluInputs) {
    const a = f32.get(`relu_input:${v.name}`)!;
    const b = f64.get(`relu_input:${v.name}`)!;
    const rms = norm(b) / Math.sqrt(b.length);
    for (let i = 0; i < b.length; i++) if (a[i] > 0 !== b[i] > 0) flips.push({ value: v.name, index: i, f32: a[i], f64: b[i], rms });
  }
  return flips;
}

/** Relative error of every compared tensor: the fixture's (NCHW, parameters cut) or a run's, against `ours`. */
function errors(ours: Map<string, HostArray>, against: (name: string) => ArrayLike<number>, names: string[]): { name: string; err: number }[] {
  return names.map((name) => {
    const ref = against(name);
    const mine = ours.get(name)!;
    // An exactly-zero reference is compared absolutely.
    return { name, err: norm(ref) < 1e-12 ? norm(mine) : relativeError(mine, ref) };
  });
}

function worstOf(list: { name: string; err: number }[]): { name: string; err: number } {
  return list.reduce((w, e) => (e.err > w.err ? e : w), { name: '', err: 0 });
}

describe('training: ResNet-50 with frozen BN, every tensor against PyTorch (fixtures/train) @slow @extended', function () {
  this.timeout(900_000);

  it('float64 on the CPU matches PyTorch; float32 on the GPU matches float64 up to ReLU inputs within rounding of 0', async () => {
    const ctx = await testContext();
    const model = MODELS.find((m) => m.prefix === 'r50')!;
    const s = setup(model, true);
    const fixture = readPth(ACTIVATIONS);
    const paramRefs = readPth(`${TRAIN}/r50_grads_frozen_bn.pth`);
    const { graph, reluInputs } = probedGraph(s.network, [...fixture.keys()]);
    const shapes = new Map(s.network.state.map((v) => [v.name, v.shape]));

    // Every compared tensor in our layout (or, for parameters, ours cut to the fixture's).
    const inputGrad = readNpy(`${TRAIN}/r50_input_grad_frozen_bn.npy`);
    const refs = new Map<string, Float32Array>([['dimage', nchwToNhwc(inputGrad.data, inputGrad.shape)]]);
    for (const [key, t] of fixture) refs.set(key, nchwToNhwc(t.data, t.shape));
    for (const [name, t] of paramRefs) refs.set(`grad:${name}`, t.data);
    const compared = [...refs.keys()];
    const inFixtureLayout = (out: Map<string, HostArray>): Map<string, HostArray> => {
      const m = new Map(out);
      for (const [name, t] of paramRefs) m.set(`grad:${name}`, asFixture(out.get(`grad:${name}`) as Float32Array | Float64Array, shapes.get(name)!, t.shape));
      return m;
    };
    const loss = (out: Map<string, HostArray>): number => out.get('loss_out')![0] + out.get('loss_aux')![0];
    const lossRef = scalar(`${TRAIN}/r50_loss_frozen_bn.npy`);

    // float32 on the GPU.
    const program = await Program.create(ctx, compile(graph, { mode: 'training' }), Session.create(ctx, s.canonical, s.params, 'r50'), 'r50');
    let gpu: Map<string, HostArray>;
    try {
      gpu = await program.run({ image: s.image, labels: s.labels });
    } finally {
      program.dispose();
      program.session.dispose();
    }

    // float64 on the CPU.
    const params64: CpuParams = new Map([...s.params].map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data) }]));
    const inputs64 = { image: Float64Array.from(s.image), labels: s.labels };
    const exact = runGraphCpu(graph, params64, inputs64);
    const exactErrors = errors(inFixtureLayout(exact), (n) => refs.get(n)!, compared);
    const exactWorst = worstOf(exactErrors);
    const exactLossErr = Math.abs(loss(exact) - lossRef) / lossRef;

    // ReLU inputs: the two runs agree on every one, and differ in sign only within rounding of 0.
    const inputErr = worstOf(reluInputs.map((v) => ({ name: v.name, err: relativeError(gpu.get(`relu_input:${v.name}`)!, exact.get(`relu_input:${v.name}`)!) })));
    const flips = reluFlips(reluInputs, gpu, exact);
    const flipNote = flips.map((f) => `${f.value}[${f.index}]: f32 ${f.f32.toExponential(2)}, f64 ${f.f64.toExponential(2)} (rms ${f.rms.toFixed(2)})`).join('; ');

    // The float64 reference taking the GPU's side of those kinks.
    const matched = flips.length === 0 ? exact : runGraphCpu(graph, params64, inputs64, (v, data) => {
      for (const f of flips) if (f.value === v.name) data[f.index] = f.f32;
    });
    const matchedLayout = inFixtureLayout(matched);
    const gpuErrors = errors(inFixtureLayout(gpu), (n) => matchedLayout.get(n)!, compared);
    const gpuWorst = worstOf(gpuErrors);
    const gpuLossErr = Math.abs(loss(gpu) - lossRef) / lossRef;

    console.log(`      (${compared.length} tensors. float64: loss ${exactLossErr.toExponential(1)}, worst ${exactWorst.err.toExponential(1)} (${exactWorst.name}).`);
    console.log(`       float32 GPU: loss ${gpuLossErr.toExponential(1)}, ReLU inputs ${inputErr.err.toExponential(1)}, ${flips.length} ReLU input(s) on the other side of 0${flips.length ? ` (${flipNote})` : ''}, worst against float64 ${gpuWorst.err.toExponential(1)} (${gpuWorst.name}))`);
    if (readFlag('PARITY_VERBOSE')) for (const [i, e] of exactErrors.entries()) console.log(`        ${e.name} f64 ${e.err.toExponential(2)} gpu ${gpuErrors[i].err.toExponential(2)}`);

    expect(compared.length, 'tensors compared: input gradient, 55 parameter gradients, 30 activation tensors and shares').to.equal(1 + 55 + 30);
    expect(exactLossErr, 'float64 loss').to.be.lessThan(1e-6);
    for (const e of exactErrors) expect(e.err, `float64 ${e.name}`).to.be.lessThan(1e-6);
    expect(inputErr.err, `float32 ReLU input ${inputErr.name}`).to.be.lessThan(1e-5);
    for (const f of flips) expect(Math.abs(f.f64), `${f.value}[${f.index}] is within float32 rounding of 0`).to.be.lessThan(1e-5 * f.rms);
    expect(gpuLossErr, 'float32 loss').to.be.lessThan(1e-5);
    for (const e of gpuErrors) expect(e.err, `float32 ${e.name}`).to.be.lessThan(1e-5);
  });
});
