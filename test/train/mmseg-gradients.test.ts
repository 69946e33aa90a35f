// Fine-tuning mmseg's DeepLabv3: the gradients through the layers it brings (mmseg's ASPP head with
// its image pool first and 3x3 bottleneck, the FCN auxiliary head, ResNet-18's BasicBlock, the
// deep stem), batch norms in training mode:
//  - the float64 CPU interpreter's gradients of the inputs and parameters against central finite
//    differences (every element of the heads at tiny sizes; a sample of the stem's and block's);
//  - a whole mmseg ResNet-18 network with both heads, as training builds it (dropout, softmax
//    cross-entropy with ignored pixels): every forward op, the loss and every gradient of the
//    GPU's float32 run against the float64 interpreter's run of the same graph.
import { expect } from 'chai';
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { type ValueHook, runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { mmsegAsppHead, mmsegFcnHead } from '../../src/model/networks/mmseg-heads.js';
import { resnetBasicBlock, resnetStem } from '../../src/model/networks/resnet.js';
import { trainingBatchNorms } from '../../src/train/training-graph.js';
import { GRADCHECK_TOLERANCE, dot, f64 } from '../gradcheck.js';
import { FP32_TOLERANCE, randomArray, relativeError, rng } from '../helpers.js';
import { randomParams } from '../model/random-params.js';
import { againstFloat64, asF64, centralDifferences, worstError } from './float64-gradients.js';

type Inputs = Record<string, Float32Array>;

/** A forward graph in training mode with outputs y0, y1, ..., and its gradient graph for seeds dy0, dy1, .... */
function gradientGraph(build: (b: GraphBuilder) => Value[]) {
  const b = new GraphBuilder();
  build(b).forEach((y, i) => b.output(`y${i}`, y));
  const forward = trainingBatchNorms(b.build());
  const ys = [...forward.outputs.values()];
  const g = GraphBuilder.extend(forward);
  const seeds = new Map(ys.map((y, i) => [y, g.input(`dy${i}`, y.shape)]));
  const wrt = [...forward.inputs.filter((v) => !v.name.startsWith('dy')), ...forward.state.filter((v) => v.role === 'param')];
  const d = differentiate(g.build(), seeds, wrt);
  const out = GraphBuilder.extend(d.graph);
  for (const v of wrt) out.output(`grad:${v.name}`, d.grads.get(v.id)!);
  return { forward, graph: out.build(), wrt, ys };
}

/**
 * The float64 gradients of every input and parameter of `build`'s graph against central
 * differences, at `sample` elements of each tensor (all when undefined).
 */
function checkAgainstFiniteDifferences(build: (b: GraphBuilder) => Value[], inputShapes: Record<string, number[]>, sample?: number): { tensors: number; elements: number; worst: number; worstName: string } {
  const { forward, graph, wrt, ys } = gradientGraph(build);
  const r = rng();
  const params64 = asF64(randomParams(forward, r));
  const inputs: Inputs = Object.fromEntries(Object.entries(inputShapes).map(([k, s]) => [k, randomArray(s.reduce((a, x) => a * x), -1, 1, r)]));
  const dys = ys.map((y) => f64(randomArray(y.shape.reduce((a, x) => a * x), -1, 1, r)));
  const in64 = () => Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, f64(v)]));
  const analytic = runGraphCpu(graph, params64, { ...in64(), ...Object.fromEntries(dys.map((d, i) => [`dy${i}`, d])) });
  const relus = new Map(forward.nodes.flatMap((n) => (n.op.type === 'activation' && n.op.attrs.activation === 'relu' ? [[n.op.input.id, n.outputs[0].id] as const] : [])));
  const probeLoss = (out: Map<string, ArrayLike<number>>) => ys.reduce((s, _, i) => s + dot(out.get(`y${i}`)!, dys[i]), 0);
  const numeric = new Map<string, Float64Array>();
  const analyticSampled = new Map<string, Float64Array>();
  let elements = 0;
  for (const v of wrt) {
    const probe = (x: Float64Array, hook: ValueHook): number => {
      if (v.kind === 'input') return probeLoss(runGraphCpu(forward, params64, { ...in64(), [v.name]: x }, hook));
      const p = new Map(params64);
      p.set(v.name, { shape: [...v.shape], data: x });
      return probeLoss(runGraphCpu(forward, p, in64(), hook));
    };
    const x0 = v.kind === 'input' ? f64(inputs[v.name]) : (params64.get(v.name)!.data as Float64Array);
    const pick = r();
    const indices = sample === undefined || x0.length <= sample ? undefined : Array.from({ length: sample }, (_, k) => Math.floor(((k + pick) / sample) * x0.length));
    const fd = centralDifferences(probe, relus, x0, 2e-5, indices);
    const an = analytic.get(`grad:${v.name}`)!;
    const keep = indices ?? [...x0.keys()];
    numeric.set(`grad:${v.name}`, Float64Array.from(keep, (i) => fd[i]));
    analyticSampled.set(`grad:${v.name}`, Float64Array.from(keep, (i) => an[i]));
    elements += keep.length;
  }
  const names = wrt.map((v) => `grad:${v.name}`);
  const { worst } = worstError(names, (n) => analyticSampled.get(n)!, (n) => numeric.get(n)!, 'float64 against central differences', 1e-6);
  expect(worst.err, `${worst.name}: float64 gradient against central differences`).to.be.lessThan(GRADCHECK_TOLERANCE);
  return { tensors: wrt.length, elements, worst: worst.err, worstName: worst.name };
}

