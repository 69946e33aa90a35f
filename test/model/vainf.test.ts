// VainF/DeepLabV3Plus-Pytorch's checkpoints against references made by running VainF's own code
// (scripts/fixtures/vainf/, test/fixtures/vainf/): the state dicts it builds are rebuilt here from
// their keys and shapes with the team's PRNG; our graphs declare exactly those tensors; the
// logits at output strides 8 and 16, at two input sizes (one odd), match VainF's float64 ones;
// a .pth laid out as main.py's save_ckpt writes it is recognised by its contents and loaded, and
// segment() on it (predict.py's preprocessing: the image at its own size, ImageNet's mean and
// std) gives VainF's argmax; what cannot load is refused naming why.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/graph/compile.js';
import { checkParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { Session } from '../../src/graph/session.js';
import type { RgbImage } from '../../src/io/rgb-image.js';
import { datasetClassSet } from '../../src/model/datasets.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { checkpointContents } from '../../src/model/loading/checkpoint-contents.js';
import { checkpointModel } from '../../src/model/loading/checkpoint-schema.js';
import { REGISTRY, findModel } from '../../src/model/loading/registry.js';
import { setFlags } from '../../src/util/flags.js';
import { datasetFromName, outputStrideFromName, vainfAsppRates } from '../../src/model/loading/vainf-model.js';
import { detectWeightFormat, weightsFromBytes } from '../../src/model/loading/weights-from-bytes.js';
import { DeepLabModel } from '../../src/model/model.js';
import { describeModel } from '../../src/model/analysis/describe.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { vainfMobilenetV2Plan } from '../../src/model/networks/vainf-mobilenet-v2.js';
import { argmaxCpu } from '../../src/kernels/softmax/softmax.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readTorchCheckpoint } from '../../src/model/weights/import/pth.js';
import { NUMPY_SCALAR_GLOBALS } from '../../src/model/weights/import/numpy-scalars.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { isTorchvisionDeepLab } from '../../src/model/weights/torchvision.js';
import { torchvisionStateDict } from '../../src/model/weights/torchvision-export.js';
import { isMmsegDeepLab } from '../../src/model/weights/mmseg.js';
import { isVainfDeepLab, vainfNetwork, vainfParams } from '../../src/model/weights/vainf.js';
import { expectRejects, expectThrows, relativeError, testContext } from '../helpers.js';
import { type Saved, savedTensor, torchSaveLegacy, torchSaveZip } from '../import/torch-save.js';
import { nchwToNhwc } from './layout.js';
import { messages, runCli } from '../cli/run-cli.js';
import { encodeRgbPng } from '../../src/io/png-rgb.js';
import { NUM_BATCHES_TRACKED, prngValues } from './mmseg-prng.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'vainf');
const fixture = (file: string): string => join(FIXTURES, file);

/** ImageNet's mean and std (predict.py's T.Normalize). */
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** The fixtures' cases: what VainF's keys say of each. */
const CASES = [
  { name: 'v3plus_mobilenet', backbone: 'vainf_mobilenet_v2', decoder: 'deeplabv3plus', separable: false, model: 'deeplabv3plus_mobilenet' },
  { name: 'v3_mobilenet', backbone: 'vainf_mobilenet_v2', decoder: 'none', separable: false, model: 'deeplabv3_mobilenet' },
  { name: 'v3plus_resnet50', backbone: 'resnet50', decoder: 'deeplabv3plus', separable: false, model: 'deeplabv3plus_resnet50' },
  { name: 'v3_resnet50', backbone: 'resnet50', decoder: 'none', separable: false, model: 'deeplabv3_resnet50' },
  { name: 'v3plus_resnet50_sep', backbone: 'resnet50', decoder: 'deeplabv3plus', separable: true, model: 'deeplabv3plus_resnet50' },
] as const;

const SIZES: [number, number][] = [
  [33, 45],
  [24, 32],
];

/** A manifest's state dict, its values from the PRNG (seed 1), num_batches_tracked 40000 as int64. */
function stateOf(name: string): { state: TensorMap; keys: [string, number[]][] } {
  const json = JSON.parse(readFileSync(fixture(`manifest_${name}.json`), 'utf8')) as { tensors: [string, number[], string][]; seed: number };
  const state: TensorMap = new Map();
  for (const [key, shape] of json.tensors) {
    if (key.endsWith('num_batches_tracked')) state.set(key, { shape, data: Float32Array.of(NUM_BATCHES_TRACKED), sourceDType: 'i64' });
    else state.set(key, { shape, data: prngValues(key, shape, json.seed), sourceDType: 'f32' });
  }
  return { state, keys: json.tensors.map(([k, s]) => [k, s]) };
}

/** The fixture image of a size, as RGB bytes. */
function imageOf(h: number, w: number): RgbImage {
  const t = readNpy(fixture(`image_${h}x${w}_uint8.npy`));
  expect(t.shape).to.deep.equal([h, w, 3]);
  return { width: w, height: h, data: Uint8Array.from(t.data) };
}

/** predict.py's ToTensor and Normalize, in float64, NHWC. */
function normalized(img: RgbImage): Float32Array {
  return Float32Array.from(img.data, (v, i) => (v / 255 - MEAN[i % 3]) / STD[i % 3]);
}

/** A state dict as torch.save writes it: int64 step counters, float32 tensors. */
function savedDict(state: TensorMap): Map<string, Saved> {
  const dict = new Map<string, Saved>();
  for (const [k, t] of state) dict.set(k, k.endsWith('num_batches_tracked') ? savedTensor([], BigInt64Array.of(40000n)) : savedTensor([...t.shape], t.data));
  return dict;
}

/** main.py's save_ckpt: the model's state beside the optimizer's, the scheduler's, the step and the best score. */
function vainfCheckpoint(state: TensorMap): Map<string, Saved> {
  const optimizer = new Map<string, Saved>([
    ['state', new Map()],
    ['param_groups', [new Map<string, Saved>([['lr', 0.01], ['momentum', 0.9], ['weight_decay', 0.0001], ['params', [0, 1, 2]]])]],
  ]);
  const scheduler = new Map<string, Saved>([['power', 0.9], ['max_iters', 30000], ['min_lr', 1e-6], ['last_epoch', 29999], ['base_lrs', [0.001, 0.01]]]);
  return new Map<string, Saved>([
    ['cur_itrs', 30000],
    ['model_state', savedDict(state)],
    ['optimizer_state', optimizer],
    ['scheduler_state', scheduler],
    ['best_score', 0.7112],
  ]);
}

describe("VainF's DeepLabV3Plus-Pytorch: keys, networks and files", () => {
  for (const c of CASES) {
    it(`${c.name}: the keys tell ${c.model}${c.separable ? ' (separable)' : ''} with 5 classes, and our graph declares exactly VainF's tensors`, () => {
      const { state, keys } = stateOf(c.name);
      expect(isVainfDeepLab(state)).to.equal(true);
      expect(isTorchvisionDeepLab(state), "not torchvision's").to.equal(false);
      expect(isMmsegDeepLab(state), "not mmseg's").to.equal(false);
      const net = vainfNetwork(state, c.name);
      expect(net).to.deep.equal({ backbone: c.backbone, decoder: c.decoder, numClasses: 5, separable: c.separable, model: c.model });
      for (const outputStride of [8, 16]) {
        const config = defaultConfig(net.backbone, { head: 'vainf', decoder: net.decoder, numClasses: 5, outputStride, asppRates: vainfAsppRates(outputStride), asppSeparable: net.separable });
        const graph = buildDeepLab(config, { height: 33, width: 45 });
        checkParams(graph, vainfParams(state, c.name), c.name);
        const declared = graph.state.map((v) => v.name).sort();
        expect(declared, `OS ${outputStride}`).to.deep.equal(keys.map(([k]) => k).filter((k) => !k.endsWith('num_batches_tracked')).sort());
      }
    });
  }

  it("VainF's MobileNetV2 strides and dilations: the stage past the output stride keeps the previous rate in its first unit", () => {
    const plan = (os: number) => vainfMobilenetV2Plan(os).map((u) => `${u.stride}/${u.dilation}`).join(' ');
    // Units 1..17: t=1 c=16; 24 x2; 32 x3; 64 x4; 96 x3; 160 x3; 320.
    expect(plan(16)).to.equal('1/1 2/1 1/1 2/1 1/1 1/1 2/1 1/1 1/1 1/1 1/1 1/1 1/1 1/1 1/2 1/2 1/2');
    expect(plan(8)).to.equal('1/1 2/1 1/1 2/1 1/1 1/1 1/1 1/2 1/2 1/2 1/2 1/2 1/2 1/2 1/4 1/4 1/4');
    expectThrows(() => vainfMobilenetV2Plan(4), "VainF's MobileNetV2: output stride must be 8, 16 or 32, got 4");
  });

  it("MACs at 513x513, OS 16, 21 classes within 3 % of the FLOPs VainF's README publishes (its counter's MACs, with BN and ReLU)", () => {
    const published: [string, 'none' | 'deeplabv3plus', number][] = [
      ['vainf_mobilenet_v2', 'none', 6.0],
      ['resnet50', 'none', 51.4],
      ['resnet101', 'none', 72.1],
      ['vainf_mobilenet_v2', 'deeplabv3plus', 17.0],
      ['resnet50', 'deeplabv3plus', 62.7],
      ['resnet101', 'deeplabv3plus', 83.4],
    ];
    for (const [backbone, decoder, giga] of published) {
      const config = defaultConfig(backbone as 'resnet50', { head: 'vainf', decoder, outputStride: 16, asppRates: vainfAsppRates(16), numClasses: 21 });
      const macs = describeModel(config, 513, 513).totals.macs / 1e9;
      expect(Math.abs(macs - giga) / giga, `${backbone} ${decoder}: ${macs.toFixed(2)} GMACs`).to.be.below(0.03);
    }
  });

  it('the output stride and the data set from the file name main.py gives it', () => {
    expect(outputStrideFromName('checkpoints/best_deeplabv3plus_mobilenet_voc_os16.pth')).to.equal(16);
    expect(outputStrideFromName('latest_deeplabv3_resnet50_cityscapes_os8.pth')).to.equal(8);
    expect(outputStrideFromName('best_deeplabv3plus_resnet101_voc.pth')).to.equal(undefined);
    expect(outputStrideFromName('boss8.pth')).to.equal(undefined);
    expect(datasetFromName('best_deeplabv3plus_mobilenet_cityscapes_os16.pth')).to.equal('cityscapes');
    expect(datasetFromName('dir_voc/best_deeplabv3_resnet50_voc_os16.pth')).to.equal('voc');
    expect(datasetFromName('model.pth')).to.equal(undefined);
    expect(vainfAsppRates(8)).to.deep.equal([12, 24, 36]);
    expect(vainfAsppRates(16)).to.deep.equal([6, 12, 18]);
  });

  it("a .pth as save_ckpt writes it (zip and legacy) is told by its contents and loads at the name's output stride", () => {
    const { state } = stateOf('v3plus_mobilenet');
    for (const bytes of [torchSaveZip(vainfCheckpoint(state)), torchSaveLegacy(vainfCheckpoint(state))]) {
      expect(detectWeightFormat(bytes, 'unnamed')).to.equal('pth');
      const w = weightsFromBytes(bytes, 'pth', 'best_deeplabv3plus_mobilenet_mine_os8.pth');
      expect(w.config).to.include({ backbone: 'vainf_mobilenet_v2', head: 'vainf', decoder: 'deeplabv3plus', numClasses: 5, outputStride: 8, normalization: 'imagenet', resizeMode: 'half_pixel' });
      expect(w.config.asppRates).to.deep.equal([12, 24, 36]);
      expect(w.inputPolicy).to.deep.equal({ kind: 'own-size' });
      expect(w.classes.names).to.deep.equal(['class 0', 'class 1', 'class 2', 'class 3', 'class 4']);
      // No name says it: VainF's published stride, 16; an option picks another.
      expect(weightsFromBytes(bytes, 'pth', 'mine.pth').config.outputStride).to.equal(16);
      expect(weightsFromBytes(bytes, 'pth', 'mine_os16.pth', { outputStride: 8 }).config).to.deep.include({ outputStride: 8, asppRates: [12, 24, 36] });
    }
  });

  it("torch.save's own files of save_ckpt's layout (zip and legacy): model_state read beside SGD's and PolyLR's state and a numpy best_score", () => {
    for (const file of ['save_ckpt_small.pth', 'save_ckpt_small_legacy.pth']) {
      const bytes = readFileSync(fixture(file));
      expect(detectWeightFormat(bytes, file)).to.equal('pth');
      const { tensors, root } = readTorchCheckpoint(bytes, file);
      expect([...tensors.keys()], file).to.deep.equal(['backbone.low_level_features.0.0.weight', 'backbone.low_level_features.0.1.running_var', 'backbone.low_level_features.0.1.num_batches_tracked', 'classifier.classifier.3.bias']);
      for (const [k, t] of tensors) {
        if (k.endsWith('num_batches_tracked')) expect([...t.data], k).to.deep.equal([40000]);
        else expect([...t.data], k).to.deep.equal([...prngValues(k, t.shape, 1)]);
      }
      expect(root.get('cur_itrs'), file).to.equal(30000);
      expect(root.get('best_score'), `${file}: numpy float64`).to.equal(0.7112);
      const optimizer = root.get('optimizer_state') as Map<string, unknown>;
      expect(optimizer.get('state'), `${file}: momentum buffers`).to.be.instanceOf(Map);
      expect((root.get('scheduler_state') as Map<string, unknown>).get('max_iters')).to.equal(30000);
    }
  });

  it("our checkpoint keeps a VainF model: its head, decoder, separable head, rates, classes and the own-size input", () => {
    const { state } = stateOf('v3plus_resnet50_sep');
    const w = weightsFromBytes(torchSaveZip(vainfCheckpoint(state)), 'pth', 'best_deeplabv3plus_resnet50_mine_os8.pth');
    const back = checkpointModel('back', 'back.safetensors', checkpointContents(w), {});
    expect(back.config).to.deep.equal(w.config);
    expect(back.config).to.deep.include({ head: 'vainf', decoder: 'deeplabv3plus', asppSeparable: true, outputStride: 8 });
    expect(back.inputPolicy).to.deep.equal({ kind: 'own-size' });
    expect(back.classes).to.deep.equal(w.classes);
    expect([...back.params.keys()].sort()).to.deep.equal([...w.params.keys()].sort());
  });

  it('numpy scalars: the dtypes read, and the others refused by name', () => {
    const g = NUMPY_SCALAR_GLOBALS as Record<string, (...a: unknown[]) => unknown>;
    const encode = (b: number[]) => g['_codecs.encode'](String.fromCharCode(...b), 'latin1');
    const f8 = g['numpy.dtype']('f8', false, true);
    expect(g['numpy.core.multiarray.scalar'](f8, encode([...new Uint8Array(Float64Array.of(2.5).buffer)]))).to.equal(2.5);
    expect(g['numpy._core.multiarray.scalar'](g['numpy.dtype']('i8', false, true), encode([7, 0, 0, 0, 0, 0, 0, 0]))).to.equal(7);
    expectThrows(() => g['numpy.core.multiarray.scalar'](g['numpy.dtype']('U1', false, true), encode([65, 0, 0, 0])), 'numpy scalar of dtype U1 is not read (only f8, f4, i8, i4, b1)');
    expectThrows(() => g['numpy.core.multiarray.scalar'](f8, encode([1, 2, 3])), 'numpy f8 scalar of 3 bytes');
    expectThrows(() => g['_codecs.encode']('\u0100', 'latin1'), 'a code point above 255');
    expectThrows(() => g['_codecs.encode']('x', 'utf8'), '_codecs.encode of string as utf8');
  });

  it("Cityscapes' 19 train ids with VainF's decode colours: from the file name, the count, or the dataset option", () => {
    const { state } = stateOf('v3_resnet50');
    // The same network with 19 classes: only the last conv's shape changes.
    const c19: TensorMap = new Map([...state].map(([k, t]) => [k, k.startsWith('classifier.classifier.4.') ? { shape: k.endsWith('weight') ? [19, 256, 1, 1] : [19], data: prngValues(k, k.endsWith('weight') ? [19, 256, 1, 1] : [19], 1), sourceDType: 'f32' as const } : t]));
    const bytes = torchSaveZip(vainfCheckpoint(c19));
    const cityscapes = datasetClassSet('cityscapes');
    expect(cityscapes.names.slice(0, 3)).to.deep.equal(['road', 'sidewalk', 'building']);
    expect(cityscapes.colors[18]).to.deep.equal([119, 11, 32]);
    expect(weightsFromBytes(bytes, 'pth', 'best_deeplabv3_resnet50_cityscapes_os16.pth').classes).to.deep.equal(cityscapes);
    expect(weightsFromBytes(bytes, 'pth', 'mine.pth').classes).to.deep.equal(cityscapes);
    // The option names the data set over the name: VOC's 21 classes do not fit 19 outputs.
    expectThrows(() => weightsFromBytes(bytes, 'pth', 'best_deeplabv3_resnet50_cityscapes_os16.pth', { dataset: 'voc' }), /the classes of voc: 21 class names for a model with 19 classes/);
  });

  it('refuses, naming why: a head without its last conv, a backbone VainF has but we do not build, a ResNet of another depth, tensors missing', () => {
    const { state } = stateOf('v3plus_resnet50');
    const without = (drop: (k: string) => boolean): TensorMap => new Map([...state].filter(([k]) => !drop(k)));
    const load = (s: TensorMap, name = 'best_deeplabv3plus_resnet50_mine_os16.pth') => weightsFromBytes(torchSaveZip(vainfCheckpoint(s)), 'pth', name);
    expectThrows(() => load(without((k) => k.startsWith('classifier.classifier.3.'))), /VainF DeepLabHeadV3Plus without its classifier's last conv classifier\.classifier\.3\.weight/);
    const xception = new Map([...without((k) => k.startsWith('backbone.'))].concat([['backbone.conv1.weight', { shape: [32, 3, 3, 3], data: new Float32Array(864), sourceDType: 'f32' as const }]]));
    expectThrows(() => load(xception), /VainF DeepLabV3 checkpoint of a backbone we do not build \(a ResNet with 0 blocks in layer3\); VainF's MobileNetV2, ResNet-50 and ResNet-101 load/);
    expectThrows(() => load(without((k) => k.startsWith('backbone.layer3.5.'))), /a ResNet with 5 blocks in layer3/);
    expectThrows(() => load(without((k) => k === 'classifier.aspp.convs.2.1.running_var')), /VainF's deeplabv3plus_resnet50.*classifier\.aspp\.convs\.2\.1\.running_var/s);
    // The file's classes named by a data set whose count differs.
    expectThrows(() => load(state, 'best_deeplabv3plus_resnet50_voc_os16.pth'), /best_deeplabv3plus_resnet50_voc_os16\.pth: the classes of voc: 21 class names for a model with 5 classes/);
    const bytes = torchSaveZip(vainfCheckpoint(state));
    expectThrows(() => weightsFromBytes(bytes.subarray(0, bytes.length >> 1), 'pth', 'cut.pth'), /cut\.pth/);
    // Not torchvision's state dict, though ResNet-50's DeepLabv3 exports to it.
    const v3 = weightsFromBytes(torchSaveZip(vainfCheckpoint(stateOf('v3_resnet50').state)), 'pth', 'v3.pth');
    expectThrows(() => torchvisionStateDict(v3, v3.params), "v3.pth: VainF's DeepLabHead / DeepLabHeadV3Plus has no torchvision counterpart");
    // model_state that is not a dict: no state dict anywhere.
    expectThrows(() => weightsFromBytes(torchSaveZip(new Map<string, Saved>([['model_state', [1, 2]], ['cur_itrs', 1]])), 'pth', 'odd.pth'), "odd.pth: no tensors at the top level of the checkpoint (keys: model_state, cur_itrs)");
  });
});

describe("VainF's DeepLabV3Plus-Pytorch: the registry's published checkpoints", () => {
  it("lists the README's eight files with their published mIoU, each loaded from a local copy", () => {
    const entries = REGISTRY.filter((e) => e.name.startsWith('vainf-'));
    const scores = Object.fromEntries(entries.map((e) => [e.name, [e.published?.mIoU, e.backbone, e.outputStride, e.numClasses, e.classSet]]));
    expect(scores).to.deep.equal({
      'vainf-deeplabv3-mobilenet-voc': [70.1, 'vainf_mobilenet_v2', 16, 21, 'voc'],
      'vainf-deeplabv3-resnet50-voc': [76.9, 'resnet50', 16, 21, 'voc'],
      'vainf-deeplabv3-resnet101-voc': [77.3, 'resnet101', 16, 21, 'voc'],
      'vainf-deeplabv3plus-mobilenet-voc': [71.1, 'vainf_mobilenet_v2', 16, 21, 'voc'],
      'vainf-deeplabv3plus-resnet50-voc': [77.2, 'resnet50', 16, 21, 'voc'],
      'vainf-deeplabv3plus-resnet101-voc': [78.3, 'resnet101', 16, 21, 'voc'],
      'vainf-deeplabv3plus-mobilenet-cityscapes': [72.1, 'vainf_mobilenet_v2', 16, 19, 'cityscapes'],
      'vainf-deeplabv3plus-resnet101-cityscapes': [76.2, 'resnet101', 16, 19, 'cityscapes'],
    });
    for (const e of entries) {
      expect(e.format, e.name).to.equal('pth');
      expect(e.url, `${e.name}: share links only, no checksum`).to.equal(undefined);
      expect(e.fileName, e.name).to.match(/^best_deeplabv3(plus)?_(mobilenet|resnet50|resnet101)_(voc|cityscapes)_os16\.pth$/);
      expect(e.note, e.name).to.include(`put ${e.fileName} in $DEEPLAB_WEIGHTS_DIR`);
    }
  });

  it('loads a registry entry from DEEPLAB_WEIGHTS_DIR, and without a local copy says where to put it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vainf-registry-'));
    const restore = setFlags({ DEEPLAB_WEIGHTS_DIR: dir });
    try {
      const entry = findModel('vainf-deeplabv3plus-mobilenet-voc');
      await expectRejects(loadWeights(entry.name, { download: false }), `model ${entry.name}: no local copy of ${entry.fileName}`);
      // The PRNG model with VOC's 21 classes: only the last conv changes.
      const { state } = stateOf('v3plus_mobilenet');
      const c21: TensorMap = new Map([...state].map(([k, t]) => {
        if (!k.startsWith('classifier.classifier.3.')) return [k, t];
        const shape = k.endsWith('weight') ? [21, 256, 1, 1] : [21];
        return [k, { shape, data: prngValues(k, shape, 1), sourceDType: 'f32' as const }];
      }));
      writeFileSync(join(dir, entry.fileName), torchSaveZip(vainfCheckpoint(c21)));
      const w = await loadWeights(entry.name, { download: false });
      expect(w.config).to.deep.include({ backbone: 'vainf_mobilenet_v2', head: 'vainf', decoder: 'deeplabv3plus', numClasses: 21, outputStride: 16, asppRates: [6, 12, 18] });
      expect(w.classes.names[15]).to.equal('person');
    } finally {
      restore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("VainF's DeepLabV3Plus-Pytorch: logits and segment() against VainF's float64 references", function () {
  this.timeout(900_000);

  for (const c of CASES) {
    for (const outputStride of [8, 16]) {
      it(`${c.name} at OS ${outputStride}: logits within 1e-4 relative at ${SIZES.map(([h, w]) => `${h}x${w}`).join(' and ')}`, async () => {
        const { state } = stateOf(c.name);
        const net = vainfNetwork(state, c.name);
        const config = defaultConfig(net.backbone, { head: 'vainf', decoder: net.decoder, numClasses: 5, outputStride, asppRates: vainfAsppRates(outputStride), asppSeparable: net.separable });
        const params = vainfParams(state, c.name);
        const ctx = await testContext();
        // One upload of the weights for both sizes: the programs share a session.
        const compiled = SIZES.map(([h, w]) => compile(buildDeepLab(config, { height: h, width: w }), { mode: 'inference' }));
        const session = Session.create(ctx, compiled[0].source, params, 'vainf test');
        try {
          for (const [i, [h, w]] of SIZES.entries()) {
            const program = await Program.create(ctx, compiled[i], session, 'vainf test');
            try {
              const out = (await program.run({ image: normalized(imageOf(h, w)) })).get('logits') as Float32Array;
              const ref = readNpy(fixture(`${c.name}_os${outputStride}_${h}x${w}.npy`));
              expect(ref.shape).to.deep.equal([1, 5, h, w]);
              const err = relativeError(out, nchwToNhwc(ref.data, ref.shape));
              console.log(`      ${c.name} OS ${outputStride} ${h}x${w}: relative error ${err.toExponential(2)}`);
              expect(err, `${h}x${w}`).to.be.below(1e-4);
            } finally {
              program.dispose();
            }
          }
        } finally {
          session.dispose();
        }
      });
    }
  }

  it("segment() of a saved .pth loaded by path: predict.py's pipeline, >= 99.9 % of pixels VainF's argmax", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vainf-'));
    try {
      const path = join(dir, 'best_deeplabv3plus_mobilenet_mine_os16.pth');
      writeFileSync(path, torchSaveZip(vainfCheckpoint(stateOf('v3plus_mobilenet').state)));
      const model = await DeepLabModel.fromWeights(await loadWeights(path), { ctx: await testContext() });
      try {
        for (const [h, w] of SIZES) {
          const img = imageOf(h, w);
          expect(model.networkSize(img.width, img.height), 'the image at its own size').to.deep.equal([h, w]);
          const ref = readNpy(fixture(`v3plus_mobilenet_os16_${h}x${w}.npy`));
          const want = argmaxCpu(nchwToNhwc(ref.data, ref.shape), [h, w, 5]);
          const { classes } = await model.segment(img);
          let same = 0;
          for (let p = 0; p < want.length; p++) if (classes[p] === want[p]) same++;
          console.log(`      ${h}x${w}: ${same} of ${want.length} pixels VainF's class`);
          expect(same / want.length, `${h}x${w}`).to.be.at.least(0.999);
        }
      } finally {
        model.dispose();
      }
      await expectRejects(loadWeights(join(dir, 'missing_os16.pth')), /missing_os16\.pth/);
      // deeplab segment: the file's own classes, or --dataset's, which must fit its head.
      const png = join(dir, 'crop.png');
      writeFileSync(png, encodeRgbPng(imageOf(33, 45)));
      const ok = await runCli(['segment', png, '--model', path, '--out', join(dir, 'masks')]);
      expect(ok.code, messages(ok.stderr)).to.equal(0);
      const voc = await runCli(['segment', png, '--model', path, '--out', join(dir, 'masks-voc'), '--dataset', 'voc']);
      expect(voc.code).to.equal(1);
      expect(messages(voc.stderr)).to.include('the classes of voc: 21 class names for a model with 5 classes');
      const bad = await runCli(['segment', png, '--model', path, '--dataset', 'coco']);
      expect(bad.code).to.equal(2);
      expect(messages(bad.stderr)).to.include("--dataset: 'coco' is not one of voc, cityscapes, ade20k");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
