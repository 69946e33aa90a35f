// MobileViT DeepLabV3 against `transformers` on ../shared/fixtures/hf (random weights written by
// transformers, float64 references): built from config.json alone, weights read from
// model.safetensors with our reader, logits within 1e-4 relative.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { compile } from '../../src/graph/compile.js';
import { lowerToOnnx, onnxModelOf } from '../../src/graph/onnx/lower.js';
import { decodeModel, encodeModel } from '../../src/graph/onnx/proto.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { Program } from '../../src/graph/program.js';
import { permuteCpu } from '../../src/kernels/layout/permute.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { argmaxCpu } from '../../src/kernels/softmax/softmax.js';
import { describeGraph } from '../../src/model/analysis/describe.js';
import { buildMobileVitDeepLab, unfoldingPermute } from '../../src/model/networks/mobilevit.js';
import { MOBILEVIT_XX_SMALL, type MobileVitConfig, mobileVitArchitectureFromJson, mobileVitConfigFromHub, validateMobileVitConfig } from '../../src/model/networks/mobilevit-config.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import { transformersParams } from '../../src/model/weights/transformers.js';
import { expectClose, expectThrows, numel, testContext } from '../helpers.js';
import { expectHalfProgramClose, expectRawLogitsAsCpu } from './half-program.js';
import { runOnnx } from '../onnx-runtime.js';
import { randomParams } from './random-params.js';
import { sharedPath } from '../shared.js';

const DIR = sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small');
const hubConfig = (): Record<string, unknown> => JSON.parse(readFileSync(`${DIR}/config.json`, 'utf8')) as Record<string, unknown>;

/** An NCHW fixture as NHWC. */
function nhwcOf(file: string): { data: Float32Array; shape: number[] } {
  const t = readNpy(`${DIR}/${file}`);
  const [n, c, h, w] = t.shape;
  return { data: permuteCpu(t.data, t.shape, { view: t.shape, perm: [0, 2, 3, 1], shape: [n, h, w, c] }), shape: [n, h, w, c] };
}

