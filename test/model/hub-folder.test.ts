// Hugging Face hub folders of `transformers` DeepLabV3 (../shared/fixtures/hf, random weights
// written by transformers, float64 references): loaded by path as any model is, every
// architectural value from config.json, the classes from id2label, the input from
// preprocessor_config.json; the logits against transformers', and the whole pipeline's labels
// (processor, model, post_process_semantic_segmentation) against the fixture's.
import { expect } from 'chai';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { compile } from '../../src/graph/compile.js';
import type { Graph } from '../../src/graph/ir.js';
import { Program } from '../../src/graph/program.js';
import { readImage } from '../../src/io/image.js';
import { permuteCpu } from '../../src/kernels/layout/permute.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { networkInputSize, normalizeInput, resizeForNetwork } from '../../src/model/input-policy.js';
import { hubProcessor } from '../../src/model/loading/hub-processor.js';
import { backboneRecord, backboneRecords } from '../../src/model/backbones/registry.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from '../../src/model/loading/load-weights.js';
import { loadedNetwork } from '../../src/model/loading/loaded-weights.js';
import { loadModel } from '../../src/model/model.js';
import { buildMobileVitDeepLab } from '../../src/model/networks/mobilevit.js';
import type { MobileVitArchitecture } from '../../src/model/networks/mobilevit-config.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readSafetensors, writeSafetensors } from '../../src/model/weights/import/safetensors.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { hwioToOihw } from '../../src/model/weights/layouts.js';
import { adaptWeights } from '../../src/train/adapt.js';
import { hubFolderContents, writeHubFolder } from '../../src/model/weights/transformers-export.js';
import { runCli } from '../cli/run-cli.js';
import { expectClose, expectRejects, expectThrows, testContext } from '../helpers.js';
import { randomParams } from './random-params.js';
import { sharedPath } from '../shared.js';

