// mmsegmentation's DeepLabv3 against ../shared/fixtures/mmseg (its README says how they were made):
// the fixture PRNG rebuilds the weights of every manifest; our graphs declare exactly mmseg's
// keys and block dilations; the logits of r18-d8 and r50-d16-mg124 match the float64 references;
// mmseg's checkpoint files (1.x and 0.x meta, zip and legacy serialisation) load, and a full
// model written as mmseg would loads by path with the logits of the state dict built in memory.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/graph/compile.js';
import type { Graph } from '../../src/graph/ir.js';
import { type HostParams, checkParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { describeCommand } from '../../src/cli/commands/describe.js';
import { describeModel } from '../../src/model/analysis/describe.js';
import { datasetClassSet } from '../../src/model/datasets.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { detectWeightFormat } from '../../src/model/loading/weights-from-bytes.js';
import type { DeepLabConfig } from '../../src/model/networks/config.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { resnetGeometry } from '../../src/model/networks/resnet.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readTorchCheckpoint } from '../../src/model/weights/import/pth.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { type MmsegSettings, resolveSettings, settingsFromConfigText, settingsFromName } from '../../src/model/weights/mmseg-config.js';
import { mmsegClasses, mmsegConfig, mmsegConfigText, mmsegNetwork, mmsegParams } from '../../src/model/weights/mmseg.js';
import { expectClose, expectRejects, relativeError, rng, testContext, expectThrows } from '../helpers.js';
import { type Saved, savedTensor, torchSaveLegacy, torchSaveZip } from '../import/torch-save.js';
import { sharedPath } from '../shared.js';
import { nchwToNhwc } from './layout.js';
import { draws, fnv1a32, prngStateDict, prngValues, readManifest, stateDictSha256 } from './mmseg-prng.js';

const fixture = (file: string): string => sharedPath('fixtures', 'mmseg', file);

/** Every manifest of the fixtures: config name, classes, whether its aux head is there. */
const MANIFESTS = [
  'manifest_r18-d8_c19.json',
  'manifest_r18-d8_c19_noaux.json',
  'manifest_r18b-d8_c19.json',
  'manifest_r50-d8_c19.json',
  'manifest_r50b-d8_c19.json',
  'manifest_r50-d16-mg124_c150.json',
  'manifest_r101-d8_c19.json',
  'manifest_r101b-d8_c19.json',
  'manifest_r101-d16-mg124_c19.json',
];

/** The state dict a manifest describes, with its network, settings (from its config name) and our config. */
function manifestModel(file: string, overrides: Partial<DeepLabConfig> = {}) {
  const manifest = readManifest(file);
  const state = prngStateDict(manifest);
  const net = mmsegNetwork(state, file);
  const settings = resolveSettings(settingsFromName(`deeplabv3_${manifest.config}`));
  const config = mmsegConfig(net, settings, overrides, file);
  return { manifest, state, net, settings, config };
}

/** Runs a graph on the GPU (BN folded) and returns the named outputs (NHWC). */
async function runGraph(graph: Graph, params: HostParams, image: Float32Array): Promise<Map<string, Float32Array>> {
  const program = await Program.create(await testContext(), compile(graph, { mode: 'inference' }), params, 'mmseg test');
  try {
    const out = await program.run({ image });
    return new Map([...out].map(([k, v]) => [k, v as Float32Array]));
  } finally {
    program.dispose();
  }
}

