// MobileViTV2 DeepLabV3 against `transformers` on ../shared/fixtures/hf/mobilevitv2-0.5-deeplabv3
// (random weights written by transformers 5.18, float64 references): built from config.json
// alone, every width through transformers' make_divisible; the logits and labels of a crop, the
// hub pipeline (processor, model, post-processing) on a VOC image, ONNX through onnxruntime, a
// fine-tune written back as a hub folder, the folder loaded from bytes as the page does; and
// other widths (random weights), the GPU against the CPU interpreter.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hubFileSet } from '../../src/browser/hub-files.js';
import { compile } from '../../src/graph/compile.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { HostParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { decodeModel } from '../../src/graph/onnx/proto.js';
import { readImage } from '../../src/io/image.js';
import { permuteCpu } from '../../src/kernels/layout/permute.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { argmaxCpu } from '../../src/kernels/softmax/softmax.js';
import { describeModel } from '../../src/model/analysis/describe.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { backboneRecord } from '../../src/model/backbones/registry.js';
import { WEIGHT_FORMATS } from '../../src/model/loading/formats/registry.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from '../../src/model/loading/load-weights.js';
import { loadModel } from '../../src/model/model.js';
import { type MobileVitV2Architecture, type MobileVitV2Config, buildMobileVitV2DeepLab, mobileVitV2ConfigFromHub, mobileVitV2Widths } from '../../src/model/networks/mobilevitv2.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import { mobileVitV2Params, mobileVitV2Tensors } from '../../src/model/weights/transformers-mobilevitv2.js';
import { UNLABELLED, fineTune } from '../../src/train/fine-tune.js';
import { runCli } from '../cli/run-cli.js';
import { expectClose, expectThrows, numel, relativeError, testContext } from '../helpers.js';
import { expectHalfProgramClose, expectRawLogitsAsCpu } from './half-program.js';
import { runOnnx } from '../onnx-runtime.js';
import { randomParams } from './random-params.js';
import { sharedPath } from '../shared.js';

const DIR = sharedPath('fixtures', 'hf', 'mobilevitv2-0.5-deeplabv3');
const VOC_IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const hubConfig = (): Record<string, unknown> => JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
const fixtureParams = (): HostParams => mobileVitV2Params(readSafetensors(join(DIR, 'model.safetensors')).tensors, 'model.safetensors');
/** The MobileViTV2 sizes weights carry, as the backbone's record keeps them. */
const sizesOf = (w: LoadedWeights): MobileVitV2Architecture => backboneRecord('mobilevitv2').architecture.toJson(w.architecture) as MobileVitV2Architecture;

/** An NCHW fixture as NHWC. */
function nhwcOf(file: string): { data: Float32Array; shape: number[] } {
  const t = readNpy(join(DIR, file));
  const [n, c, h, w] = t.shape;
  return { data: permuteCpu(t.data, t.shape, { view: t.shape, perm: [0, 2, 3, 1], shape: [n, h, w, c] }), shape: [n, h, w, c] };
}

/** The share of labels that agree. */
function agreement(a: ArrayLike<number>, b: ArrayLike<number>): { same: number; of: number } {
  expect(a.length).to.equal(b.length);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return { same, of: a.length };
}

/** Random weights for a MobileViTV2 graph, its group norms' weights about 1 as transformers initialises them. */
function randomMobileVitV2Params(graph: ReturnType<typeof buildMobileVitV2DeepLab>): HostParams {
  const params = randomParams(graph);
  for (const n of graph.nodes) if (n.op.type === 'group_norm') params.get(n.op.gamma.name)!.data.forEach((v, i, a) => (a[i] = 1 + 5 * v));
  return params;
}

