// transformers.js' q8 and fp16 files (test/fixtures/hub-onnx: model_quantized.onnx, model_fp16.onnx)
// imported and run at each fixture photo's input, against onnxruntime's logits of the same file and
// transformers' labels of those (post-processing's resize to the photo, then argmax).
//  - q8: onnxruntime's arithmetic (dynamic quantisation, integer products, float ops between).
//    Every layer's codes are the CPU reference's of the values it read. onnxruntime-node traces
//    the file's quantisations (on this host its logits are the fixture's in every bit). Where
//    every code is onnxruntime's, the logits are its within 1e-4; where a float value lies within
//    f32 rounding of a code's boundary and ours takes the other code, the first such flip must be
//    explained by that (test/model/q8-trace.ts), and the logits are reported.
//  - fp16: an f16 program (activations stored in f16 wherever our op has an f16 form, arithmetic in
//    f32, the file's f16 weights). f16 rounding (of the weights and the activations) moves
//    onnxruntime's logits by e from its fp32 file's, on this photo: what f16 rounding does to this
//    network. Both programs compute the same f16 weights and round activations at different
//    places (onnxruntime's CPU provider computes most f16 ops in f32 between casts), so each lands
//    some way from those weights computed in f32 (our f32 program of the file), and two
//    independent roundings land the root of the sum of their squares apart. Asked: our program
//    rounds (more than 1e-5 from the same graph in f32), its distance to onnxruntime's fp16 logits
//    is that of two independent roundings (within a quarter), and transformers' fp16 labels hold
//    on 98 % of the pixels. Not asked: that ours rounds no more than onnxruntime's, whose CPU
//    provider keeps more in f32 (MobileViTV2 at 96x128: ours 1.3e-2 from the graph in f32, its
//    fp16 file 5.7e-3 from its fp32 one).
import { expect } from 'chai';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../../src/graph/compile.js';
import type { Graph } from '../../src/graph/ir.js';
import type { HostParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { loadModel } from '../../src/model/model.js';
import { fineTune } from '../../src/train/fine-tune.js';
import { classAgreement, expectRejects, relativeError, testContext } from '../helpers.js';
import { HUB_ONNX, HUB_PHOTOS, type HubFile, hubArrays, hubFile, importHub, photoLabels, withOutputs } from './hub-onnx-fixture.js';
import { nhwcToNchw } from './layout.js';
import { firstFlip, oursQuantised, ortTrace, quantisedOutputs, unlikeReference } from './q8-trace.js';

/** Every case: SegFormer through both exporters, UperNet (ConvNeXt, Swin), DPT, BEiT, MobileViT and MobileViTV2. */
const RUN = ['segformer-dynamo', 'segformer-torchscript', 'upernet-convnext', 'upernet-swin', 'dpt', 'beit', 'mobilevit', 'mobilevitv2'];

interface Run {
  program: Program;
  graph: Graph;
}

async function programOf(graph: Graph, params: HostParams, precision: 'f32' | 'f16'): Promise<Run> {
  const compiled = compile(graph, { mode: 'inference', precision });
  return { program: await Program.create(await testContext(), compiled, params, precision), graph };
}

/** The program's 'raw' output (the file's own output) as NCHW, and as it came (NHWC) with its shape. */
async function rawLogits(run: Run, image: Float32Array): Promise<{ nchw: Float32Array; nhwc: Float32Array; shape: number[]; outputs: Map<string, Float32Array | Uint32Array> }> {
  const outputs = await run.program.run({ image });
  const nhwc = outputs.get('raw') as Float32Array;
  const shape = [...run.graph.outputs.get('raw')!.shape];
  return { nchw: nhwcToNchw(nhwc, shape), nhwc, shape, outputs };
}

describe('model: transformers.js q8 and fp16 files against onnxruntime (test/fixtures/hub-onnx)', function () {
  this.timeout(300_000);

  it('every transformers.js folder of the fixtures is run', () => {
    const folders = readdirSync(HUB_ONNX).filter((f) => existsSync(join(HUB_ONNX, f, 'onnx', 'model.onnx')));
    expect([...RUN].sort()).to.deep.equal(folders.sort());
  });

  it("a q8 file's fineTune and its load in f16 are refused, naming its quantised layers and the fp32 file", async () => {
    const file = join(HUB_ONNX, 'segformer-dynamo', 'onnx', 'model_quantized.onnx');
    const ctx = await testContext();
    const image = { width: 40, height: 36, data: new Uint8Array(40 * 36 * 3).fill(90) };
    const labels = Uint8Array.from({ length: 40 * 36 }, (_, i) => i % 5);
    const why = "quantize_dynamic: a q8 file's dynamic quantisation (DynamicQuantizeLinear, ConvInteger, MatMulInteger) has no gradient and is exact only in f32: fine-tune, or run in half precision, the fp32 file it was made from (model.onnx beside it)";
    const model = await loadModel(file, { ctx });
    try {
      // The quantisation of the image itself needs no gradient: the 35 after it do.
      await expectRejects(fineTune(model, [{ image, labels }], { recipe: 'plain', steps: 1, crop: 33, lr: 0.01, seed: 3 }), `differentiate: 35 layers run only in f32 inference ('layer_norm_1_QuantizeLinear', 'view_2_QuantizeLinear', 'layer_norm_2_QuantizeLinear', 'view_6_QuantizeLinear' and 31 more): ${why}`);
    } finally {
      model.dispose();
    }
    if (!ctx.hasHalf) return;
    await expectRejects(loadModel(file, { ctx, precision: 'f16' }), `compile: half precision: 36 layers run only in f32 inference ('pixel_values_QuantizeLinear', 'layer_norm_1_QuantizeLinear', 'view_2_QuantizeLinear', 'layer_norm_2_QuantizeLinear' and 32 more): ${why}`);
  });

  for (const name of RUN) {
    describe(name, () => {
      let q8: Run & { file: HubFile; quantised: string[] };
      let fp16: { half?: Run; single: Run };
      before(async () => {
        const file = hubFile(name, 'q8');
        const { graph, params } = importHub(file);
        const quantised = graph.nodes.filter((n) => n.op.type === 'quantize_dynamic').map((n) => n.name);
        q8 = { ...(await programOf(withOutputs(graph, quantisedOutputs(graph)), params, 'f32')), file, quantised };
        const half = importHub(hubFile(name, 'fp16'));
        const ctx = await testContext();
        fp16 = { single: await programOf(half.graph, half.params, 'f32'), ...(ctx.hasHalf ? { half: await programOf(half.graph, half.params, 'f16') } : {}) };
      });
      after(() => {
        for (const run of [q8, fp16?.single, fp16?.half]) run?.program.dispose();
      });

      for (const photo of HUB_PHOTOS) {
        const size = `${photo[0]}x${photo[1]}`;

        it(`q8 ${size}: onnxruntime's codes, and its logits within 1e-4 where every code is its own`, async () => {
          const { input, logits, labels } = hubArrays(name, photo, 'q8');
          const ours = await rawLogits(q8, input.nhwc);
          // onnxruntime-node is the fixtures' onnxruntime with their settings; on another CPU its
          // kernels may sum in another order, so the codes and logits compared are its own run's.
          const trace = await ortTrace(q8.file, input.nchw);
          const fixture = relativeError(trace.logits, logits.data);
          const quantised = oursQuantised(ours.outputs, q8.quantised, input.nhwc);
          expect(unlikeReference(quantised), "layers whose codes are not the CPU reference's of their own values").to.deep.equal([]);
          const flip = firstFlip(trace.steps, quantised);
          const error = relativeError(ours.nchw, trace.logits);
          const agree = classAgreement(photoLabels(ours.nhwc, ours.shape, photo), labels);
          console.log(
            `      (${q8.quantised.length} quantisations; ${flip ? `first flip at '${flip.node}': ${flip.detail}` : "every code onnxruntime's"}; ` +
              `logits ${error.toExponential(1)} relative (onnxruntime-node's ${fixture.toExponential(1)} from the fixture's), labels ${(100 * agree).toFixed(2)} %)`,
          );
          if (flip) {
            expect(flip.explained, `the codes of '${flip.node}': ${flip.detail}`).to.equal(true);
            return;
          }
          expect(error, 'logits, relative').to.be.lessThan(1e-4);
          // transformers' labels are of the fixture's logits: where onnxruntime-node gives those.
          if (fixture < 1e-4) expect(agree, 'labels').to.be.at.least(0.999);
        });

        it(`fp16 ${size}: an f16 program within twice f16 rounding's reach of onnxruntime's fp16 logits, transformers' fp16 labels on 98 %`, async () => {
          const { input, logits, labels } = hubArrays(name, photo, 'fp16');
          const fp32 = hubArrays(name, photo, 'fp32').logits;
          const reach = relativeError(logits.data, fp32.data);
          const single = await rawLogits(fp16.single, input.nhwc);
          const widened = relativeError(single.nchw, logits.data);
          if (!fp16.half) {
            console.log(`      (no shader-f16 on this adapter: the file widened to f32 lands ${widened.toExponential(1)} from onnxruntime's fp16 logits)`);
            return;
          }
          const half = await rawLogits(fp16.half, input.nhwc);
          const error = relativeError(half.nchw, logits.data);
          const own = relativeError(half.nchw, single.nchw);
          const agree = classAgreement(photoLabels(half.nhwc, half.shape, photo), labels);
          console.log(
            `      (f16 rounding moves onnxruntime's logits ${reach.toExponential(1)} from its fp32 ones, ${widened.toExponential(1)} from the file's weights in f32; ours ${own.toExponential(1)} from them; ` +
              `ours from onnxruntime's ${error.toExponential(1)} (independent roundings: ${Math.hypot(own, widened).toExponential(1)}); labels ${(100 * agree).toFixed(2)} %)`,
          );
          expect(own, 'the f16 program against the same graph in f32: it rounds').to.be.greaterThan(1e-5);
          // The two engines differ by their roundings alone, nothing systematic: within a quarter
          // of what two independent roundings give (measured 0.9-1.11 of it on every case).
          expect(error, "against onnxruntime's fp16 logits").to.be.lessThan(1.25 * Math.hypot(own, widened));
          expect(agree, 'labels').to.be.at.least(0.98);
        });
      }
    });
  }
});