const MOBILEVIT = sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small');
const MOBILENET_V2 = sharedPath('fixtures', 'hf', 'deeplabv3_mobilenet_v2_1.0_513');
const MOBILEVITV2 = sharedPath('fixtures', 'hf', 'mobilevitv2-0.5-deeplabv3');
const VOC_IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
/** The MobileViT sizes weights carry, as the backbone's record keeps them. */
const sizesOf = (w: LoadedWeights): MobileVitArchitecture => backboneRecord('mobilevit').architecture.toJson(w.architecture) as MobileVitArchitecture;
const json = (dir: string, file: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;

/** A copy of a hub folder with some of its JSON files changed, in a temporary folder. */
function changedFolder(dir: string, changes: Record<string, Record<string, unknown>>): string {
  const copy = mkdtempSync(join(tmpdir(), 'hub-'));
  cpSync(dir, copy, { recursive: true, filter: (src) => !src.endsWith('.npy') && !src.endsWith('.npz') });
  for (const [file, patch] of Object.entries(changes)) writeFileSync(join(copy, file), JSON.stringify({ ...json(dir, file), ...patch }));
  return copy;
}

/** A MobileNetV2's logits at 97x129 against the folder's float64 reference, resized to the input as post-processing does. */
async function expectMobilenetV2Logits(w: LoadedWeights, what: string): Promise<void> {
  const [H, W] = [97, 129];
  const pixels = readNpy(join(MOBILENET_V2, 'pixel_values_97x129.npy'));
  const image = permuteCpu(pixels.data, pixels.shape, { view: pixels.shape, perm: [0, 2, 3, 1], shape: [1, H, W, 3] });
  const ref = readNpy(join(MOBILENET_V2, 'seed1_97x129_logits.npy'));
  const [, k, h, wd] = ref.shape;
  expect([h, wd], 'the reference at output stride 8').to.deep.equal([13, 17]);
  // Our network ends in the resize to the input that post_process_semantic_segmentation does.
  const refNhwc = permuteCpu(ref.data, ref.shape, { view: ref.shape, perm: [0, 2, 3, 1], shape: [1, h, wd, k] });
  const want = resizeBilinearCpu(refNhwc, [1, h, wd, k], { outH: H, outW: W, mode: 'half_pixel' });
  const program = await Program.create(await testContext(), compile(w.buildGraph({ height: H, width: W }), { mode: 'inference' }), w.params);
  try {
    expectClose((await program.run({ image })).get('logits')!, want, what);
  } finally {
    program.dispose();
  }
}

describe('model: Hugging Face hub folders', function () {
  this.timeout(300_000);
  const made: string[] = [];
  const folder = (dir: string, changes: Record<string, Record<string, unknown>>): string => {
    const copy = changedFolder(dir, changes);
    made.push(copy);
    return copy;
  };
  after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("reads the processor: shortest edge, centre crop, filter, rescale, normalisation, channel flip", () => {
    expect(hubProcessor(json(MOBILEVIT, 'preprocessor_config.json'))).to.deep.equal({
      policy: { kind: 'shortest-edge', size: 512, crop: { height: 512, width: 512 }, filter: 'bicubic' },
      normalization: 'unit',
      flipChannels: true,
      reduceLabels: false,
    });
    expect(hubProcessor(json(MOBILENET_V2, 'preprocessor_config.json'))).to.deep.equal({
      policy: { kind: 'shortest-edge', size: 513, crop: { height: 513, width: 513 }, filter: 'bilinear' },
      normalization: 'minus_one_one',
      flipChannels: false,
      reduceLabels: false,
    });
    // An old feature extractor's plain numbers, and the class's defaults for what it leaves out.
    expect(hubProcessor({ feature_extractor_type: 'MobileViTFeatureExtractor', size: 544, crop_size: 512, resample: 2 })).to.deep.equal({
      policy: { kind: 'shortest-edge', size: 544, crop: { height: 512, width: 512 }, filter: 'bilinear' },
      normalization: 'unit',
      flipChannels: true,
      reduceLabels: false,
    });
  });

  it("takes the processor AutoImageProcessor does where the file names none: config.json's image_processor_type, else its model_type's (issue 81)", () => {
    const { image_processor_type: _, ...untyped } = json(MOBILEVIT, 'preprocessor_config.json');
    const config = (changes: Record<string, unknown>) => ({ json: { ...json(MOBILEVIT, 'config.json'), ...changes }, what: 'config.json' });
    // MobileViT's processor, which does not normalise (its file gives the 0.5s but not do_normalize), for both MobileViTs.
    const mobilevit = hubProcessor(json(MOBILEVIT, 'preprocessor_config.json'));
    for (const modelType of ['mobilevit', 'mobilevitv2']) expect(hubProcessor(untyped, 'p.json', config({ model_type: modelType })), modelType).to.deep.equal(mobilevit);
    const bare = { size: { height: 64, width: 64 } };
    expect(hubProcessor(bare, 'p.json', config({ model_type: 'segformer' })).normalization, "SegFormer's ImageNet statistics").to.equal('imagenet');
    expect(hubProcessor(bare, 'p.json', config({ model_type: 'upernet' })).normalization, "UperNet's processor is SegFormer's").to.equal('imagenet');
    expect(hubProcessor(bare, 'p.json', config({ model_type: 'beit', image_processor_type: 'SegformerImageProcessor' })).normalization, "config.json's own image_processor_type first").to.equal('imagenet');
    expect(hubProcessor({ ...bare, do_center_crop: false }, 'p.json', config({ model_type: 'mobilenet_v2' })).normalization).to.equal('minus_one_one');
    expectThrows(() => hubProcessor(bare, 'p.json', config({ model_type: 'vit' })), 'config.json: model_type "vit" has no image processor we reproduce, and p.json names none in image_processor_type');
    expectThrows(() => hubProcessor(bare, 'p.json', config({ model_type: '__proto__' })), 'config.json: model_type "__proto__" has no image processor we reproduce');
    expectThrows(() => hubProcessor(bare, 'p.json', config({ model_type: undefined })), 'config.json: model_type missing has no image processor we reproduce');
    expectThrows(() => hubProcessor(bare, 'p.json'), 'p.json: names no image_processor_type, and no config.json gives the model_type');
    expectThrows(() => hubProcessor({ ...bare, image_processor_type: 'constructor' }, 'p.json'), 'p.json: image_processor_type is not a processor we reproduce');
  });

  it('refuses processor values it cannot reproduce, naming the key', () => {
    const base = json(MOBILEVIT, 'preprocessor_config.json');
    expectThrows(() => hubProcessor({ ...base, crop_pct: 0.875 }), "preprocessor_config.json: unknown key 'crop_pct'");
    expectThrows(() => hubProcessor({ ...base, do_pad: true }), 'preprocessor_config.json: do_pad must be false (the padding to size_divisor is not reproduced), got true');
    expectThrows(() => hubProcessor({ ...base, image_processor_type: 'ViTImageProcessor' }), 'image_processor_type is not a processor we reproduce');
    expectThrows(() => hubProcessor({ ...base, resample: 1 }), 'preprocessor_config.json: resample must be 2 (bilinear) or 3 (bicubic), got 1');
    for (const resample of ['__proto__', 'constructor', '2']) expectThrows(() => hubProcessor({ ...base, resample }), `preprocessor_config.json: resample must be 2 (bilinear) or 3 (bicubic), got "${resample}"`);
    expectThrows(() => hubProcessor({ ...base, rescale_factor: 0.5 }), 'rescale_factor must be 1/255, got 0.5');
    expectThrows(() => hubProcessor({ ...base, size: { shortest_edge: 512, longest_edge: 600 } }), 'size must be {"shortest_edge": n} or {"height": h, "width": w}');
    expectThrows(() => hubProcessor({ ...base, crop_size: { height: 600, width: 600 } }), 'crop_size must fit the resized image (shortest edge 512');
    expectThrows(() => hubProcessor({ ...base, do_normalize: true, image_mean: [0.1, 0.2, 0.3] }), 'image_mean and image_std');
    expectThrows(() => hubProcessor({ ...base, do_resize: false }), 'do_resize must be true');
  });

  it("prepares the VOC image as the hub processor does, bit for bit: torch's fixed point for the resize (PIL's puts 0.4 % of values a level off), float32 for the rescale and normalisation", async () => {
    const img = await readImage(VOC_IMAGE);
    for (const [dir, flip] of [[MOBILEVIT, true], [MOBILEVITV2, true], [MOBILENET_V2, false]] as const) {
      const { policy, normalization } = hubProcessor(json(dir, 'preprocessor_config.json'));
      const [h, w] = networkInputSize(policy, img.width, img.height);
      const ours = normalizeInput(policy, { normalization } as never, resizeForNetwork(policy, img, h, w));
      const ref = readNpy(join(dir, 'pipeline_2007_000033_pixel_values.npy'));
      expect(ref.shape).to.deep.equal([1, 3, h, w]);
      let off = 0;
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < h * w; i++) if (!Object.is(ours[i * 3 + (flip ? 2 - c : c)], ref.data[c * h * w + i])) off++;
      }
      expect(off, `${dir}: pixel values whose bits differ from the processor's`).to.equal(0);
    }
  });

  it('loads a MobileViT folder by path: architecture, classes and input from its files', async () => {
    const w = await loadWeights(MOBILEVIT);
    expect(w.config).to.deep.include({ backbone: 'mobilevit', numClasses: 21, outputStride: 16, asppRates: [6, 12, 18], asppChannels: 256, normalization: 'unit' });
    expect(sizesOf(w).hiddenSizes).to.deep.equal([64, 80, 96]);
    expect(w.classes.names[20]).to.equal('tvmonitor');
    expect(w.inputPolicy).to.deep.equal({ kind: 'shortest-edge', size: 512, crop: { height: 512, width: 512 }, filter: 'bicubic' });
    // Another output stride rescales the rates; without the crop the whole image goes in.
    const os8 = await loadWeights(MOBILEVIT, { outputStride: 8, centerCrop: false });
    expect(os8.config.asppRates).to.deep.equal([12, 24, 36]);
    expect(networkInputSize(os8.inputPolicy, 500, 366)).to.deep.equal([512, 699]);
    // id2label names the classes, whatever they are.
    const labels = { id2label: { 0: 'sky', 1: 'road', 2: 'car' }, label2id: { sky: 0, road: 1, car: 2 } };
    const three = folder(MOBILEVIT, { 'config.json': labels });
    await expectRejects(loadWeights(three), /segmentation_head\.classifier\.convolution\.weight/);
  });

  it('refuses configs it does not load, naming the key', async () => {
    await expectRejects(loadWeights(folder(MOBILEVIT, { 'config.json': { architectures: ['MobileViTForImageClassification'] } })), /has no semantic segmentation model/);
    await expectRejects(loadWeights(folder(MOBILEVIT, { 'config.json': { num_channels: 1 } })), /config\.json: num_channels must be 3 \(RGB images\), got 1/);
    await expectRejects(loadWeights(folder(MOBILEVIT, { 'config.json': { id2label: { 0: 'a', 2: 'b' } } })), /id2label key '2' is not an index 0\.\.1/);
    await expectRejects(loadWeights(folder(MOBILEVIT, { 'config.json': { hidden_act: 'gelu' } })), /hidden_act must be 'silu'/);
    await expectRejects(loadWeights(folder(MOBILEVIT, { 'preprocessor_config.json': { image_std: [1, 1, 1], do_normalize: true } })), /preprocessor_config\.json: image_mean and image_std/);
    const modelTypes = backboneRecords().flatMap((r) => (r.weights.transformers ? [`'${r.weights.transformers.modelType}'`] : []));
    expect(modelTypes.slice(0, 2)).to.deep.equal(["'mobilenet_v2'", "'mobilevit'"]);
    await expectRejects(loadWeights(folder(MOBILEVIT, { 'config.json': { model_type: 'segformer' } })), `config.json: model_type "segformer" is not a DeepLabV3 we load (expected ${modelTypes.join(' or ')})`);
    await expectRejects(loadWeights(folder(MOBILENET_V2, { 'config.json': { tf_padding: false } })), /config\.json: tf_padding must be true \(TF 'SAME' padding/);
    await expectRejects(loadWeights(folder(MOBILENET_V2, { 'config.json': { first_layer_is_expansion: false } })), /first_layer_is_expansion must be true/);
    await expectRejects(loadWeights(folder(MOBILENET_V2, { 'config.json': { hidden_act: 'relu' } })), /hidden_act must be 'relu6'/);
    await expectRejects(loadWeights(folder(MOBILENET_V2, { 'config.json': { output_stride: 4 } })), /output_stride must be 8, 16 or 32, got 4/);
  });

  it("our checkpoint of a hub MobileViT keeps its sizes, input policy and classes", async () => {
    const w = await loadWeights(MOBILEVIT);
    const dir = mkdtempSync(join(tmpdir(), 'hub-ckpt-'));
    made.push(dir);
    const path = join(dir, 'mobilevit.safetensors');
    saveCheckpoint(path, w);
    const back = await loadWeights(path);
    expect(sizesOf(back)).to.deep.equal(sizesOf(w));
    expect(back.inputPolicy).to.deep.equal(w.inputPolicy);
    expect(back.config).to.deep.equal(w.config);
    expect(back.classes.names).to.deep.equal(w.classes.names);
    expect([...back.params.keys()].sort()).to.deep.equal([...w.params.keys()].sort());
    const stem = 'mobilevit.conv_stem.convolution.weight';
    expect([...back.params.get(stem)!.data]).to.deep.equal([...w.params.get(stem)!.data]);
    expect((await loadWeights(path, { centerCrop: false })).inputPolicy).to.deep.include({ crop: null });
  });

  it("fine-tuning keeps the hub config's sizes: the adapted network is the one the config describes", async () => {
    const w = await loadWeights(MOBILEVIT);
    const kept = adaptWeights(w, { classes: { names: ['a', 'b', 'c'], colors: [[0, 0, 0], [1, 1, 1], [2, 2, 2]] }, seed: 1 });
    expect(kept.reinitialised).to.deep.equal(['segmentation_head.classifier.convolution.weight', 'segmentation_head.classifier.convolution.bias']);
    // Sizes other than xx-small's (the record's default) build as the weights say.
    const xSmall = { ...w, architecture: backboneRecord('mobilevit').architecture.fromJson({ ...sizesOf(w), neckHiddenSizes: [16, 32, 48, 64, 80, 96, 384], hiddenSizes: [96, 120, 144] }, 'x-small') };
    const graph = adaptWeights(xSmall, { seed: 1, classes: kept.weights.classes }).weights.buildGraph({ height: 65, width: 65 });
    expect(graph.state.find((v) => v.name === 'mobilevit.encoder.layer.4.conv_1x1.convolution.weight')?.shape).to.deep.equal([1, 1, 96, 144]);
  });

  it('a MobileViT (fine-tuned to new classes) written back as a hub folder reloads to the same weights, classes and input', async () => {
    const w = await loadWeights(MOBILEVIT);
    const tuned = adaptWeights(w, { classes: { names: ['sky', 'road', 'car'], colors: [[0, 0, 0], [1, 1, 1], [2, 2, 2]] }, seed: 3 }).weights;
    const dir = join(mkdtempSync(join(tmpdir(), 'hub-export-')), 'out');
    made.push(dir);
    writeHubFolder(dir, tuned);
    const config = json(dir, 'config.json');
    expect(config.id2label).to.deep.equal({ 0: 'sky', 1: 'road', 2: 'car' });
    expect(config).to.deep.include({ model_type: 'mobilevit', output_stride: 16, hidden_sizes: [64, 80, 96] });
    // Float fields as Python writes them: transformers 5 refuses "mlp_ratio": 2 (an int).
    const text = readFileSync(join(dir, 'config.json'), 'utf8');
    expect(text).to.contain('"expand_ratio": 2.0,').and.contain('"mlp_ratio": 2.0,').and.contain('"layer_norm_eps": 0.00001,');
    // transformers' layouts: linear weights [out, in], convolutions OIHW, the stem in BGR as the original.
    const stored = readSafetensors(join(dir, 'model.safetensors')).tensors;
    const original = readSafetensors(join(MOBILEVIT, 'model.safetensors')).tensors;
    for (const name of ['mobilevit.conv_stem.convolution.weight', 'mobilevit.encoder.layer.2.transformer.layer.0.attention.attention.query.weight']) {
      expect(stored.get(name)!.shape, name).to.deep.equal(original.get(name)!.shape);
      expect([...stored.get(name)!.data], name).to.deep.equal([...original.get(name)!.data]);
    }
    const back = await loadWeights(dir);
    expect(back.classes.names).to.deep.equal(['sky', 'road', 'car']);
    expect(back.inputPolicy).to.deep.equal(tuned.inputPolicy);
    expect(sizesOf(back)).to.deep.equal(sizesOf(tuned));
    for (const [name, t] of tuned.params) expect([...back.params.get(name)!.data], name).to.deep.equal([...t.data]);
    const writers = backboneRecords().filter((r) => r.weights.transformers && !('why' in r.weights.transformers.export));
    expect(writers.map((r) => r.title)).to.include.members(['MobileViT', 'MobileViTV2', "TF's MobileNetV2 DeepLab"]);
    expectThrows(() => hubFolderContents({ ...tuned, config: { ...tuned.config, backbone: 'resnet50' } }), `ResNet-50 does not export to a hub folder: transformers has no ResNet-50 DeepLabV3 we write (those that do: ${writers.map((r) => r.title).join(', ')})`);
    // The processor written must read back as the model's own input.
    expectThrows(() => hubFolderContents({ ...tuned, config: { ...tuned.config, normalization: 'imagenet' } }), /its hub processor gives 'unit_f32' input, not the model's 'imagenet_f32'/);
  });

  it('loads a MobileNetV2 folder onto our TF MobileNetV2 network, its batch norms kept; inference folds them as TF\'s files are', async () => {
    const w = await loadWeights(MOBILENET_V2);
    expect(w.config).to.deep.include({ backbone: 'mobilenet_v2', numClasses: 21, outputStride: 8, asppRates: [], resizeMode: 'half_pixel', normalization: 'minus_one_one' });
    const { architecture } = backboneRecord('mobilenet_v2');
    // The backbone's eps from layer_norm_eps, the head's and the momentum transformers builds them with.
    expect(architecture.toJson(w.architecture)).to.deep.equal({ depthMultiplier: 1, batchNorms: { eps: 0.001, headEps: 1e-5, momentum: 0.997 } });
    expect(w.inputPolicy).to.deep.equal({ kind: 'shortest-edge', size: 513, crop: { height: 513, width: 513 }, filter: 'bilinear' });
    expect(w.classes.names[15]).to.equal('person');
    const stored = readSafetensors(join(MOBILENET_V2, 'model.safetensors')).tensors;
    const mean = stored.get('mobilenet_v2.layer.3.conv_3x3.normalization.running_mean')!;
    expect([...w.params.get('MobilenetV2/expanded_conv_4/depthwise/BatchNorm/moving_mean')!.data], 'statistics as the file holds them').to.deep.equal([...mean.data]);

    const size = { height: 65, width: 97 };
    const graph = w.buildGraph(size);
    const norms = graph.nodes.filter((n) => n.op.type === 'batchnorm');
    expect(norms.map((n) => n.name)).to.include.members(['MobilenetV2/Conv/BatchNorm', 'image_pooling/BatchNorm', 'concat_projection/BatchNorm']);
    expect(norms.map((n) => n.op.type === 'batchnorm' && [n.op.attrs.eps, n.op.attrs.momentum])).to.deep.equal([...Array(51).fill([0.001, 0.997]), ...Array(3).fill([1e-5, 0.997])]);
    // Inference runs what TF's folded network runs: the same kernels, the batch norms in the derive graph.
    const compiled = compile(graph, { mode: 'inference' });
    expect(compiled.graph.nodes.filter((n) => n.op.type === 'batchnorm' || n.op.type === 'batchnorm_train'), 'batch norms left').to.have.length(0);
    expect(compiled.derive.nodes.filter((n) => n.op.type === 'fold_bn')).to.have.length(54);
    const folded = compile(loadedNetwork(w.config, architecture.fromJson(1, 'TF\'s width')).buildGraph(size), { mode: 'inference' });
    const kernels = (g: Graph) => g.nodes.map((n) => `${n.name} ${n.op.type} ${'attrs' in n.op ? JSON.stringify(n.op.attrs) : ''}`);
    expect(kernels(compiled.graph)).to.deep.equal(kernels(folded.graph));

    // A TF file's weights (the width alone) stay folded and do not export: transformers keeps the batch norms.
    expectThrows(() => hubFolderContents({ ...w, architecture: architecture.fromJson(1, 'TF\'s width') }), /TF's MobileNetV2 DeepLab does not export to a hub folder: TF DeepLab's files fold its batch norms into the convolutions, and transformers' MobileNetV2 keeps them/);
    expectThrows(() => hubFolderContents({ ...w, config: { ...w.config, decoder: 'deeplabv3plus' } }), /transformers' MobileNetV2 head is image pooling and a 1x1 branch alone/);
  });

  it('our checkpoint of a hub MobileNetV2 keeps its batch norms', async () => {
    const w = await loadWeights(MOBILENET_V2);
    const dir = mkdtempSync(join(tmpdir(), 'hub-ckpt-'));
    made.push(dir);
    const path = join(dir, 'mobilenet_v2.safetensors');
    saveCheckpoint(path, w);
    const { architecture } = backboneRecord('mobilenet_v2');
    const back = await loadWeights(path);
    expect(architecture.toJson(back.architecture)).to.deep.equal(architecture.toJson(w.architecture));
    expect([...back.params.keys()].sort()).to.deep.equal([...w.params.keys()].sort());
    expectThrows(() => architecture.fromJson({ depthMultiplier: 1, batchNorms: { eps: 0.001, headEps: 1e-5 } }, 'metadata'), /metadata: batchNorms \{"eps":0.001,"headEps":0.00001\} is not \{eps, headEps, momentum\}/);
    expectThrows(() => architecture.fromJson({ depthMultiplier: 0, batchNorms: {} }, 'metadata'), /metadata: the width multiplier 0 is not a positive number/);
  });

  it("a hub MobileNetV2 written back by `deeplab export --format hf` holds transformers' tensors and reloads to the same logits", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hub-export-')), 'out');
    made.push(dirname(dir));
    const r = await runCli(['export', '--model', MOBILENET_V2, '--format', 'hf', '--out', dir]);
    expect(r.code, r.stderr).to.equal(0);
    const config = json(dir, 'config.json');
    const original = json(MOBILENET_V2, 'config.json');
    const keys = ['model_type', 'architectures', 'depth_multiplier', 'output_stride', 'layer_norm_eps', 'tf_padding', 'hidden_act', 'first_layer_is_expansion', 'finegrained_output', 'expand_ratio', 'id2label', 'label2id'];
    for (const key of keys) expect(config[key], key).to.deep.equal(original[key]);
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).to.contain('"depth_multiplier": 1.0,').and.contain('"expand_ratio": 6.0,');
    expect(hubProcessor(json(dir, 'preprocessor_config.json'))).to.deep.equal(hubProcessor(json(MOBILENET_V2, 'preprocessor_config.json')));
    // Every tensor as transformers wrote it, but for the counters and the classification features (conv_1x1) segmentation never runs.
    const stored = readSafetensors(join(dir, 'model.safetensors')).tensors;
    const tensors = readSafetensors(join(MOBILENET_V2, 'model.safetensors')).tensors;
    const left = [...tensors.keys()].filter((k) => !stored.has(k));
    expect(left.filter((k) => !k.startsWith('mobilenet_v2.conv_1x1.') && !k.endsWith('.num_batches_tracked')), 'tensors not written').to.deep.equal([]);
    expect(stored.size).to.equal(tensors.size - left.length);
    for (const [name, t] of stored) {
      expect(t.shape, name).to.deep.equal(tensors.get(name)!.shape);
      expect([...t.data], name).to.deep.equal([...tensors.get(name)!.data]);
    }
    await expectMobilenetV2Logits(await loadWeights(dir), 'the exported folder\'s logits');
  });

  describe('against transformers @slow', () => {
    it('MobileViT xx-small, 96x128: logits within 1e-4 of the float64 reference (BGR flip folded into the stem)', async () => {
      const w = await loadWeights(MOBILEVIT);
      const c = w.config;
      const graph = buildMobileVitDeepLab({ ...sizesOf(w), numLabels: c.numClasses, outputStride: 16, atrousRates: c.asppRates, asppOutChannels: c.asppChannels }, { height: 96, width: 128 }, { extraOutputs: true });
      // The fixture's input is BGR; the loaded weights take RGB.
      const pixels = readNpy(join(MOBILEVIT, 'pixel_values_96x128.npy'));
      const rgb = permuteCpu(pixels.data, pixels.shape, { view: pixels.shape, perm: [0, 2, 3, 1], shape: [1, 96, 128, 3] });
      for (let i = 0; i < rgb.length; i += 3) [rgb[i], rgb[i + 2]] = [rgb[i + 2], rgb[i]];
      const ref = readNpy(join(MOBILEVIT, 'seed1_96x128_logits.npy'));
      const program = await Program.create(await testContext(), compile(graph, { mode: 'inference' }), w.params);
      try {
        const raw = (await program.run({ image: rgb })).get('logits_raw')!;
        const [, k, h, wd] = ref.shape;
        expectClose(raw, permuteCpu(ref.data, ref.shape, { view: ref.shape, perm: [0, 2, 3, 1], shape: [1, h, wd, k] }), 'MobileViT logits');
      } finally {
        program.dispose();
      }
    });

    it('MobileNetV2, 97x129: logits within 1e-4 of the float64 reference (resized as post-processing does)', async () => {
      await expectMobilenetV2Logits(await loadWeights(MOBILENET_V2), 'MobileNetV2 logits');
    });

    for (const [what, dir] of [['MobileViT xx-small', MOBILEVIT], ['MobileNetV2', MOBILENET_V2]] as const) {
      // Our logits are transformers' to 1e-6 and resized once, from the head's own output, as its post-processing does: every label equal.
      it(`${what}: loadModel(folder).segment() labels 2007_000033 as transformers' pipeline does (100 %)`, async () => {
        const model = await loadModel(dir, { ctx: await testContext() });
        try {
          const img = await readImage(VOC_IMAGE);
          const result = await model.segment(img);
          const ref = readNpy(join(dir, 'seed1_pipeline_2007_000033_labels.npy'));
          expect([result.height, result.width]).to.deep.equal(ref.shape);
          let same = 0;
          for (let i = 0; i < ref.data.length; i++) if (result.classes[i] === ref.data[i]) same++;
          console.log(`      ${what} pipeline labels: ${((100 * same) / ref.data.length).toFixed(3)} % equal transformers'`);
          expect(ref.data.length - same, 'labels that differ from transformers\'').to.equal(0);
        } finally {
          model.dispose();
        }
      });
    }

    it('a MobileViT x-small folder, built from its config alone, loads and segments (whole image, no crop)', async () => {
      // x-small's published sizes; random weights in transformers' names and PyTorch layouts.
      const arch = { neck_hidden_sizes: [16, 32, 48, 64, 80, 96, 384], hidden_sizes: [96, 120, 144] };
      const dir = folder(MOBILEVIT, { 'config.json': arch, 'preprocessor_config.json': { size: { shortest_edge: 64 }, crop_size: { height: 64, width: 64 } } });
      const base = await loadWeights(MOBILEVIT);
      const graph = buildMobileVitDeepLab({ ...sizesOf(base), neckHiddenSizes: arch.neck_hidden_sizes, hiddenSizes: arch.hidden_sizes, numLabels: 21, outputStride: 16, atrousRates: [6, 12, 18], asppOutChannels: 256 }, { height: 64, width: 64 });
      const tensors: TensorMap = new Map();
      for (const [name, t] of randomParams(graph)) {
        if (t.shape.length !== 4) tensors.set(name, { shape: t.shape, data: t.data as Float32Array, sourceDType: 'f32' });
        else if (/\.(query|key|value|dense)\.weight$/.test(name)) tensors.set(name, { shape: [t.shape[3], t.shape[2]], data: hwioToOihw(t.data as Float32Array, t.shape).data, sourceDType: 'f32' });
        else tensors.set(name, { ...hwioToOihw(t.data as Float32Array, t.shape), sourceDType: 'f32' });
      }
      writeSafetensors(join(dir, 'model.safetensors'), tensors);
      const model = await loadModel(dir, { ctx: await testContext(), centerCrop: false });
      try {
        const img = await readImage(VOC_IMAGE);
        expect(model.networkSize(img.width, img.height)).to.deep.equal([64, 87]);
        const result = await model.segment(img);
        expect([result.width, result.height]).to.deep.equal([500, 366]);
        expect(result.classes.every((c) => c < 21)).to.equal(true);
        expect(sizesOf(model.loadedWeights).hiddenSizes).to.deep.equal([96, 120, 144]);
      } finally {
        model.dispose();
      }
    });
  });
});
