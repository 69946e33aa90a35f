// DeepLabv3+'s backward pass (issue 18, item 2):
//  - the decoder alone (tiny channels), batch norms in training mode: every gradient of the CPU
//    interpreter in float64 (inputs and every parameter element) against central finite
//    differences, and the GPU program's gradients against that float64 run;
//  - whole networks with the decoder on every kind of backbone at a tiny input, as training
//    builds them (batch statistics, dropout, softmax cross-entropy with ignored pixels): every
//    forward op, the loss, the input gradient and every parameter gradient of the GPU's float32
//    run against the float64 CPU interpreter's run of the same graph (see againstFloat64).
import { expect } from 'chai';
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { compile } from '../../src/graph/compile.js';
import { type CpuParams, type ValueHook, runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import type { HostArray } from '../../src/graph/ops/registry.js';
import type { HostParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import type { ResizeMode } from '../../src/kernels/resize/resize.js';
import { type BackboneName, defaultConfig } from '../../src/model/networks/config.js';
import { type DecoderLayout, deepLabV3PlusDecoder, tfDecoderLayout, torchvisionDecoderLayout } from '../../src/model/networks/decoder.js';
import { buildDeepLab } from '../../src/model/networks/deeplab.js';
import { trainingBatchNorms } from '../../src/train/training-graph.js';
import { GRADCHECK_TOLERANCE, dot, f64 } from '../gradcheck.js';
import { FP32_TOLERANCE, randomArray, relativeError, rng, testContext } from '../helpers.js';
import { randomParams } from '../model/random-params.js';
import { readFlag } from '../../src/util/flags.js';

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function median(xs: number[]): number {
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
function worstError(names: string[], ours: (name: string) => ArrayLike<number>, ref: (name: string) => ArrayLike<number>, what: string, zeroTolerance: number) {
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
 * the network's. `probe` runs the graph with the hook given.
 */
function centralDifferences(probe: (x: Float64Array, hook: ValueHook) => number, relus: Map<number, number>, x: Float64Array, h = 2e-5): Float64Array {
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
  for (let i = 0; i < x.length; i++) gradient[i] = (8 * (at(i, h) - at(i, -h)) - (at(i, 2 * h) - at(i, -2 * h))) / (12 * h);
  return gradient;
}

const asF64 = (p: HostParams): CpuParams => new Map([...p].map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data) }]));

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
 * `free` is the float64 run on its own: its loss is reported, not asserted (on ResNet-50 at random
 * weights the image-pooling batch norm alone puts it 1e-5 to 1e-4 from float32's).
 */
async function againstFloat64(graph: Graph, forwardNodes: number, params: HostParams, inputs: Record<string, Float32Array | Uint32Array>, label: string) {
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
  const free = runGraphCpu(probed, params64, inputs64);
  let forwardOps = { name: '', err: 0 };
  const exact = runGraphCpu(probed, params64, inputs64, (v, data) => {
    const ours = gpu.get(`forward:${v.id}`);
    // Skipped: a GPU kernel's scratch (batch-norm partial sums), which the CPU reference has no use for.
    if (!ours || data.length === 0) return;
    const err = norm(data) === 0 ? norm(ours) : relativeError(ours, data);
    if (err > forwardOps.err) forwardOps = { name: v.name, err };
    (data as Float64Array).set(ours);
  });
  return { gpu, exact, free, forwardOps };
}

describe("DeepLabv3+: the decoder's gradients @slow", function () {
  this.timeout(900_000);

  // encoder [2,3,4,6] (ASPP's output), low-level [2,7,9,5]; reduced to 4, refined to 6 channels.
  const ENCODER = [2, 3, 4, 6];
  const LOW_LEVEL = [2, 7, 9, 5];
  const layouts: { what: string; layout: () => DecoderLayout; resizeMode: ResizeMode }[] = [
    { what: 'plain 3x3 convs (ResNet), torchvision names, half-pixel upsampling', layout: () => torchvisionDecoderLayout(false), resizeMode: 'half_pixel' },
    { what: 'separable convs (MobileNetV3), torchvision names', layout: () => torchvisionDecoderLayout(true), resizeMode: 'half_pixel' },
    { what: "separable convs (MobileNetV2), TF names, align-corners upsampling", layout: tfDecoderLayout, resizeMode: 'align_corners' },
  ];

  /** The decoder with batch norms in training mode, seeded by the input 'dy'; outputs 'y' and every gradient. */
  function decoderGradientGraph(layout: DecoderLayout, resizeMode: ResizeMode) {
    const b = new GraphBuilder();
    const encoder = b.input('encoder', ENCODER);
    const lowLevel = b.input('low_level', LOW_LEVEL);
    b.output('y', deepLabV3PlusDecoder(b, encoder, lowLevel, layout, { resizeMode, eps: 1e-5, lowLevelChannels: 4, channels: 6 }));
    const forward = trainingBatchNorms(b.build());
    const y = forward.outputs.get('y')!;
    const g = GraphBuilder.extend(forward);
    const dy = g.input('dy', y.shape);
    const wrt: Value[] = [encoder, lowLevel, ...forward.state.filter((v) => v.role === 'param')];
    const d = differentiate(g.build(), new Map([[y, dy]]), wrt);
    const out = GraphBuilder.extend(d.graph);
    for (const v of wrt) {
      const grad = d.grads.get(v.id);
      if (!grad) throw new Error(`no gradient reaches ${v.name}`);
      out.output(`grad:${v.name}`, grad);
    }
    return { forward, graph: out.build(), wrt, yShape: y.shape };
  }

  for (const c of layouts) {
    it(`${c.what}: float64 gradients of the inputs and every parameter match central differences; the GPU's match them`, async () => {
      const { forward, graph, wrt, yShape } = decoderGradientGraph(c.layout(), c.resizeMode);
      const r = rng();
      const params = randomParams(forward, r);
      const inputs = { encoder: randomArray(ENCODER.reduce((a, x) => a * x)), low_level: randomArray(LOW_LEVEL.reduce((a, x) => a * x)) };
      const dy = randomArray(yShape.reduce((a, x) => a * x), -1, 1, r);
      const params64 = asF64(params);
      const analytic = runGraphCpu(graph, params64, { encoder: f64(inputs.encoder), low_level: f64(inputs.low_level), dy: f64(dy) });
      const relus = new Map(forward.nodes.flatMap((n) => (n.op.type === 'activation' && n.op.attrs.activation === 'relu' ? [[n.op.input.id, n.outputs[0].id] as const] : [])));
      const numeric = new Map<string, Float64Array>();
      for (const v of wrt) {
        // y as a function of this one tensor, everything else fixed; the probe loss sum(y * dy).
        const probe = (x: Float64Array, hook: ValueHook): number => {
          if (v.kind === 'input') {
            const all = { encoder: f64(inputs.encoder), low_level: f64(inputs.low_level), [v.name]: x };
            return dot(runGraphCpu(forward, params64, all, hook).get('y')!, dy);
          }
          const p = new Map(params64);
          p.set(v.name, { shape: [...v.shape], data: x });
          return dot(runGraphCpu(forward, p, { encoder: f64(inputs.encoder), low_level: f64(inputs.low_level) }, hook).get('y')!, dy);
        };
        const x0 = v.kind === 'input' ? f64(inputs[v.name as keyof typeof inputs]) : (params64.get(v.name)!.data as Float64Array);
        numeric.set(`grad:${v.name}`, centralDifferences(probe, relus, x0));
      }
      const names = wrt.map((v) => `grad:${v.name}`);
      const elements = [...numeric.values()].reduce((a, g) => a + g.length, 0);
      const fd = worstError(names, (n) => analytic.get(n)!, (n) => numeric.get(n)!, `${c.what}, float64 against central differences`, 1e-6);
      expect(fd.worst.err, `${c.what}: ${fd.worst.name}, float64 against central differences`).to.be.lessThan(GRADCHECK_TOLERANCE);

      const { gpu, exact, forwardOps: fwd } = await againstFloat64(graph, forward.nodes.length, params, { ...inputs, dy }, c.what);
      const ours = worstError(names, (n) => gpu.get(n)!, (n) => exact.get(n)!, `${c.what}, GPU`, 1e-5);
      if (readFlag('PARITY_VERBOSE')) for (const n of names) console.log(`        ${n} ${relativeError(gpu.get(n)!, exact.get(n)!).toExponential(2)} |ref| ${norm(exact.get(n)!).toExponential(2)} [${Array.from(exact.get(n)!).slice(0, 4).map((x) => x.toExponential(2))}] gpu [${Array.from(gpu.get(n)!).slice(0, 4).map((x) => x.toExponential(2))}]`);
      console.log(
        `      (${wrt.length} tensors, ${elements} elements; float64 against central differences worst ${fd.worst.err.toExponential(1)}${fd.zeros ? `, ${fd.zeros} zero in exact arithmetic` : ''}; ` +
          `GPU: forward ops worst ${fwd.err.toExponential(1)}, gradients worst ${ours.worst.err.toExponential(1)} (${ours.worst.name}))`,
      );
      expect(fwd.err, `GPU forward op ${fwd.name}`).to.be.lessThan(FP32_TOLERANCE);
      expect(ours.worst.err, `GPU gradient of ${ours.worst.name}`).to.be.lessThan(FP32_TOLERANCE);
    });
  }

  describe('whole networks at 33x33, batch 2, training mode: the GPU against the float64 CPU run', () => {
    const S = 33;
    const N = 2;
    const CLASSES = 5;

    /** The network with its loss (ignore index 255), the input gradient and every parameter's. */
    function networkGradientGraph(backbone: BackboneName) {
      const cfg = defaultConfig(backbone, { outputStride: 16, numClasses: CLASSES, decoder: 'deeplabv3plus' });
      const canonical = buildDeepLab(cfg, { batch: N, height: S, width: S }, { dropout: true });
      const network = trainingBatchNorms(canonical);
      const b = GraphBuilder.extend(network);
      const logits = network.outputs.get('logits')!;
      const labels = b.input('labels', [N, S, S], 'u32');
      const [loss, dlogits] = b.node('loss', { type: 'softmax_cross_entropy', logits, labels, attrs: { ignoreIndex: 255, scale: 1 } });
      b.output('loss', loss);
      const image = network.inputs[0];
      const params = network.state.filter((v) => v.role === 'param');
      const d = differentiate(b.build(), new Map([[logits, dlogits]]), [image, ...params]);
      const out = GraphBuilder.extend(d.graph);
      out.output('dimage', d.grads.get(image.id)!);
      for (const p of params) out.output(`grad:${p.name}`, d.grads.get(p.id)!);
      return { canonical, graph: out.build(), params, forwardNodes: network.nodes.length };
    }

    for (const backbone of ['mobilenet_v3_large', 'mobilenet_v2', 'resnet50'] as const) {
      it(`${backbone}: loss, input gradient and every parameter gradient (decoder included)`, async () => {
        const { canonical, graph, params, forwardNodes } = networkGradientGraph(backbone);
        const decoderParams = params.filter((p) => /^decoder[./]/.test(p.name));
        expect(decoderParams.length, 'decoder parameters').to.equal(backbone === 'resnet50' ? 9 : 15);
        const r = rng();
        const weights = randomParams(canonical, r);
        const labels = Uint32Array.from({ length: N * S * S }, () => (r() < 0.1 ? 255 : Math.floor(r() * CLASSES)));
        const inputs = { image: randomArray(N * S * S * 3, -1, 1, r), labels, dropout_seed: Uint32Array.of(Math.floor(r() * 2 ** 32)) };
        const t0 = performance.now();
        const { gpu, exact, free, forwardOps } = await againstFloat64(graph, forwardNodes, weights, inputs, backbone);
        const lossErr = relativeError(gpu.get('loss')!, free.get('loss')!);
        expect(forwardOps.err, `forward op ${forwardOps.name}`).to.be.lessThan(FP32_TOLERANCE);
        const names = ['loss', 'dimage', ...params.map((p) => `grad:${p.name}`)];
        const { errors, worst, zeros } = worstError(names, (n) => gpu.get(n)!, (n) => exact.get(n)!, backbone, 1e-5);
        if (readFlag('PARITY_VERBOSE')) {
          for (const e of [...errors].sort((a, b) => b.err - a.err).slice(0, 12)) console.log(`        ${e.name} ${e.err.toExponential(2)} |ref| ${norm(exact.get(e.name)!).toExponential(2)} |gpu| ${norm(gpu.get(e.name)!).toExponential(2)}`);
        }
        const worstDecoder = errors.filter((e) => /^grad:decoder[./]/.test(e.name)).reduce((w, e) => (e.err > w.err ? e : w), { name: '-', err: 0 });
        console.log(
          `      (${((performance.now() - t0) / 1000).toFixed(0)} s; forward ops worst ${forwardOps.err.toExponential(1)} (${forwardOps.name}), loss run on its own ${lossErr.toExponential(1)}; from the GPU's forward values, ${names.length} tensors, ${zeros} zero in exact arithmetic: ` +
            `loss ${errors[0].err.toExponential(1)}, input gradient ${errors[1].err.toExponential(1)}, worst ${worst.err.toExponential(1)} (${worst.name}), in the decoder ${worstDecoder.err.toExponential(1)} (${worstDecoder.name}))`,
        );
        expect(worst.err, worst.name).to.be.lessThan(FP32_TOLERANCE);
      });
    }
  });
});
