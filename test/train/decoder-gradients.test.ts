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
import { type ValueHook, runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Value } from '../../src/graph/ir.js';
import type { ResizeMode } from '../../src/kernels/resize/resize.js';
import type { BackboneName } from '../../src/model/networks/config.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { type DecoderLayout, deepLabV3PlusDecoder, tfDecoderLayout, torchvisionDecoderLayout } from '../../src/model/networks/decoder.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { trainingBatchNorms } from '../../src/train/training-graph.js';
import { againstFloat64, asF64, centralDifferences, lossGradientGraph, norm, worstError } from './float64-gradients.js';
import { GRADCHECK_TOLERANCE, dot, f64 } from '../gradcheck.js';
import { FP32_TOLERANCE, randomArray, relativeError, rng } from '../helpers.js';
import { randomParams } from '../model/random-params.js';
import { readFlag } from '../../src/util/flags.js';

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
      return { canonical, ...lossGradientGraph(canonical) };
    }

    for (const backbone of ['mobilenet_v3_large', 'mobilenet_v2', 'resnet50'] as const) {
      // ResNet-50's whole network, the longest, is the extended tier's (docs/testing.md): its decoder's float64 gradients are the first case's.
      it(`${backbone}: loss, input gradient and every parameter gradient (decoder included)${backbone === 'resnet50' ? ' @extended' : ''}`, async () => {
        const { canonical, graph, params, forwardNodes } = networkGradientGraph(backbone);
        const decoderParams = params.filter((p) => /^decoder[./]/.test(p.name));
        expect(decoderParams.length, 'decoder parameters').to.equal(backbone === 'resnet50' ? 9 : 15);
        const r = rng();
        const weights = randomParams(canonical, r);
        const labels = Uint32Array.from({ length: N * S * S }, () => (r() < 0.1 ? 255 : Math.floor(r() * CLASSES)));
        const inputs = { image: randomArray(N * S * S * 3, -1, 1, r), labels, dropout_seed: Uint32Array.of(Math.floor(r() * 2 ** 32)) };
        const t0 = performance.now();
        const { gpu, exact, free, forwardOps } = await againstFloat64(graph, forwardNodes, weights, inputs, backbone);
        const lossErr = relativeError(gpu.get('loss')!, free().get('loss')!);
        expect(forwardOps.err, `forward op ${forwardOps.name}`).to.be.lessThan(FP32_TOLERANCE);
        const names = ['loss', 'grad:image', ...params.map((p) => `grad:${p.name}`)];
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