describe('model: MobileViT DeepLabV3 (transformers)', () => {
  it('reads every architectural value from config.json', () => {
    const cfg = mobileVitConfigFromHub(hubConfig());
    expect(cfg).to.deep.include({ expandRatio: 2, mlpRatio: 2, numAttentionHeads: 4, patchSize: 2, convKernelSize: 3, outputStride: 16, layerNormEps: 1e-5, qkvBias: true, hiddenAct: 'silu', asppOutChannels: 256, numLabels: 21 });
    expect(cfg.neckHiddenSizes).to.deep.equal([16, 16, 24, 48, 64, 80, 320]);
    expect(cfg.hiddenSizes).to.deep.equal([64, 80, 96]);
    expect(cfg.atrousRates).to.deep.equal([6, 12, 18]);
    expect(cfg).to.deep.include({ hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0, asppDropoutProb: 0.1, classifierDropoutProb: 0.1 });
  });

  it("trains with transformers' dropout: the attention's and the MLP's outputs at hidden_dropout_prob, the attention weights at attention_probs_dropout_prob, ASPP and classifier; none in inference", () => {
    const rates = (overrides: Record<string, unknown>, dropout: boolean): number[] =>
      buildMobileVitDeepLab(mobileVitConfigFromHub({ ...hubConfig(), ...overrides }), { height: 64, width: 64 }, { dropout })
        .nodes.filter((n) => n.op.type === 'dropout')
        .map((n) => (n.op as { attrs: { p: number } }).attrs.p);
    // 9 transformer layers (2 + 4 + 3), two outputs each; ASPP's projection; the classifier's input.
    expect(rates({ hidden_dropout_prob: 0.05 }, true)).to.deep.equal([...Array(18).fill(0.05), 0.1, 0.1]);
    const withWeights = rates({ hidden_dropout_prob: 0.05, attention_probs_dropout_prob: 0.2 }, true);
    expect(withWeights.filter((p) => p === 0.2), 'attention weights').to.have.length(9);
    expect(withWeights).to.have.length(29);
    expect(rates({}, false), 'inference').to.deep.equal([]);
    expectThrows(() => mobileVitConfigFromHub({ ...hubConfig(), hidden_dropout_prob: 1 }), 'hidden_dropout_prob must be in [0, 1), got 1');
    // An architecture our checkpoints kept before these rates were read takes transformers' defaults.
    const { hiddenDropoutProb: _h, attentionProbsDropoutProb: _a, ...older } = JSON.parse(JSON.stringify(MOBILEVIT_XX_SMALL)) as Record<string, unknown>;
    expect(mobileVitArchitectureFromJson(older, 'metadata')).to.deep.include({ hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0 });
  });

  it('refuses configs it cannot build, naming the field', () => {
    expectThrows(() => mobileVitConfigFromHub({ ...hubConfig(), hidden_sizes: [64, 81, 96] }), 'config.json: MobileViT config: hidden_sizes[1] = 81 is not a multiple of the 4 attention heads');
    expectThrows(() => mobileVitConfigFromHub({ ...hubConfig(), output_stride: 4 }), 'output_stride must be 8, 16 or 32, got 4');
    expectThrows(() => mobileVitConfigFromHub({ ...hubConfig(), hidden_act: 'gelu' }), "config.json: hidden_act must be 'silu', got \"gelu\"");
    expectThrows(() => mobileVitConfigFromHub({ ...hubConfig(), model_type: 'mobilenet_v2' }), "model_type is \"mobilenet_v2\", not 'mobilevit'");
    const { neck_hidden_sizes: _omitted, ...rest } = hubConfig();
    expectThrows(() => mobileVitConfigFromHub(rest), 'config.json: neck_hidden_sizes is missing (it must be a list of integers)');
    const cfg = mobileVitConfigFromHub(hubConfig());
    expectThrows(() => validateMobileVitConfig({ ...cfg, convKernelSize: 4 } as MobileVitConfig), 'conv_kernel_size must be an odd positive integer, got 4');
    expectThrows(() => unfoldingPermute([1, 5, 4, 3], 2), 'unfolding: 5x4 is not a multiple of the 2x2 patch');
  });

  it('declares exactly the checkpoint\'s parameters (safetensors, our layouts), 1.85 M of them', () => {
    const cfg = mobileVitConfigFromHub(hubConfig());
    const graph = buildMobileVitDeepLab(cfg, { height: 96, width: 128 });
    const params = transformersParams(readSafetensors(`${DIR}/model.safetensors`).tensors);
    const declared = new Map(graph.state.map((v) => [v.name, v.shape]));
    expect([...params.keys()].filter((k) => !declared.has(k)), 'in the checkpoint, not the graph').to.deep.equal([]);
    expect([...declared.keys()].filter((k) => !params.has(k)), 'in the graph, not the checkpoint').to.deep.equal([]);
    for (const [name, shape] of declared) expect(params.get(name)!.shape, name).to.deep.equal(shape);
    const trainable = graph.state.filter((v) => v.role === 'param').reduce((s, v) => s + numel(v.shape), 0);
    expect(trainable / 1e6).to.be.closeTo(1.85, 0.005);
  });

  it("training builds transformers' two head dropouts (after ASPP, then channel-wise) after the transformer's, inference none", () => {
    const cfg = mobileVitConfigFromHub(hubConfig());
    const dropouts = (dropout: boolean) => buildMobileVitDeepLab(cfg, { height: 64, width: 64 }, { dropout }).nodes.filter((n) => n.op.type === 'dropout');
    expect(dropouts(false)).to.have.length(0);
    const training = dropouts(true);
    expect(training.slice(-2).map((n) => n.op.type === 'dropout' && [n.name, n.op.attrs.p, n.op.attrs.channelwise ?? false])).to.deep.equal([
      ['segmentation_head.aspp.project.3', 0.1, false],
      ['segmentation_head.dropout', 0.1, true],
    ]);
    expectThrows(() => buildMobileVitDeepLab(cfg, { height: 0, width: 64 }), 'buildMobileVitDeepLab: height must be a positive integer, got 0');
  });

  it('describe counts the attention products with the convolutions, each once', () => {
    const graph = buildMobileVitDeepLab(mobileVitConfigFromHub(hubConfig()), { height: 96, width: 128 });
    const d = describeGraph(graph);
    let convMacs = 0;
    let productMacs = 0;
    for (const n of graph.nodes) {
      const [out] = n.outputs;
      if (n.op.type === 'conv2d') convMacs += numel(out.shape) * n.op.weight.shape[0] * n.op.weight.shape[1] * n.op.weight.shape[2];
      if (n.op.type === 'matmul') productMacs += numel(out.shape) * (n.op.attrs.transA ? n.op.a.shape[1] : n.op.a.shape[2]);
    }
    // 9 transformer layers, two products each.
    expect(graph.nodes.filter((n) => n.op.type === 'matmul')).to.have.length(18);
    expect(productMacs).to.be.greaterThan(0);
    expect(d.totals.macs).to.equal(convMacs + productMacs);
    expect(d.totals.flops).to.equal(2 * d.totals.macs + d.totals.otherFlops);
    expect(d.totals.trainableParams).to.equal(graph.state.filter((v) => v.role === 'param').reduce((s, v) => s + numel(v.shape), 0));
  });

  describe('whole network @slow', function () {
    this.timeout(600_000);
    const cfg = (): MobileVitConfig => mobileVitConfigFromHub(hubConfig());

    it('96x128 crop of 2007_000033: GPU and CPU interpreter within 1e-4 of transformers', async () => {
      const params = transformersParams(readSafetensors(`${DIR}/model.safetensors`).tensors);
      const image = nhwcOf('pixel_values_96x128.npy');
      const ref = nhwcOf('seed1_96x128_logits.npy');
      const graph = buildMobileVitDeepLab(cfg(), { height: 96, width: 128 }, { extraOutputs: true });
      const compiled = compile(graph, { mode: 'inference' });
      const cpu = runGraphCpu(compiled, params, { image: image.data }).get('logits_raw')!;
      expect(cpu.length).to.equal(ref.data.length);
      expectClose(cpu, ref.data, 'CPU interpreter logits');
      const program = await Program.create(await testContext(), compiled, params);
      try {
        const out = await program.run({ image: image.data });
        expectClose(out.get('logits_raw')!, ref.data, 'GPU logits');
      } finally {
        program.dispose();
      }
    });

    it('exported to ONNX, onnxruntime gives transformers\' logits within 1e-4', async () => {
      const params = transformersParams(readSafetensors(`${DIR}/model.safetensors`).tensors);
      const graph = buildMobileVitDeepLab(cfg(), { height: 96, width: 128 }, { extraOutputs: true });
      const bytes = encodeModel(onnxModelOf(lowerToOnnx(graph, params, 'mobilevit')));
      const ops = new Set(decodeModel(bytes).graph.node.map((n) => n.op_type));
      for (const op of ['LayerNormalization', 'MatMul', 'Softmax', 'Sigmoid', 'Transpose', 'Reshape']) expect(ops.has(op), op).to.equal(true);
      const pixels = readNpy(`${DIR}/pixel_values_96x128.npy`);
      const out = await runOnnx(bytes, { image: { dims: pixels.shape, data: pixels.data } });
      const ref = readNpy(`${DIR}/seed1_96x128_logits.npy`);
      expect(out.get('logits_raw')!.dims).to.deep.equal(ref.shape);
      expectClose(out.get('logits_raw')!.data, ref.data, 'onnxruntime logits');
    });

    it("the hub's 512x512 input (the processor's crop of the whole image): labels as post_process_semantic_segmentation gives them", async () => {
      const params = transformersParams(readSafetensors(`${DIR}/model.safetensors`).tensors);
      const image = nhwcOf('pipeline_2007_000033_pixel_values.npy');
      const [, height, width] = image.shape;
      const program = await Program.create(await testContext(), compile(buildMobileVitDeepLab(cfg(), { height, width }, { extraOutputs: true }), { mode: 'inference' }), params);
      try {
        const raw = (await program.run({ image: image.data })).get('logits_raw')! as Float32Array;
        // post_process_semantic_segmentation: the logits resized to the image (bilinear,
        // align_corners=False), then the arg max.
        const ref = readNpy(`${DIR}/seed1_pipeline_2007_000033_labels.npy`);
        const [outH, outW] = ref.shape;
        const rawShape = [1, height / 16, width / 16, cfg().numLabels];
        const labels = argmaxCpu(resizeBilinearCpu(raw, rawShape, { outH, outW, mode: 'half_pixel' }), [1, outH, outW, rawShape[3]]);
        let same = 0;
        for (let i = 0; i < labels.length; i++) if (labels[i] === ref.data[i]) same++;
        console.log(`      (${labels.length - same} of ${labels.length} pixels differ from transformers')`);
        expect(same / labels.length, `${labels.length - same} of ${labels.length} pixels differ`).to.be.at.least(0.999);
      } finally {
        program.dispose();
      }
    });

    it('half precision: the f16 program differs from f32 by f16 rounding only', async function () {
      if (!(await testContext()).hasHalf) this.skip();
      await expectHalfProgramClose(buildMobileVitDeepLab(cfg(), { height: 48, width: 64 }, { extraOutputs: true }), transformersParams(readSafetensors(`${DIR}/model.safetensors`).tensors), ['permute', 'layer_norm', 'matmul', 'softmax']);
    });

    // No transformers reference here: the GPU against the CPU interpreter, on configs and
    // sizes the fixture does not cover.
    const variants: [string, Record<string, unknown>, number, number][] = [
      // x-small as published; 70x90 leaves maps of odd sides, resized to the patch and back.
      ['x-small from its config alone, at 70x90 (sides the 2x2 patch does not divide)', { neck_hidden_sizes: [16, 32, 48, 64, 80, 96, 384], hidden_sizes: [96, 120, 144] }, 70, 90],
      ['xx-small at output stride 8 (the last two blocks dilated), 64x80', { output_stride: 8 }, 64, 80],
    ];
    for (const [what, overrides, height, width] of variants) {
      it(`${what}: GPU equals the CPU interpreter`, async () => {
        const graph = buildMobileVitDeepLab(mobileVitConfigFromHub({ ...hubConfig(), ...overrides }), { height, width }, { extraOutputs: true });
        await expectRawLogitsAsCpu(graph, randomParams(graph), what);
      });
    }
  });
});