describe('mmseg DeepLabv3: weights, structure and files', () => {
  it("the fixture PRNG gives the README's check values", () => {
    const table: [string, number[], number, number[], number[]][] = [
      ['backbone.stem.0.weight', [32, 3, 3, 3], 0xf3efab2d, [0x36de0627, 0x9269ffed, 0x50367979, 0x96801fe8], [0xbe430545, 0x3d446aa0, 0xbdfedd7b, 0x3d70014b]],
      ['backbone.layer1.0.bn1.running_var', [64], 0x9703715a, [0xc4a5e94a, 0x92c09525, 0xd148ae7b, 0x02649a45], [0x3fa252f4, 0x3f89604a, 0x3fa8a457, 0x3f02649a]],
      ['decode_head.conv_seg.bias', [19], 0xf3a40a03, [0x9aba2405, 0x6b70a0d0, 0xbfe5838a, 0xa3fd7305], [0x3cab0db3, 0xbc83959a, 0x3d4c780a, 0x3ce65613]],
    ];
    for (const [name, shape, fnv, z, bits] of table) {
      expect(fnv1a32(name), name).to.equal(fnv);
      expect(draws(name, 1, 4), name).to.deep.equal(z);
      const v = prngValues(name, shape, 1);
      expect([...new Uint32Array(v.buffer, 0, 4)], name).to.deep.equal(bits);
    }
  });

  it("r18-d8's tensors each hash to the manifest's sha256", () => {
    const manifest = readManifest('manifest_r18-d8_c19.json');
    const state = prngStateDict(manifest);
    for (const [name, t] of manifest.keys) {
      const one: TensorMap = new Map([[name, state.get(name)!]]);
      expect(stateDictSha256(one), name).to.equal(t.sha256);
    }
  });

  for (const file of MANIFESTS) {
    const title = `${file}: the PRNG state dict hashes to sha256_all; our graph declares exactly its tensors and mmseg's block dilations`;
    it(title, () => {
      const { manifest, state, net, config } = manifestModel(file, { aux: !file.includes('noaux') });
      expect(stateDictSha256(state), 'sha256_all').to.equal(manifest.sha256All);
      expect(net.hasAux, 'aux head').to.equal(!file.includes('noaux'));
      expect(net.stem, 'stem').to.equal(manifest.backbone.type === 'ResNetV1c' ? 'v1c' : 'v1b');
      expect(net.numClasses).to.equal(manifest.numClasses);
      // Every tensor but the BN step counters is a parameter of the graph, with its shape.
      const graph = buildDeepLab(config, { height: 33, width: 33 });
      checkParams(graph, mmsegParams(state, config), file);
      const declared = graph.state.map((v) => v.name).sort();
      const stored = manifest.keys.map(([k]) => k).filter((k) => !k.endsWith('num_batches_tracked')).sort();
      expect(declared).to.deep.equal(stored);
      const depth = Number(config.backbone.slice('resnet'.length)) as 18 | 50 | 101;
      const geometry = resnetGeometry({ depth, outputStride: config.outputStride, dilationConvention: config.dilationConvention, multiGrid: config.multiGrid });
      if (manifest.backbone.block_dilations) expect(geometry.map((s) => s.map((b) => b.dilation)), 'block dilations').to.deep.equal(manifest.backbone.block_dilations);
      expect(config.asppRates, 'ASPP rates').to.deep.equal((manifest.decodeHead.dilations ?? [1, 12, 24, 36]).slice(1));
    });
  }

  it('mmseg D8 and D16-MG124 dilations: contract_dilation on the first block, multi-grid taken as the dilations themselves', () => {
    const dil = (g: ReturnType<typeof resnetGeometry>) => g.map((s) => s.map((b) => b.dilation));
    expect(dil(resnetGeometry({ depth: 50, outputStride: 8, dilationConvention: 'mmseg', multiGrid: [1, 1, 1] }))).to.deep.equal([[1, 1, 1], [1, 1, 1, 1], [1, 2, 2, 2, 2, 2], [2, 4, 4]]);
    expect(dil(resnetGeometry({ depth: 101, outputStride: 16, dilationConvention: 'mmseg', multiGrid: [1, 2, 4] }))[3]).to.deep.equal([1, 2, 4]);
    // The paper's multi-grid multiplies by the block's rate instead.
    expect(dil(resnetGeometry({ depth: 101, outputStride: 16, dilationConvention: 'paper', multiGrid: [1, 2, 4] }))[3]).to.deep.equal([2, 4, 8]);
    expect(dil(resnetGeometry({ depth: 18, outputStride: 8, dilationConvention: 'mmseg', multiGrid: [1, 1, 1] }))).to.deep.equal([[1, 1], [1, 1], [1, 2], [2, 4]]);
    expectThrows(() => defaultConfig('resnet18', { multiGrid: [1, 2, 4] }), /multiGrid must be \[1,1,1\] on resnet18/);
    expectThrows(() => defaultConfig('mobilenet_v2', { head: 'mmseg' }), /'mmseg' heads are built on resnet18, resnet50, resnet101, mmseg_mobilenet_v2, not mobilenet_v2 \(which takes torchvision\)/);
  });

  it('describe: the parameters of every manifest, by block; deeplab describe --head mmseg builds mmseg\'s network', async () => {
    for (const file of ['manifest_r18-d8_c19.json', 'manifest_r50-d16-mg124_c150.json']) {
      const { manifest, config } = manifestModel(file, { aux: true });
      const d = describeModel(config, 97, 129);
      const stored = manifest.keys.filter(([k]) => !k.endsWith('num_batches_tracked')).reduce((n, [, t]) => n + t.shape.reduce((a, b) => a * b, 1), 0);
      expect(d.totals.params, file).to.equal(stored);
      expect(d.blocks.map((b) => b.name), file).to.include.members(['stem', 'block1', 'block4', 'aspp', 'head', 'aux']);
      const stem = d.layers.filter((l) => l.group === 'stem' && l.op === 'conv2d');
      expect(stem.map((l) => [l.kernel, l.stride, l.output[2]]), `${file}: the deep stem`).to.deep.equal([[[3, 3], 2, 32], [[3, 3], 1, 32], [[3, 3], 1, 64]]);
    }
    let text = '';
    const code = await describeCommand(['--backbone', 'resnet101', '--head', 'mmseg', '--output-stride', '16', '--multi-grid', '1,2,4', '--aspp-rates', '6,12,18', '--classes', '19', '--input', '129x97'], (t) => (text += t));
    expect(code).to.equal(0);
    expect(text).to.match(/^resnet101, 4 blocks, output stride 16, multi-grid \(1,2,4\), ASPP rates \(6,12,18\) \+ image pooling, 19 classes, mmseg rates/);
    expect(text).to.match(/^block4 .* 1,2,4 /m);
  });

  describe('settings beyond the state dict', () => {
    it('from the config text saved in a checkpoint: D8, ASPP 12/24/36, whole', () => {
      const text = mmsegConfigText(readTorchCheckpoint(fixture('r18-d8_c19_seed1_small_0x.pth')).root.get('meta'));
      expect(text, 'meta.config').to.be.a('string');
      const s = settingsFromConfigText(text!);
      expect(s).to.deep.include({ outputStride: 8, multiGrid: null, asppRates: [12, 24, 36], alignCorners: false, slide: null });
      expect(s.backbone).to.deep.equal({ type: 'ResNetV1c', depth: 18 });
    });

    it("from a 0.x config's text: D16 multi-grid, slide 769/513, align corners, the test scale", () => {
      const text = [
        "norm_cfg = dict(type='SyncBN', requires_grad=True)",
        'model = dict(',
        "    type='EncoderDecoder',",
        "    pretrained='open-mmlab://resnet101_v1c',",
        '    backbone=dict(',
        "        type='ResNetV1c', depth=101, num_stages=4, out_indices=(0, 1, 2, 3),",
        '        dilations=(1, 1, 1, 2), strides=(1, 2, 2, 1), multi_grid=(1, 2, 4),',
        "        norm_cfg=dict(type='SyncBN', requires_grad=True), norm_eval=False, style='pytorch', contract_dilation=True),",
        '    decode_head=dict(',
        "        type='ASPPHead', in_channels=2048, in_index=3, channels=512, dilations=(1, 6, 12, 18),",
        '        dropout_ratio=0.1, num_classes=19, align_corners=True,',
        "        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))",
        'train_cfg = dict()',
        "test_cfg = dict(mode='slide', crop_size=(769, 769), stride=(513, 513))",
        "train_pipeline = [dict(type='Resize', img_scale=(2049, 1025), ratio_range=(0.5, 2.0))]",
        'test_pipeline = [',
        "    dict(type='LoadImageFromFile'),",
        "    dict(type='MultiScaleFlipAug', img_scale=(2049, 1025), flip=False,",
        "        transforms=[dict(type='Resize', keep_ratio=True), dict(type='Normalize', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)])",
        ']',
      ].join('\n');
      expect(settingsFromConfigText(text)).to.deep.include({ outputStride: 16, multiGrid: [1, 2, 4], asppRates: [6, 12, 18], alignCorners: true, slide: { crop: 769, stride: 513 }, testScale: [2049, 1025] });
      // 1.x writes the test Resize with `scale=`.
      expect(settingsFromConfigText("test_pipeline = [dict(type='LoadImageFromFile'), dict(keep_ratio=True, scale=(2048, 512), type='Resize')]").testScale).to.deep.equal([2048, 512]);
      expectThrows(() => settingsFromConfigText('backbone=dict(dilations=(1, 1, 2, 2), strides=(1, 2, 1, 1))'), /dilations \(1, 1, 2, 2\) .* are not mmseg's D8/);
    });

    it("from a zoo file's name, and the order of the sources", () => {
      const city769 = settingsFromName('deeplabv3_r101-d8_769x769_80k_cityscapes_20200607_013353-60e95418.pth');
      expect(city769).to.deep.include({ outputStride: 8, testScale: [2049, 1025], slide: { crop: 769, stride: 513 }, alignCorners: true });
      expect(settingsFromName('deeplabv3_r101-d16-mg124_512x1024_40k_cityscapes')).to.deep.include({ outputStride: 16, multiGrid: [1, 2, 4], asppRates: [6, 12, 18], testScale: [2048, 1024], slide: null });
      expect(settingsFromName('deeplabv3_r50-d8_512x512_80k_ade20k')).to.deep.include({ testScale: [2048, 512], slide: null });
      expect(settingsFromName('deeplabv3_r101-d8_480x480_40k_pascal_context')).to.deep.include({ testScale: [520, 520], slide: { crop: 480, stride: 320 } });
      const resolved: MmsegSettings = resolveSettings({ alignCorners: false }, city769);
      expect(resolved).to.deep.include({ alignCorners: false, slide: { crop: 769, stride: 513 } });
    });
  });

  describe("mmseg's checkpoint files", () => {
    const SMALL = ['r18-d8_c19_seed1_small_1x.pth', 'r18-d8_c19_seed1_small_0x.pth', 'r18-d8_c19_seed1_small_0x_legacy.pth'];
    const reference = prngStateDict(readManifest('manifest_r18-d8_c19.json'));

    for (const file of SMALL) {
      it(`${file}: its 10 tensors are the PRNG's, its classes and palette Cityscapes'`, () => {
        const c = readTorchCheckpoint(fixture(file));
        expect(c.tensors.size).to.equal(10);
        for (const [name, t] of c.tensors) {
          const want = reference.get(name)!;
          expect(t.shape, name).to.deep.equal(want.shape);
          expect([...t.data], name).to.deep.equal([...want.data]);
        }
        expect(c.tensors.get('backbone.stem.1.num_batches_tracked')!.sourceDType).to.equal('i64');
        const classes = mmsegClasses(c.root.get('meta'), 19, datasetClassSet('voc'), file);
        expect(classes).to.deep.equal(datasetClassSet('cityscapes'));
      });
    }

    it('cut or scrambled copies of the three files fail with an error naming the file, never a crash', () => {
      const r = rng();
      for (const file of SMALL) {
        const bytes = readFileSync(fixture(file));
        let refused = 0;
        for (let trial = 0; trial < 40; trial++) {
          const damaged = trial % 2 === 0 ? bytes.subarray(0, Math.floor(r() * bytes.length)) : Uint8Array.from(bytes);
          if (trial % 2 === 1) for (let k = 0; k < 3; k++) damaged[Math.floor(r() * damaged.length)] = Math.floor(r() * 256);
          try {
            readTorchCheckpoint(damaged, file);
          } catch (e) {
            expect((e as Error).message, `${file}, trial ${trial}`).to.match(new RegExp(`^${file.replace(/\./g, '\\.')}: `));
            expect(e, `${file}, trial ${trial}: ${(e as Error).message}`).to.not.be.instanceOf(TypeError);
            refused++;
          }
        }
        // Every cut copy at least (a flipped byte inside a tensor's values reads as another value).
        expect(refused, `${file}: damaged copies refused`).to.be.at.least(20);
      }
    });

    it('a legacy file cut short, or with a storage count that disagrees, is refused naming the storage', async () => {
      const legacy = torchSaveLegacy(new Map<string, Saved>([['state_dict', new Map<string, Saved>([['w', savedTensor([2, 3], new Float32Array(6))]])]]));
      expect(readTorchCheckpoint(legacy).tensors.get('w')!.shape).to.deep.equal([2, 3]);
      await expectRejects(() => readTorchCheckpoint(legacy.subarray(0, legacy.length - 5), 'cut.pth'), /^cut\.pth: storage 0 is truncated: torch\.FloatStorage of 6 elements needs 24 bytes/);
      await expectRejects(() => readTorchCheckpoint(legacy.subarray(0, 40), 'cut.pth'), /^cut\.pth: system info \(at byte 21\): truncated pickle/);
      const wrongCount = legacy.slice();
      new DataView(wrongCount.buffer).setBigInt64(legacy.length - 24 - 8, 7n, true);
      await expectRejects(() => readTorchCheckpoint(wrongCount, 'bad.pth'), /^bad\.pth: storage 0 holds 7 elements in the file, but its record says torch\.FloatStorage of 6/);
    });

    describe('a full r18-d8 written as mmseg writes it', () => {
      let dir: string;
      const { manifest, state } = manifestModel('manifest_r18-d8_c19.json');
      const city = datasetClassSet('cityscapes');
      const file = (meta: Map<string, Saved>): Saved => {
        const dict = new Map<string, Saved>();
        for (const [name, t] of state) {
          dict.set(name, name.endsWith('num_batches_tracked') ? savedTensor([], BigInt64Array.of(40000n)) : savedTensor(t.shape, t.data));
        }
        return new Map<string, Saved>([['meta', meta], ['state_dict', dict]]);
      };
      const meta0x = new Map<string, Saved>([
        ['mmseg_version', '0.5.0+b72a6d0'],
        ['CLASSES', { tuple: [...city.names] }],
        ['PALETTE', city.colors.map((c) => [...c])],
      ]);
      const meta1x = new Map<string, Saved>([['dataset_meta', new Map<string, Saved>([['classes', { tuple: [...city.names] }], ['palette', city.colors.map((c) => [...c])], ['reduce_zero_label', false]])]]);

      before(() => {
        dir = mkdtempSync(join(tmpdir(), 'mmseg-'));
        writeFileSync(join(dir, 'deeplabv3_r18-d8_512x1024_80k_cityscapes.pth'), torchSaveZip(file(meta1x)));
        writeFileSync(join(dir, 'deeplabv3_r18-d8_769x769_80k_cityscapes.pth'), torchSaveLegacy(file(meta0x)));
      });
      after(() => rmSync(dir, { recursive: true, force: true }));

      it("a legacy file's bytes alone are recognised as a .pth", () => {
        expect(detectWeightFormat(readFileSync(join(dir, 'deeplabv3_r18-d8_769x769_80k_cityscapes.pth')), 'weights')).to.equal('pth');
      });

      it('loads by path, zip (1.x meta) and legacy (0.x meta): the params, classes and test pipeline', async () => {
        const expected = mmsegParams(state, manifestModel('manifest_r18-d8_c19.json').config);
        for (const [name, slide] of [['deeplabv3_r18-d8_512x1024_80k_cityscapes.pth', undefined], ['deeplabv3_r18-d8_769x769_80k_cityscapes.pth', { crop: 769, stride: 513 }]] as const) {
          const w = await loadWeights(join(dir, name));
          expect(w.config).to.deep.include({ backbone: 'resnet18', stem: 'v1c', head: 'mmseg', outputStride: 8, asppChannels: 128, numClasses: 19 });
          expect(w.config.resizeMode, name).to.equal(slide ? 'align_corners' : 'half_pixel');
          expect(w.slide, name).to.deep.equal(slide);
          expect(w.inputPolicy, name).to.deep.equal(slide ? { kind: 'keep-ratio', long: 2049, short: 1025 } : { kind: 'keep-ratio', long: 2048, short: 1024 });
          expect(w.classes, name).to.deep.equal(city);
          expect([...w.params.keys()].sort(), name).to.deep.equal([...expected.keys()].sort());
          for (const [k, t] of expected) expect(relativeError(w.params.get(k)!.data, t.data), `${name}: ${k}`).to.equal(0);
        }
        expect(manifest.keys.length).to.equal(178);
      });

      it('the loaded model gives the logits of the state dict built in memory', async () => {
        const w = await loadWeights(join(dir, 'deeplabv3_r18-d8_512x1024_80k_cityscapes.pth'));
        const image = new Float32Array(33 * 41 * 3).map((_, i) => Math.sin(i * 0.37));
        const { config } = manifestModel('manifest_r18-d8_c19.json');
        const mine = await runGraph(w.buildGraph({ height: 33, width: 41 }), w.params, image);
        const memory = await runGraph(buildDeepLab(config, { height: 33, width: 41 }), mmsegParams(state, config), image);
        expect(relativeError(mine.get('logits')!, memory.get('logits')!)).to.equal(0);
      });
    });
  });
});

describe('mmseg DeepLabv3: logits against the float64 references', function () {
  this.timeout(900_000);

  /** Our outputs for a manifest's PRNG weights on a fixture input, with the aux head and the raw logits. */
  async function outputs(file: string, input: string): Promise<{ out: Map<string, Float32Array>; config: DeepLabConfig }> {
    const { state, config } = manifestModel(file, { aux: true });
    const t = readNpy(fixture(input));
    const [, , h, w] = t.shape;
    const graph = buildDeepLab(config, { height: h, width: w }, { extraOutputs: true });
    return { out: await runGraph(graph, mmsegParams(state, config), nchwToNhwc(t.data, t.shape)), config };
  }

  function expectFixture(ours: Float32Array, file: string): void {
    const ref = readNpy(fixture(file));
    const nhwc = nchwToNhwc(ref.data, ref.shape);
    expect(ours.length, file).to.equal(nhwc.length);
    console.log(`      ${file}: relative error ${relativeError(ours, nhwc).toExponential(2)}`);
    expectClose(ours, nhwc, file);
  }

  it('r50-d16-mg124, 150 classes, 49x65: logits, head logits and aux head', async () => {
    const { out } = await outputs('manifest_r50-d16-mg124_c150.json', 'input_49x65.npy');
    expectFixture(out.get('logits')!, 'r50-d16-mg124_c150_seed1_49x65_out.npy');
    expectFixture(out.get('logits_raw')!, 'r50-d16-mg124_c150_seed1_49x65_out_raw.npy');
    expectFixture(out.get('aux_raw')!, 'r50-d16-mg124_c150_seed1_49x65_aux_raw.npy');
  });

  it('r18-d8, 19 classes, 97x129: logits, head logits and aux head', async () => {
    const { out } = await outputs('manifest_r18-d8_c19.json', 'input_97x129.npy');
    expectFixture(out.get('logits')!, 'r18-d8_c19_seed1_97x129_out.npy');
    expectFixture(out.get('logits_raw')!, 'r18-d8_c19_seed1_97x129_out_raw.npy');
    expectFixture(out.get('aux_raw')!, 'r18-d8_c19_seed1_97x129_aux_raw.npy');
  });
});