describe("mmseg DeepLabv3's gradients", function () {
  this.timeout(900_000);

  // Batch 4: the image pool's batch norm sees one value per image and channel, and over two it
  // would only give +-1 (a gradient that vanishes in exact arithmetic, rounding noise here).
  it("mmseg's ASPP head (image pool first, 3x3 bottleneck) and FCN head: every element of the inputs and parameters", () => {
    const res = checkAgainstFiniteDifferences(
      (b) => [
        mmsegAsppHead(b, b.input('x4', [4, 5, 6, 6]), { prefix: 'decode_head', numClasses: 3, rates: [2, 3], channels: 4 }),
        mmsegFcnHead(b, b.input('x3', [2, 5, 6, 8]), { prefix: 'auxiliary_head', numClasses: 3 }),
      ],
      { x4: [4, 5, 6, 6], x3: [2, 5, 6, 8] },
    );
    console.log(`      (${res.tensors} tensors, ${res.elements} elements; worst ${res.worst.toExponential(1)}, ${res.worstName})`);
  });

  // The max pool between them is left out: its kinks (near-ties of a window's two largest values)
  // would sit within the differences' steps; its gradient is checked with the op's.
  it("ResNet-18's BasicBlock (strided, dilated, with its downsample) after the deep stem: sampled elements", () => {
    const res = checkAgainstFiniteDifferences(
      (b) => {
        let x = resnetStem(b, b.input('image', [2, 9, 9, 3]), 'backbone', 'v1c');
        x = resnetBasicBlock(b, x, 'backbone.layer2.0', 3, { stride: 2, dilation: 2 });
        return [resnetBasicBlock(b, x, 'backbone.layer2.1', 3, { stride: 1, dilation: 2 })];
      },
      { image: [2, 9, 9, 3] },
      16,
    );
    console.log(`      (${res.tensors} tensors, ${res.elements} elements sampled; worst ${res.worst.toExponential(1)}, ${res.worstName})`);
  });

  it('a whole mmseg ResNet-18 with both heads at 33x33, batch 2, training mode: the GPU against the float64 CPU run @slow', async () => {
    const S = 33;
    const N = 2;
    const CLASSES = 5;
    const cfg = defaultConfig('resnet18', { head: 'mmseg', stem: 'v1c', dilationConvention: 'mmseg', asppChannels: 128, numClasses: CLASSES, aux: true });
    const canonical = buildDeepLab(cfg, { batch: N, height: S, width: S }, { dropout: true });
    const network: Graph = trainingBatchNorms(canonical);
    const b = GraphBuilder.extend(network);
    const labels = b.input('labels', [N, S, S], 'u32');
    const seeds = new Map<Value, Value>();
    for (const head of ['logits', 'aux']) {
      const logits = network.outputs.get(head)!;
      const [loss, dlogits] = b.node(`loss_${head}`, { type: 'softmax_cross_entropy', logits, labels, attrs: { ignoreIndex: 255, scale: head === 'aux' ? 0.4 : 1 } });
      b.output(`loss_${head}`, loss);
      seeds.set(logits, dlogits);
    }
    const image = network.inputs[0];
    const params = network.state.filter((v) => v.role === 'param');
    const d = differentiate(b.build(), seeds, [image, ...params]);
    const out = GraphBuilder.extend(d.graph);
    out.output('dimage', d.grads.get(image.id)!);
    for (const p of params) out.output(`grad:${p.name}`, d.grads.get(p.id)!);
    const r = rng();
    const weights = randomParams(canonical, r);
    const inputs = {
      image: randomArray(N * S * S * 3, -1, 1, r),
      labels: Uint32Array.from({ length: N * S * S }, () => (r() < 0.1 ? 255 : Math.floor(r() * CLASSES))),
      dropout_seed: Uint32Array.of(Math.floor(r() * 2 ** 32)),
    };
    const { gpu, exact, forwardOps } = await againstFloat64(out.build(), network.nodes.length, weights, inputs, 'mmseg r18');
    expect(forwardOps.err, `forward op ${forwardOps.name}`).to.be.lessThan(FP32_TOLERANCE);
    const names = ['loss_logits', 'loss_aux', 'dimage', ...params.map((p) => `grad:${p.name}`)];
    const { worst, zeros } = worstError(names, (n) => gpu.get(n)!, (n) => exact.get(n)!, 'mmseg r18', 1e-5);
    const heads = names.filter((n) => /^grad:(decode_head|auxiliary_head|backbone\.stem)\./.test(n));
    const worstHead = Math.max(...heads.map((n) => relativeError(gpu.get(n)!, exact.get(n)!)));
    console.log(`      (${names.length} tensors, ${zeros} zero in exact arithmetic; forward ops worst ${forwardOps.err.toExponential(1)}; gradients worst ${worst.err.toExponential(1)} (${worst.name}); heads and stem ${worstHead.toExponential(1)})`);
    expect(worst.err, worst.name).to.be.lessThan(FP32_TOLERANCE);
  });
});
