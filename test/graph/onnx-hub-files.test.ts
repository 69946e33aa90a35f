// transformers' segmentation networks as the hub's transformers.js folders hold them
// (test/fixtures/hub-onnx, scripts/fixtures/hub-onnx/README.md): each case's fp32 onnx/model.onnx
// imported into our graph, compiled and run by our kernels at each photo's pixel_values, its
// output at the file's own shape within 1e-4 of onnxruntime's (logits_*_fp32.npy); and the imported
// graph differentiated, every parameter at once, against a float64 central difference (on a photo and
// step that keep every ReLU input clear of its kink), its gradients
// run by our kernels against the CPU interpreter, so a fine-tune of it trains what the file computes.
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { compile } from '../../src/graph/compile.js';
import { type CpuParams, runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph } from '../../src/graph/ir.js';
import type { Value } from '../../src/graph/value.js';
import { sourceData } from '../../src/graph/onnx/import/context.js';
import { importOnnx } from '../../src/graph/onnx/import/import.js';
import { onnxSignature } from '../../src/graph/onnx/import/signature.js';
import { permuteAxes } from '../../src/graph/onnx/lower.js';
import type { OnnxModel } from '../../src/graph/onnx/model.js';
import { readOnnx } from '../../src/graph/onnx/read.js';
import type { HostParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { GRADCHECK_TOLERANCE, dot } from '../gradcheck.js';
import { expectClose, numel, randomArray, relativeError, rng, testContext } from '../helpers.js';

const HUB = 'test/fixtures/hub-onnx';

/** Each case, its exporter and the file's own output (NCHW) for a 64x64 input. */
const CASES: readonly { name: string; exporter: string; logits: number[] }[] = [
  { name: 'segformer-torchscript', exporter: 'TorchScript 12, symbolic channels', logits: [1, 5, 16, 16] },
  { name: 'segformer-dynamo', exporter: 'dynamo 18', logits: [1, 5, 16, 16] },
  { name: 'upernet-convnext', exporter: 'dynamo 18: GatherND and Where of adaptive pooling', logits: [1, 5, 64, 64] },
  { name: 'upernet-swin', exporter: 'dynamo 18: strided Slice, Pad, shifted-window masks', logits: [1, 5, 64, 64] },
  { name: 'dpt', exporter: 'TorchScript 14: a Resize of the position embeddings, ConvTranspose', logits: [1, 5, 64, 64] },
  { name: 'beit', exporter: 'dynamo 18: relative position bias, ConvTranspose, MaxPool', logits: [1, 5, 32, 32] },
  { name: 'mobilevit', exporter: 'TorchScript 11', logits: [1, 5, 4, 4] },
  { name: 'mobilevitv2', exporter: 'dynamo 18: Col2Im, InstanceNormalization', logits: [1, 5, 8, 8] },
];

/** The file imported for an NCHW input of `dims`, its output (NHWC) at its own size, with its parameters. */
function importedAtOwnSize(model: OnnxModel, name: string, dims: readonly number[]): { graph: Graph; params: HostParams; logits: readonly number[] } {
  const sig = onnxSignature(model, name);
  const b = new GraphBuilder();
  const [n, ch, h, w] = dims;
  const { logits, sources } = importOnnx(b, b.input('image', [n, h, w, ch]), model, sig, name, { ownSize: true });
  b.output('logits', logits);
  const params: HostParams = new Map([...sources].map(([k, s]) => [k, { shape: s.order.map((a) => s.dims[a]), data: sourceData(s) }]));
  return { graph: b.build(), params, logits: logits.shape };
}

/** Which side of ReLU's kink (or of ReLU6's two) a value lies on. */
const kinkSide = (v: number, six: boolean): number => (v <= 0 ? 0 : six && v >= 6 ? 2 : 1);

/** The ReLU and ReLU6 inputs of `graph` (ONNX's Relu, and Clip to [0, 6]): the values with kinks a difference must not step over. */
function kinkedInputs(graph: Graph): { value: Value; six: boolean }[] {
  return graph.nodes.flatMap((n) => (n.op.type === 'activation' && (n.op.attrs.activation === 'relu' || n.op.attrs.activation === 'relu6') ? [{ value: n.op.input, six: n.op.attrs.activation === 'relu6' }] : []));
}

const nhwc = (data: ArrayLike<number>, shape: readonly number[]): Float32Array => permuteAxes(Float32Array.from(data), shape, [0, 2, 3, 1]).data;

describe("graph: transformers' segmentation networks as transformers.js folders hold them (fp32), against onnxruntime", function () {
  this.timeout(120_000);

  for (const { name, exporter, logits: own } of CASES) {
    describe(`${name} (${exporter})`, () => {
      const dir = `${HUB}/${name}`;
      const model = readOnnx(new Uint8Array(readFileSync(`${dir}/onnx/model.onnx`)), `${name}/onnx/model.onnx`);
      const photos = readdirSync(dir)
        .filter((f) => /^pixel_values_\d+x\d+\.npy$/.test(f))
        .map((f) => f.slice('pixel_values_'.length, -'.npy'.length));

      it('has two photos with their fp32 logits', () => expect(photos).to.have.length(2));

      for (const photo of photos) {
        it(`${photo}: our kernels' output at the file's own shape [${own.join(',')}], onnxruntime's within 1e-4`, async () => {
          const x = readNpy(`${dir}/pixel_values_${photo}.npy`);
          const want = readNpy(`${dir}/logits_${photo}_fp32.npy`);
          expect(want.shape, "onnxruntime's logits").to.deep.equal(own);
          const { graph, params, logits } = importedAtOwnSize(model, name, x.shape);
          expect(logits, 'our output, NHWC').to.deep.equal([own[0], own[2], own[3], own[1]]);
          const program = await Program.create(await testContext(), compile(graph, { mode: 'inference' }), params);
          try {
            const out = (await program.run({ image: nhwc(x.data, x.shape) })).get('logits')!;
            const theirs = nhwc(want.data, want.shape);
            console.log(`      (${relativeError(out, theirs).toExponential(1)} relative)`);
            expectClose(out, theirs, `${name} ${photo}`);
          } finally {
            program.dispose();
          }
        });
      }

      // Four float64 passes of the network on the CPU and its backward compiled for the GPU: about 2 s a case.
      describe('its gradients @slow', () => {
        it('differentiates: the derivative of sum(output * r) along a random step of every parameter against float64 finite differences; the gradients on the GPU', async () => {
          const x = readNpy(`${dir}/pixel_values_${photos[0]}.npy`);
          const { graph, params } = importedAtOwnSize(model, name, x.shape);
          const withSeed = GraphBuilder.extend(graph);
          const out = graph.outputs.get('logits')!;
          const seed = withSeed.input('dy', out.shape);
          const wrt = graph.state.filter((v) => v.role === 'param');
          const d = differentiate(withSeed.build(), new Map([[out, seed]]), wrt);
          const withGrads = GraphBuilder.extend(d.graph);
          for (const p of wrt) withGrads.output(`d:${p.name}`, d.grads.get(p.id) ?? expect.fail(`no gradient for ${p.name}`));
          const backward = withGrads.build();
          const r = rng();
          const dy = Float64Array.from(randomArray(numel(out.shape), -1, 1, r));
          // A central difference holds where no ReLU input crosses its kink within the step: the
          // photo and a random step of every parameter are taken that keep every ReLU input clear
          // of it (UperNet-Swin's first photo holds one 2e-7 from 0, which any step crosses at h = 1e-7).
          const kinks = kinkedInputs(graph);
          const probe = GraphBuilder.extend(graph);
          kinks.forEach((k, i) => probe.output(`kink${i}`, k.value));
          const probed = probe.build();
          const h = 1e-7;
          const tries = 2;
          let found: { step: Map<string, Float64Array>; numeric: number; image: Float64Array } | undefined;
          for (let attempt = 0; attempt < tries * photos.length && !found; attempt++) {
            const pv = readNpy(`${dir}/pixel_values_${photos[attempt % photos.length]}.npy`);
            const image = Float64Array.from(nhwc(pv.data, pv.shape));
            const step = new Map(wrt.map((p) => [p.name, Float64Array.from(randomArray(numel(p.shape), -1, 1, r))]));
            const at = (t: number): CpuParams => new Map([...params].map(([k, p]) => [k, { shape: p.shape, data: Float64Array.from(p.data, (v, i) => v + t * (step.get(k)?.[i] ?? 0)) }]));
            const f = (t: number) => runGraphCpu(probed, at(t), { image });
            const [below, above] = [f(-h), f(h)];
            const crossed = kinks.some((k, i) => {
              const [a, b] = [below.get(`kink${i}`)!, above.get(`kink${i}`)!];
              return a.some((v, j) => kinkSide(v, k.six) !== kinkSide(b[j], k.six));
            });
            if (!crossed) found = { step, image, numeric: (dot(above.get('logits')!, dy) - dot(below.get('logits')!, dy)) / (2 * h) };
          }
          if (!found) expect.fail(`${name}: each of ${tries} random steps on each photo moved a ReLU input across its kink within ${h}`);
          const { step, numeric, image } = found;
          const at0: CpuParams = new Map([...params].map(([k, p]) => [k, { shape: p.shape, data: Float64Array.from(p.data) }]));
          const grads = runGraphCpu(backward, at0, { image, dy });
          const shares = wrt.map((p) => dot(grads.get(`d:${p.name}`)!, step.get(p.name)!));
          const analytic = shares.reduce((s, x) => s + x, 0);
          // Relative to the sum of each parameter's share, |d_p . step_p|, not to the derivative
          // itself: the shares' signs are random, and a draw where they cancel to near zero would
          // divide the difference's rounding (~1e-7 here) by that zero.
          const scale = shares.reduce((s, x) => s + Math.abs(x), 0);
          const err = Math.abs(analytic - numeric) / scale;
          console.log(`      (${wrt.length} parameters, ${kinks.length} ReLU inputs clear of their kinks, ${err.toExponential(1)} of the shares' sum)`);
          expect(err, `${name}: analytic ${analytic}, central difference ${numeric}`).to.be.lessThan(GRADCHECK_TOLERANCE);

          // The backward graph by our kernels against the float32 interpreter, every gradient as one
          // vector: attention's key biases have a gradient of zero (a constant added to every score
          // of a row), so theirs alone are rounding and have no relative error to speak of.
          const inputs32 = { image: Float32Array.from(image), dy: Float32Array.from(dy) };
          const ref = runGraphCpu(backward, params, inputs32);
          const program = await Program.create(await testContext(), backward, params);
          try {
            const got = await program.run(inputs32);
            const all = (m: ReadonlyMap<string, ArrayLike<number>>) => Float32Array.from(wrt.flatMap((p) => Array.from(m.get(`d:${p.name}`)!)));
            console.log(`      (gradients on the GPU: ${relativeError(all(got), all(ref)).toExponential(1)} relative)`);
            expectClose(all(got), all(ref), `${name}: the gradients on the GPU`);
          } finally {
            program.dispose();
          }
        });
      });
    });
  }
});