describe('model: MobileViTV2 DeepLabV3 (transformers)', () => {
  it('reads every architectural value from config.json', () => {
    const cfg = mobileVitV2ConfigFromHub(hubConfig());
    expect(cfg).to.deep.include({ widthMultiplier: 0.5, ffnMultiplier: 2, expandRatio: 2, patchSize: 2, convKernelSize: 3, outputStride: 8, layerNormEps: 1e-5, hiddenAct: 'silu', asppOutChannels: 256, numLabels: 21, attnDropout: 0, ffnDropout: 0 });
    expect(cfg.baseAttnUnitDims).to.deep.equal([128, 192, 256]);
    expect(cfg.nAttnBlocks).to.deep.equal([2, 4, 3]);
    expect(cfg.atrousRates).to.deep.equal([12, 24, 36]);
  });

  it("derives every width from the multiplier as transformers does (its modules' shapes, transformers 5.18)", () => {
    const base = mobileVitV2ConfigFromHub(hubConfig());
    // width: stem, the five stages, attention and FFN widths of the three blocks.
    const transformers: [number, number, number[], number[], number[]][] = [
      [0.5, 16, [32, 64, 128, 192, 256], [64, 96, 128], [128, 192, 256]],
      [0.6, 24, [48, 80, 152, 232, 304], [80, 112, 152], [160, 224, 304]],
      [0.75, 24, [48, 96, 192, 288, 384], [96, 144, 192], [192, 288, 384]],
      [1, 32, [64, 128, 256, 384, 512], [128, 192, 256], [256, 384, 512]],
      [1.75, 56, [112, 224, 448, 672, 896], [224, 336, 448], [448, 672, 896]],
    ];
    for (const [widthMultiplier, stem, stages, attention, ffn] of transformers) {
      expect(mobileVitV2Widths({ ...base, widthMultiplier }), `width ${widthMultiplier}`).to.deep.equal({ stem, stages, attention, ffn });
    }
    // Trainable parameters of transformers' MobileViTV2ForSemanticSegmentation at 3 labels and 8 ASPP channels.
    const counts: [number, number][] = [[0.5, 1173428], [0.6, 1649444], [0.75, 2570540], [1, 4508068], [1.75, 13563148]];
    for (const [widthMultiplier, count] of counts) {
      const graph = buildMobileVitV2DeepLab({ ...base, widthMultiplier, numLabels: 3, asppOutChannels: 8 }, { height: 32, width: 32 });
      expect(graph.state.filter((v) => v.role === 'param').reduce((s, v) => s + numel(v.shape), 0), `width ${widthMultiplier}`).to.equal(count);
    }
  });

  it('refuses configs it cannot build, naming the field', () => {
    expectThrows(() => mobileVitV2ConfigFromHub({ ...hubConfig(), n_attn_blocks: [2, 4] }), 'config.json: MobileViTV2 config: n_attn_blocks needs 3 values, got 2');
    expectThrows(() => mobileVitV2ConfigFromHub({ ...hubConfig(), output_stride: 4 }), 'output_stride must be 8, 16 or 32, got 4');
    expectThrows(() => mobileVitV2ConfigFromHub({ ...hubConfig(), hidden_act: 'gelu' }), "config.json: hidden_act must be 'swish' (SiLU), got \"gelu\"");
    expectThrows(() => mobileVitV2ConfigFromHub({ ...hubConfig(), model_type: 'mobilevit' }), "model_type is \"mobilevit\", not 'mobilevitv2'");
    expectThrows(() => mobileVitV2ConfigFromHub({ ...hubConfig(), ffn_multiplier: 1.5 }), 'config.json: ffn_multiplier must be an integer, got 1.5');
    expectThrows(() => mobileVitV2ConfigFromHub({ ...hubConfig(), width_multiplier: 0 }), 'width_multiplier must be a positive number, got 0');
    expectThrows(() => mobileVitV2ConfigFromHub({ ...hubConfig(), attn_dropout: 1 }), 'attn_dropout must be in [0, 1), got 1');
    const { width_multiplier: _omitted, ...rest } = hubConfig();
    expectThrows(() => mobileVitV2ConfigFromHub(rest), 'config.json: width_multiplier is missing (it must be a number)');
    const cfg = mobileVitV2ConfigFromHub(hubConfig());
    expectThrows(() => buildMobileVitV2DeepLab({ ...cfg, convKernelSize: 4 } as MobileVitV2Config, { height: 64, width: 64 }), 'conv_kernel_size must be an odd positive integer, got 4');
    // At OS 32 a 20x20 input leaves the last block a 1x1 map: no 2x2 patch.
    expectThrows(() => buildMobileVitV2DeepLab({ ...cfg, outputStride: 32 }, { height: 20, width: 20 }), 'mobilevitv2.encoder.layer.4: its 1x1 map holds no 2x2 patch (the input is too small)');
  });

  it("declares exactly the checkpoint's parameters (safetensors, our layouts, the qkv projections split), 3.35 M of them", () => {
    const graph = buildMobileVitV2DeepLab(mobileVitV2ConfigFromHub(hubConfig()), { height: 96, width: 128 });
    const params = fixtureParams();
    const declared = new Map(graph.state.map((v) => [v.name, v.shape]));
    expect([...params.keys()].filter((k) => !declared.has(k)), 'in the checkpoint, not the graph').to.deep.equal([]);
    expect([...declared.keys()].filter((k) => !params.has(k)), 'in the graph, not the checkpoint').to.deep.equal([]);
    for (const [name, shape] of declared) expect(params.get(name)!.shape, name).to.deep.equal(shape);
    const trainable = graph.state.filter((v) => v.role === 'param').reduce((s, v) => s + numel(v.shape), 0);
    expect(trainable / 1e6).to.be.closeTo(3.35, 0.005);
    // The group norms are group norms, one group each: 2 a transformer layer and one closing each block.
    expect(graph.nodes.filter((n) => n.op.type === 'group_norm')).to.have.length(2 * (2 + 4 + 3) + 3);
  });

  it('the qkv projections split on reading and join on writing, exactly', () => {
    const tensors = readSafetensors(join(DIR, 'model.safetensors')).tensors;
    const back = mobileVitV2Tensors(fixtureParams());
    const kept = [...tensors.keys()].filter((k) => !k.endsWith('.num_batches_tracked'));
    expect([...back.keys()].sort()).to.deep.equal(kept.sort());
    for (const name of kept) {
      expect(back.get(name)!.shape, name).to.deep.equal(tensors.get(name)!.shape);
      expect(relativeError(back.get(name)!.data, tensors.get(name)!.data), name).to.equal(0);
    }
    const qkv = 'mobilevitv2.encoder.layer.2.transformer.layer.0.attention.qkv_proj.convolution.weight';
    const bad = new Map(tensors).set(qkv, { ...tensors.get(qkv)!, shape: [128, 64, 1, 1], data: new Float32Array(128 * 64) });
    expectThrows(() => mobileVitV2Params(bad, 'model.safetensors'), `model.safetensors: ${qkv} has 128 output channels, not 1 + 2d (one query, d keys, d values)`);
  });

  it("training builds transformers' dropouts where the config asks for them, inference none", () => {
    const cfg = { ...mobileVitV2ConfigFromHub(hubConfig()), nAttnBlocks: [1, 0, 0], attnDropout: 0.2, ffnDropout: 0.05 };
    const dropouts = (dropout: boolean) => buildMobileVitV2DeepLab(cfg, { height: 64, width: 64 }, { dropout }).nodes.filter((n) => n.op.type === 'dropout');
    expect(dropouts(false)).to.have.length(0);
    const t = 'mobilevitv2.encoder.layer.2.transformer.layer.0';
    expect(dropouts(true).map((n) => n.op.type === 'dropout' && [n.name, n.op.attrs.p, n.op.attrs.channelwise ?? false])).to.deep.equal([
      [`${t}.attention.attn_dropout`, 0.2, false],
      [`${t}.ffn.dropout1`, 0.05, false],
      [`${t}.ffn.dropout2`, 0.05, false],
      ['segmentation_head.aspp.project.3', 0.1, false],
      ['segmentation_head.dropout', 0.1, true],
    ]);
    // The fixture's config: attention and FFN dropout 0, the head's only.
    expect(buildMobileVitV2DeepLab(mobileVitV2ConfigFromHub(hubConfig()), { height: 64, width: 64 }, { dropout: true }).nodes.filter((n) => n.op.type === 'dropout')).to.have.length(2);
  });

  it("the record's reference configuration: apple/mobilevitv2-1.0-voc-deeplabv3's sizes, 13.3 M parameters", () => {
    const cfg = defaultConfig('mobilevitv2');
    expect(cfg).to.deep.include({ outputStride: 8, asppRates: [12, 24, 36], asppChannels: 512, normalization: 'unit' });
    expect(describeModel(cfg, 64, 64).totals.trainableParams / 1e6).to.be.closeTo(13.3, 0.05);
  });

  describe('whole network @slow', function () {
    this.timeout(900_000);
    const cfg = (): MobileVitV2Config => mobileVitV2ConfigFromHub(hubConfig());
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'mobilevitv2-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("96x128 crop of 2007_000033: the GPU and the CPU interpreter (float32 and float64) within 1e-4 of transformers' logits; its labels", async () => {
      const params = fixtureParams();
      const image = nhwcOf('pixel_values_96x128.npy');
      const ref = nhwcOf('seed1_96x128_logits.npy');
      const graph = buildMobileVitV2DeepLab(cfg(), { height: 96, width: 128 }, { extraOutputs: true });
      const compiled = compile(graph, { mode: 'inference' });
      const cpu = runGraphCpu(compiled, params, { image: image.data }).get('logits_raw')!;
      expect(cpu.length).to.equal(ref.data.length);
      expectClose(cpu, ref.data, 'CPU interpreter logits (float32)');
      const params64 = new Map([...params].map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data) }]));
      const cpu64 = runGraphCpu(graph, params64, { image: Float64Array.from(image.data) }).get('logits_raw')!;
      console.log(`      (float64 interpreter vs transformers' float64, stored as float32: ${relativeError(cpu64, ref.data).toExponential(1)})`);
      expect(relativeError(cpu64, ref.data), 'CPU interpreter logits (float64)').to.be.lessThan(1e-6);
      const program = await Program.create(await testContext(), compiled, params);
      try {
        const out = await program.run({ image: image.data });
        console.log(`      (relative error of the logits: CPU float32 ${relativeError(cpu, ref.data).toExponential(1)}, GPU ${relativeError(out.get('logits_raw')!, ref.data).toExponential(1)})`);
        expectClose(out.get('logits_raw')!, ref.data, 'GPU logits');
        // post_process_semantic_segmentation at the crop's size: the resized logits' arg max.
        const labels = argmaxCpu(out.get('logits')! as Float32Array, [1, 96, 128, cfg().numLabels]);
        const { same, of } = agreement(labels, readNpy(join(DIR, 'seed1_96x128_labels.npy')).data);
        console.log(`      (${of - same} of ${of} labels differ from transformers')`);
        expect(same / of).to.be.at.least(0.999);
      } finally {
        program.dispose();
      }
    });

    it("loadModel(folder).segment() labels 2007_000033 as transformers' pipeline does (100 %): shortest edge 512, centre crop, BGR, the head's logits resized once", async () => {
      const w = await loadWeights(DIR);
      expect(w.config).to.deep.include({ backbone: 'mobilevitv2', numClasses: 21, outputStride: 8, asppRates: [12, 24, 36], asppChannels: 256, normalization: 'unit' });
      expect(sizesOf(w)).to.deep.include({ widthMultiplier: 0.5, ffnMultiplier: 2 });
      expect(w.inputPolicy).to.deep.equal({ kind: 'shortest-edge', size: 512, crop: { height: 512, width: 512 }, filter: 'bicubic' });
      const ref = readNpy(join(DIR, 'seed1_pipeline_2007_000033_labels.npy'));
      const [outH, outW] = ref.shape;
      // The network on the processor's own pixel values (BGR: the fixture's parameters, unflipped),
      // then post_process_semantic_segmentation: the logits resized to the image, the arg max.
      const image = nhwcOf('pipeline_2007_000033_pixel_values.npy');
      const [, height, width] = image.shape;
      const program = await Program.create(await testContext(), compile(buildMobileVitV2DeepLab(cfg(), { height, width }, { extraOutputs: true }), { mode: 'inference' }), fixtureParams());
      try {
        const raw = (await program.run({ image: image.data })).get('logits_raw')! as Float32Array;
        const rawShape = [1, height / 8, width / 8, 21];
        const labels = argmaxCpu(resizeBilinearCpu(raw, rawShape, { outH, outW, mode: 'half_pixel' }), [1, outH, outW, 21]);
        const { same, of } = agreement(labels, ref.data);
        console.log(`      (the network on transformers' pixel values: ${of - same} of ${of} labels differ)`);
        expect(same / of).to.be.at.least(0.9999);
      } finally {
        program.dispose();
      }
      // Our processor too (its input is transformers' bit for bit: test/model/hub-folder.test.ts), and
      // the head's own logits resized once, to the photo, as transformers' post-processing does.
      const model = await loadModel(DIR, { ctx: await testContext() });
      try {
        const result = await model.segment(await readImage(VOC_IMAGE));
        expect([result.height, result.width]).to.deep.equal(ref.shape);
        const { same, of } = agreement(result.classes, ref.data);
        console.log(`      (the whole pipeline: ${of - same} of ${of} labels differ, ${((100 * same) / of).toFixed(3)} % equal)`);
        expect(of - same, 'labels that differ from transformers\'').to.equal(0);
      } finally {
        model.dispose();
      }
    });

    it("deeplab export --format onnx: onnxruntime gives transformers' logits within 1e-4 (resized to the input)", async () => {
      const out = join(dir, 'mobilevitv2.onnx');
      const r = await runCli(['export', '--model', DIR, '--format', 'onnx', '--out', out, '--size', '128x96']);
      expect(r.code, r.stderr).to.equal(0);
      const bytes = readFileSync(out);
      const ops = new Set(decodeModel(bytes).graph.node.map((n) => n.op_type));
      for (const op of ['InstanceNormalization', 'MatMul', 'Softmax', 'Sigmoid', 'Transpose', 'Reshape']) expect(ops.has(op), op).to.equal(true);
      // The exported network takes RGB (the processor's BGR flip folded into the stem).
      const bgr = readNpy(join(DIR, 'pixel_values_96x128.npy'));
      const plane = 96 * 128;
      const rgb = new Float32Array(bgr.data.length);
      for (let c = 0; c < 3; c++) rgb.set(bgr.data.subarray((2 - c) * plane, (3 - c) * plane), c * plane);
      const logits = (await runOnnx(bytes, { image: { dims: bgr.shape, data: rgb } })).get('logits')!;
      // transformers' logits at stride 8, resized to the input as our network's output is.
      const ref = nhwcOf('seed1_96x128_logits.npy');
      const resized = resizeBilinearCpu(ref.data, ref.shape, { outH: 96, outW: 128, mode: 'half_pixel' });
      const nchw = permuteCpu(resized, [1, 96, 128, 21], { view: [1, 96, 128, 21], perm: [0, 3, 1, 2], shape: [1, 21, 96, 128] });
      expect(logits.dims).to.deep.equal([1, 21, 96, 128]);
      // Standard ONNX, as test/model/onnx-export.test.ts holds every export to: opset 17, one NCHW input 'image' and output 'logits'.
      const model = decodeModel(bytes);
      expect(model.opset_import.map((o) => o.version)).to.deep.equal([17]);
      expect(model.ir_version).to.equal(8);
      const dims = (v: (typeof model.graph.input)[number]) => v.type.tensor_type.shape.dim.map((d) => d.dim_value);
      expect(model.graph.input.map((v) => [v.name, dims(v)])).to.deep.equal([['image', [1, 3, 96, 128]]]);
      expect(model.graph.output.map((v) => [v.name, dims(v)])).to.deep.equal([['logits', [1, 21, 96, 128]]]);
      console.log(`      (onnxruntime vs transformers: relative error ${relativeError(logits.data, nchw).toExponential(1)})`);
      expectClose(logits.data, nchw, 'onnxruntime logits');
    });

    it("fine-tuned from the folder (the loss falls), written back by deeplab export --format hf: transformers' config, our loader's same logits", async () => {
      const ctx = await testContext();
      const model = await loadModel(DIR, { ctx });
      const img = await readImage(VOC_IMAGE);
      // The top-left 64x64 of the image, its top half one class and its bottom half another.
      const crop = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) };
      for (let y = 0; y < 64; y++) crop.data.set(img.data.subarray(y * img.width * 3, (y * img.width + 64) * 3), y * 64 * 3);
      const labels = Uint8Array.from({ length: 64 * 64 }, (_, p) => (p % 64 < 4 ? UNLABELLED : p < 32 * 64 ? 0 : 15));
      const losses: number[] = [];
      const tuned = await fineTune(model, [{ image: crop, labels }], { recipe: 'plain', steps: 6, crop: 64, lr: 0.01, scale: [1, 1], flip: false, seed: 1, onStep: (s) => void losses.push(s.loss) });
      try {
        console.log(`      (loss ${losses.map((l) => l.toFixed(3)).join(' ')})`);
        expect(losses[losses.length - 1], 'the loss falls').to.be.lessThan(losses[0]);
        const checkpoint = join(dir, 'tuned.safetensors');
        saveCheckpoint(checkpoint, { ...tuned.loadedWeights, params: await tuned.parameters() });
        const hub = join(dir, 'hub');
        const r = await runCli(['export', '--model', checkpoint, '--format', 'hf', '--out', hub]);
        expect(r.code, r.stderr).to.equal(0);
        // config.json: transformers' keys and values for MobileViTV2 (what transformers adds of its own aside).
        const written = JSON.parse(readFileSync(join(hub, 'config.json'), 'utf8')) as Record<string, unknown>;
        const { dtype: _d, transformers_version: _v, image_size: _s, initializer_range: _i, ...original } = hubConfig();
        expect(written).to.deep.equal(original);
        const text = readFileSync(join(hub, 'config.json'), 'utf8');
        expect(text).to.contain('"width_multiplier": 0.5,').and.contain('"expand_ratio": 2.0,').and.contain('"attn_dropout": 0.0,').and.contain('"ffn_multiplier": 2,');
        // transformers' tensors: the fixture's names and shapes, the qkv projections joined.
        const stored = readSafetensors(join(hub, 'model.safetensors')).tensors;
        const fixture = readSafetensors(join(DIR, 'model.safetensors')).tensors;
        for (const [name, t] of fixture) if (!name.endsWith('.num_batches_tracked')) expect(stored.get(name)?.shape, name).to.deep.equal(t.shape);
        expect(stored.size).to.equal([...fixture.keys()].filter((k) => !k.endsWith('.num_batches_tracked')).length);
        const back = await loadModel(hub, { ctx });
        try {
          expect(back.config.backbone).to.equal('mobilevitv2');
          const input = Float32Array.from({ length: 64 * 96 * 3 }, (_, i) => ((i * 7919) % 255) / 255);
          const want = await tuned.forwardToHost(input, 64, 96);
          expect(relativeError(await back.forwardToHost(input, 64, 96), want), 'reloaded logits').to.be.lessThan(1e-6);
        } finally {
          back.dispose();
        }
      } finally {
        tuned.dispose();
        model.dispose();
      }
    });

    it('the folder from bytes, as the page loads a dropped or fetched folder', async () => {
      const names = ['config.json', 'preprocessor_config.json', 'model.safetensors'];
      const { read } = WEIGHT_FORMATS['hf-hub'];
      if (read.kind !== 'folder') throw new Error('hf-hub is a folder format');
      const files = await hubFileSet(new Map(names.map((n) => [n, readFileSync(join(DIR, n))])));
      const w = read.load(files, { name: 'hub', source: files.what, opts: {}, hints: {} });
      const onDisk = await loadWeights(DIR);
      expect(w.config).to.deep.equal(onDisk.config);
      expect(sizesOf(w)).to.deep.equal(sizesOf(onDisk));
      for (const [name, t] of onDisk.params) expect(relativeError(w.params.get(name)!.data, t.data), name).to.equal(0);
    });

    it('half precision: the f16 program differs from f32 by f16 rounding only', async function () {
      if (!(await testContext()).hasHalf) this.skip();
      await expectHalfProgramClose(buildMobileVitV2DeepLab(cfg(), { height: 48, width: 64 }, { extraOutputs: true }), fixtureParams(), ['group_norm', 'permute', 'matmul', 'softmax']);
    });

    // No transformers reference: the GPU against the CPU interpreter on widths and sizes the
    // fixture does not hold (random weights). 97x129 leaves maps of odd sides, cropped to whole
    // patches and padded back as transformers' unfold and fold do.
    const variants: [string, Record<string, unknown>, number, number][] = [
      ['width 0.75, ASPP 384, at 97x129 (odd maps)', { width_multiplier: 0.75, aspp_out_channels: 384 }, 97, 129],
      ['width 1.0, ASPP 512, at 64x96', { width_multiplier: 1.0, aspp_out_channels: 512 }, 64, 96],
      ['width 0.75 at output stride 16, 81x65', { width_multiplier: 0.75, output_stride: 16, atrous_rates: [6, 12, 18] }, 81, 65],
    ];
    for (const [what, overrides, height, width] of variants) {
      it(`${what}: GPU equals the CPU interpreter`, async () => {
        const graph = buildMobileVitV2DeepLab(mobileVitV2ConfigFromHub({ ...hubConfig(), ...overrides }), { height, width }, { extraOutputs: true });
        await expectRawLogitsAsCpu(graph, randomMobileVitV2Params(graph), what);
      });
    }
  });
});
